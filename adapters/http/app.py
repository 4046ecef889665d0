"""The ASGI application: ``create_app(container)`` for a host service to mount, ``app_from_env()`` for
``arccm serve`` (``uvicorn --factory arccm.adapters.http.app:app_from_env``).

Every route is thin: parse, call one use case or read model with the ``Actor`` the bearer token's subject is in the
database, map the ``Result`` — a value as JSON, a failure as an RFC 9457 problem (problems.py)."""

from __future__ import annotations

import atexit
import gc
import logging
import queue
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from arccm.adapters.http import directory, events, operations, verification
from arccm.adapters.http.common import Day, RecentActors, Refused, acting, resolved
from arccm.adapters.http.observability import access, observe
from arccm.adapters.http.problems import API_PROBLEMS, documented, problem
from arccm.adapters.jsonable import plain
from arccm.adapters.postgres.database import DatabaseUnavailable, ShuttingDown
from arccm.application.ports.unit_of_work import ActorNotPermitted
from arccm.application.validation import InvalidArgument
from arccm.domain.access import Actor

if TYPE_CHECKING:
    from arccm.adapters.container import Container

log = logging.getLogger("arccm.http")
GC_YOUNGEST = 50_000  # arccm serve's threshold for the collector's youngest generation (app_from_env)


def create_app(
    container: Container, jwt_secret: str | None = None, own_container: bool = False, heartbeat_seconds: float = 15.0
) -> FastAPI:
    """The API on ``container``.  ``own_container``: the app initializes it on startup and shuts it down on exit
    (``arccm serve``); a host service that passes its own container keeps that to itself."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if own_container:
            container.lifecycle().init()
            gc.collect()
            gc.freeze()  # what starting up made (modules, the container, the pool) is never collected again
        try:
            yield
        finally:
            app.state.closing.set()
            if own_container:
                container.subscriptions().stop()  # the event streams' pump, if one started
                container.lifecycle().shutdown()

    app = FastAPI(title="arccm", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.container = container
    app.state.jwt_secret = jwt_secret
    app.state.limits = verification.Limits()
    app.state.actors = RecentActors()
    app.state.heartbeat_seconds = heartbeat_seconds
    app.state.closing = threading.Event()
    app.state.event_streams = events.Watcher()
    _handlers(app)
    observe(app)
    app.include_router(verification.router)
    app.include_router(directory.router)
    app.include_router(operations.router)
    app.include_router(events.router)

    @app.get("/healthz", tags=["operations"], summary="The process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The database answers and is migrated to this release's head",
             responses=documented(503))  # fmt: skip
    def readyz(request: Request) -> Response:
        health = request.app.state.container.lifecycle().health()
        if health.get("status") == "error":
            return problem(503, "not_ready", "Not ready", "The database does not answer.")
        migration = health.get("migration", {})
        if not migration.get("up_to_date", True):
            return problem(503, "not_ready", "Not ready", "The database is not at this release's schema.")
        return JSONResponse({"status": "ready"})

    @app.get("/v1/me", tags=["people"], summary="Who the token's user is, as the database has them now",
             responses=API_PROBLEMS)  # fmt: skip
    def me(request: Request, actor: Actor = Depends(acting)) -> Any:
        return plain(resolved(request, actor.user_id))  # as the database has them this instant

    @app.get("/v1/dashboard", tags=["dashboard"], summary="The caller's dashboard, counted in the database",
             responses=API_PROBLEMS)  # fmt: skip
    def dashboard(actor: Actor = Depends(acting), day: Day | None = Query(None, alias="date")) -> Any:
        today = day or datetime.now(UTC).date()
        return plain(container.read_models().dashboard(actor, today))

    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(_: Request, error: Refused) -> Response:
        return error.response

    @app.exception_handler(ActorNotPermitted)
    async def not_permitted(request: Request, error: ActorNotPermitted) -> Response:
        if (user_id := getattr(request.state, "user_id", None)) is not None:
            request.app.state.actors.forget(user_id)  # resolved afresh next time: changed, not gone, perhaps
        return problem(403, "forbidden", "Forbidden", "The user may not act now (inactive, or changed).")

    @app.exception_handler(InvalidArgument)
    async def invalid_argument(_: Request, error: InvalidArgument) -> Response:
        """A read model's argument check (application/validation.py): a day outside 1900–9000, say."""
        refused = error.error
        return problem(422, refused.code, "Invalid value", refused.message, field=refused.field, rule=refused.rule)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        if first.get("type") == "json_invalid":
            return _malformed()
        where = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body", "header")]
        field = ".".join(where) or "request"
        rule = str(first.get("msg", "is not valid"))[:200]
        return problem(422, "invalid_value", "Invalid value", f"{field}: {rule}", field=field, rule=rule)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 400 and error.detail == "There was an error parsing the body":
            return _malformed()
        code = {404: "no_such_route", 405: "method_not_allowed", 413: "body_too_large"}.get(
            error.status_code, "http_error"
        )
        detail = error.detail if isinstance(error.detail, str) else None
        headers = dict(error.headers) if error.headers else None  # a 405's Allow, for one
        if error.status_code == 405:  # every method of the path, not only those of the first route matched
            headers = {"Allow": ", ".join(_allowed(request))}
        return problem(error.status_code, code, code.replace("_", " ").capitalize(), detail, headers)

    @app.exception_handler(DatabaseUnavailable)
    @app.exception_handler(ShuttingDown)
    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(sqlalchemy.exc.InterfaceError)
    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def unavailable(request: Request, error: Exception) -> Response:
        """The database is down, unreachable, or every connection is busy past the pool's wait: 503 at once, with
        a hint to retry — never a 500, and never a request left hanging (docs/http.md, "Faults")."""
        log.warning("database unavailable (request %s): %s", getattr(request.state, "request_id", None),
                    type(error).__name__)  # fmt: skip
        return problem(503, "unavailable", "Unavailable", "The database cannot be reached now; retry shortly.",
                       retry_after=2)  # fmt: skip

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> Response:
        request_id = getattr(request.state, "request_id", None)
        log.exception("internal error (request %s)", request_id)
        return problem(500, "internal_error", "Internal error", "Something failed on the server; it is logged.",
                       request_id=request_id)  # fmt: skip


