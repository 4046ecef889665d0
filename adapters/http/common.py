"""What every route shares: the caller from the bearer token, a ``Result`` as a response or a problem."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BeforeValidator
from returns.result import Success
from starlette.concurrency import run_in_threadpool

from arccm.adapters.http.auth import Unauthenticated, subject
from arccm.adapters.http.problems import from_domain, problem
from arccm.adapters.jsonable import plain
from arccm.domain.access import Actor

MAX_PAGE = 500  # the directory's own limit (application/use_cases/directory.py)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})")


def _iso_day(value: object) -> object:
    """A day as ISO 8601 text only: pydantic alone also takes ``0`` (the Unix epoch) or a timestamp for a date."""
    if isinstance(value, date) or (isinstance(value, str) and _DAY.fullmatch(value)):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


def _iso_moment(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _MOMENT.fullmatch(value)):
        return value
    raise ValueError("must be a date and time with its UTC offset, as 2027-01-04T09:00:00-05:00")


Day = Annotated[date, BeforeValidator(_iso_day)]
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]


class Refused(Exception):
    """A request refused before any use case ran: its problem response."""

    def __init__(self, response: Response) -> None:
        self.response = response


class RecentActors:
    """Actors resolved in the last ``seconds``, by user id: a request saves the database round trip of resolving
    its caller again.  Safe because every transaction an actor runs asks the database first whether the actor is
    still who they were and may act (``Database.transaction``, the memory store the same): a caller deactivated
    or changed within the window is refused by that check (403) and forgotten here (app.py)."""

    def __init__(self, seconds: float = 2.0, most: int = 10_000) -> None:
        self.seconds, self.most = seconds, most
        self._actors: dict[uuid.UUID, tuple[float, Actor]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: uuid.UUID) -> Actor | None:
        with self._lock:
            held = self._actors.get(user_id)
        return held[1] if held and held[0] > time.monotonic() else None

    def put(self, actor: Actor) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._actors) >= self.most:
                self._actors = {k: v for k, v in self._actors.items() if v[0] > now}
                if len(self._actors) >= self.most:
                    self._actors.clear()
            self._actors[actor.user_id] = (now + self.seconds, actor)

    def forget(self, user_id: uuid.UUID) -> None:
        with self._lock:
            self._actors.pop(user_id, None)


async def acting(request: Request) -> Actor:
    """The caller: the bearer token's subject, as the database has them now (active, with their role, provider
    and locations) — never what the token claims.  On the event loop when the caller was resolved moments ago (no
    thread to hop to), on a worker thread when the database has to be asked."""
    try:
        user_id = subject(request.headers.get("authorization"), request.app.state.jwt_secret)
    except Unauthenticated as why:
        raise Refused(problem(401, "unauthenticated", "Unauthenticated", str(why))) from None
    request.state.user_id = user_id
    recent: RecentActors = request.app.state.actors
    actor = recent.get(user_id)
    if actor is None:
        actor = await run_in_threadpool(resolved, request, user_id)
    return actor


def resolved(request: Request, user_id: uuid.UUID) -> Actor:
    """``user_id`` as the database has them now; refused if unknown or not active."""
    resolved = request.app.state.container.resolve_actor()(user_id)
    if not isinstance(resolved, Success):
        error = resolved.failure()
        if error.code == "not_found":
            raise Refused(problem(401, "unauthenticated", "Unauthenticated", "The token's user is not known here."))
        raise Refused(problem(403, "forbidden", "Forbidden", error.message))
    actor: Actor = resolved.unwrap()
    request.app.state.actors.put(actor)
    return actor


def answer(result: Any) -> Any:
    """A use case's success as JSON-ready data; its failure raised as the problem that says it."""
    return plain(answer_value(result))


def answer_value(result: Any) -> Any:
    """A use case's success as it is (a document, bytes); its failure raised as the problem that says it."""
    if isinstance(result, Success):
        return result.unwrap()
    raise Refused(from_domain(result.failure()))
