"""What an operator watches: ``/metrics`` in Prometheus's text format (requests by route, method and status; their
latency; the connection pool; the event streams open), and one JSON access-log line per request with its id."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access = logging.getLogger("arccm.http.access")


def observe(app: FastAPI) -> None:
    """Metrics (a registry of the app's own, so two apps in one process count apart), the request id and the
    access log, on every request."""
    registry = CollectorRegistry()
    requests = Counter("arccm_http_requests", "HTTP requests answered", ["route", "method", "status"],
                       registry=registry)  # fmt: skip
    latency = Histogram("arccm_http_request_seconds", "Time to answer (to the first byte of a stream)",
                        ["route", "method"], registry=registry)  # fmt: skip
    pool = Gauge("arccm_db_pool_connections", "Database connections of the runtime pool", ["state"], registry=registry)
    app.state.streams = Gauge("arccm_http_event_streams", "Event streams open", registry=registry)
    feed = Gauge("arccm_feed_subscriptions", "Live change-feed subscriptions of this process, by how they are served"
                 " (shared: by the pump's one read per wake-up; own_scope: catching up by reads of their own)",
                 ["served"], registry=registry)  # fmt: skip

    app.add_middleware(_Measured, requests=requests, latency=latency)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=True,
             response_class=Response, responses={200: {"content": {"text/plain": {}}}})  # fmt: skip
    def metrics(request: Request) -> Response:
        try:
            stats: dict[str, Any] = request.app.state.container.database().pool_stats()
            for state in ("size", "in_use", "idle", "overflow", "waiting"):
                pool.labels(state).set(stats.get(state, 0))
        except Exception:  # the memory store has no pool; a database that is down has no figures
            pass
        for served, count in request.app.state.container.subscriptions().counts().items():
            feed.labels(served).set(count)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Line(dict[str, Any]):
    """An access line: JSON when it is written (by the writer's thread, not on the event loop)."""

    def __str__(self) -> str:
        return json.dumps(self)


class _Measured:
    """The request id, the metrics and the access line of every HTTP request, as plain ASGI middleware: Starlette's
    ``BaseHTTPMiddleware`` runs each request in a task of its own behind memory streams, which cost the enroll
    benchmark a tenth of its rate (docs/http.md, "What HTTP costs").  Counted when the response starts — for an
    event stream, its first byte — or, when the app fails before that, as a 500."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        answered = False

        def done(status: int) -> None:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")  # the template: ids never become labels
            method = scope["method"]
            self.requests.labels(route, method, str(status)).inc()
            self.latency.labels(route, method).observe(seconds)
            client = scope.get("client")
            access.info(_Line(request_id=request_id, method=method, route=route, status=status,
                              ms=round(seconds * 1000, 2), client=client[0] if client else None))  # fmt: skip

        async def sending(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                done(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            if not answered:
                done(500)
            raise
