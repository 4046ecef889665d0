"""What an operator watches: ``/metrics`` in Prometheus's text format (requests by route, method and status; their
latency; the connection pool; the event streams open), and one JSON access-log line per request with its id."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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

    @app.middleware("http")
    async def measured(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        response = await call_next(request)
        seconds = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")  # the template: ids never become labels
        requests.labels(route, request.method, str(response.status_code)).inc()
        latency.labels(route, request.method).observe(seconds)
        response.headers["X-Request-Id"] = request.state.request_id
        access.info(json.dumps({"request_id": request.state.request_id, "method": request.method, "route": route,
                                "status": response.status_code, "ms": round(seconds * 1000, 2),
                                "client": request.client.host if request.client else None}))  # fmt: skip
        return response

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=True,
             response_class=Response, responses={200: {"content": {"text/plain": {}}}})  # fmt: skip
    def metrics(request: Request) -> Response:
        try:
            stats: dict[str, Any] = request.app.state.container.database().pool_stats()
            for state in ("size", "in_use", "idle", "overflow", "waiting"):
                pool.labels(state).set(stats.get(state, 0))
        except Exception:  # the memory store has no pool; a database that is down has no figures
            pass
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