def _allowed(request: Request) -> list[str]:
    path = request.url.path
    routes = [r for r in request.app.routes if isinstance(r, APIRoute) and r.path_regex.match(path)]
    methods = {m for r in routes for m in r.methods or ()}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _malformed() -> Response:
    rule = "JSON in UTF-8"
    return problem(400, "malformed_body", "Malformed body", "body: is not JSON in UTF-8", field="body", rule=rule)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("arccm")
    except PackageNotFoundError:
        return "0"


class LinesBehind(logging.Handler):
    """Access lines written to stderr by a thread of its own: a slow or full stderr (a pipe, journald) must not
    stall the event loop.  The request only queues its line; the thread turns it into JSON and writes it (the
    standard QueueHandler formatted and copied every record on the loop: a tenth of a verification's cost)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: queue.SimpleQueue[object] = queue.SimpleQueue()
        threading.Thread(target=self._write, name="arccm-access-log", daemon=True).start()
        atexit.register(self._stop)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.put(record.msg)

    def _stop(self) -> None:
        self.lines.put(None)

    def _write(self) -> None:
        while (line := self.lines.get()) is not None:
            try:
                sys.stderr.write(f"{line}\n")
                sys.stderr.flush()
            except (OSError, ValueError):  # stderr closed: the lines have nowhere to go
                pass


def app_from_env() -> FastAPI:
    """The app on the configured (or embedded) database, as ``arccm serve`` runs it in each worker."""
    from arccm.adapters.config import Settings
    from arccm.adapters.runtime import configured

    settings = Settings.from_env()
    if not access.handlers:  # one JSON line per request on stderr, beside uvicorn's own warnings
        access.addHandler(LinesBehind())
        access.setLevel(logging.INFO)
        access.propagate = False
    # The collector's youngest generation is collected every 700 net allocations by default; with a thousand
    # event streams open, the older generations it then walks made the stream's p99 87 ms against 22 ms with this
    # (sse_fanout, scale m; docs/http.md).  A server's own process, so a server's setting: a host that mounts
    # create_app keeps its own.
    gc.set_threshold(GC_YOUNGEST, 20, 10)
    return create_app(configured(settings), settings.jwt_secret, own_container=True)
