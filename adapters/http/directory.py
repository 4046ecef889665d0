"""Finding things, as the CLI's `sessions`, `people`, `certificates`, `rosters` and `batches` do: scoped lists one
page at a time (``next`` is the opaque cursor of the page after; it grants nothing), and one of each in detail —
404 for a row outside the caller's scope exactly as for one that does not exist."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from arccm.adapters.calendar.ical import to_ical
from arccm.adapters.http.auth import Unauthenticated, feed_subject, mint_feed
from arccm.adapters.http.common import MAX_PAGE, Day, Refused, acting, answer, answer_value, resolved
from arccm.adapters.http.problems import API_PROBLEMS, problem
from arccm.adapters.jsonable import plain
from arccm.domain.access import Actor

router = APIRouter(prefix="/v1", responses=API_PROBLEMS)
AFTER = Query(None, max_length=2000, description="The previous page's `next`")
LIMIT = Query(50, ge=1, le=MAX_PAGE)


def _directory(request: Request) -> Any:
    return request.app.state.container.directory()


@router.get("/sessions", tags=["sessions"], summary="Sessions in the caller's scope, by start time")
def sessions(
    request: Request, actor: Actor = Depends(acting), status: str | None = Query(None, max_length=40),
    start: Day | None = Query(None, alias="from"), end: Day | None = Query(None, alias="to"),
    after: str | None = AFTER, limit: int = LIMIT,
) -> Any:  # fmt: skip
    return answer(_directory(request).sessions(actor, status, start, end, after, limit))


@router.get("/sessions/{session_id}", tags=["sessions"], summary="One session with its enrollments")
def session(request: Request, session_id: uuid.UUID, actor: Actor = Depends(acting)) -> Any:
    return answer(_directory(request).session(actor, session_id))


@router.get("/people", tags=["people"], summary="People in the caller's scope by part of a name, or a whole e-mail")
def people(
    request: Request, q: str = Query(..., min_length=1, max_length=200), actor: Actor = Depends(acting),
    after: str | None = AFTER, limit: int = LIMIT,
) -> Any:  # fmt: skip
    return answer(_directory(request).people(actor, q, after, limit))


@router.get("/certificates", tags=["certificates"], summary="Certificates in the caller's scope, newest first")
def certificates(
    request: Request, actor: Actor = Depends(acting), holder: uuid.UUID | None = None,
    status: str | None = Query(None, max_length=40), after: str | None = AFTER, limit: int = LIMIT,
) -> Any:  # fmt: skip
    return answer(_directory(request).certificates(actor, holder, status, after, limit))


@router.get("/certificates/{reference}", tags=["certificates"], summary="One certificate, by id or code")
def certificate(request: Request, reference: str, actor: Actor = Depends(acting)) -> Any:
    return answer(_directory(request).certificate(actor, reference[:200]))


@router.get("/rosters", tags=["rosters"], summary="Rosters in the caller's scope, by name")
def rosters(request: Request, actor: Actor = Depends(acting), after: str | None = AFTER, limit: int = LIMIT) -> Any:
    return answer(_directory(request).rosters(actor, after, limit))


@router.get("/rosters/{roster_id}", tags=["rosters"], summary="One roster with its members")
def roster(request: Request, roster_id: uuid.UUID, actor: Actor = Depends(acting)) -> Any:
    return answer(_directory(request).roster(actor, roster_id))


@router.get("/batches", tags=["certificates"], summary="Certificate batches in the caller's scope, newest first")
def batches(request: Request, actor: Actor = Depends(acting), after: str | None = AFTER, limit: int = LIMIT) -> Any:
    return answer(_directory(request).batches(actor, after, limit))


@router.get("/batches/{batch_id}", tags=["certificates"], summary="One batch and its progress")
def batch(request: Request, batch_id: uuid.UUID, actor: Actor = Depends(acting)) -> Any:
    return answer(_directory(request).batch(actor, batch_id))


@router.get("/calendar", tags=["sessions"], summary="Sessions in the caller's scope between two days, local times")
def calendar(
    request: Request, start: Day = Query(..., alias="from"), end: Day = Query(..., alias="to"),
    tz: str = Query("UTC", max_length=64, description="An IANA time zone, for local times"),
    actor: Actor = Depends(acting),
) -> Any:  # fmt: skip
    return answer(request.app.state.container.view_calendar()(actor, start, end, tz))


@router.get("/certificates/{reference}/pdf", tags=["certificates"], summary="The certificate as PDF",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})  # fmt: skip
def certificate_pdf(request: Request, reference: str, actor: Actor = Depends(acting)) -> Response:
    """The printable certificate, with a QR code to its verification page; refused (409, ``not_printable``) for a
    revoked or superseded one, which must never look valid on paper."""
    found = answer(_directory(request).certificate(actor, reference[:200]))
    code = found["certificate"]["code"]
    rendered = answer_value(request.app.state.container.render_certificate()(actor, code))
    named = found["certificate"]["id"]  # a code's check symbol may be * ~ $ or =, which file names should not hold
    headers = {"Content-Disposition": f'attachment; filename="certificate-{named}.pdf"', "Cache-Control": "no-store"}
    return Response(rendered.content, media_type="application/pdf", headers=headers)


FEED_PAST, FEED_AHEAD = timedelta(days=60), timedelta(days=400)


@router.post("/calendar/feed", tags=["sessions"], summary="A calendar feed URL for the caller's calendar app")
def calendar_feed(request: Request, actor: Actor = Depends(acting)) -> Any:
    """An ``.ics`` address to subscribe to from any calendar app: the caller's sessions from 60 days ago to 400
    days ahead, in each location's own time zone.  It holds a token of its own that opens this feed and nothing
    else; the caller's standing is checked at every fetch, so a deactivated user's feed closes."""
    token = mint_feed(actor.user_id, request.app.state.jwt_secret)
    base = str(request.base_url).rstrip("/")
    return {"url": f"{base}/v1/calendar.ics?token={token}", "token": token}


@router.get("/calendar.ics", tags=["sessions"], summary="The calendar feed (iCalendar) a feed URL opens",
            response_class=Response, responses={200: {"content": {"text/calendar": {}}}})  # fmt: skip
def calendar_ics(request: Request, token: str = Query(..., min_length=1, max_length=2000)) -> Response:
    try:
        user_id = feed_subject(token, request.app.state.jwt_secret)
    except Unauthenticated as why:
        raise Refused(problem(401, "unauthenticated", "Unauthenticated", str(why))) from None
    actor = resolved(request, user_id)
    now = datetime.now(UTC)
    start, end = (now - FEED_PAST).date(), (now + FEED_AHEAD).date()
    entries = answer_value(request.app.state.container.view_calendar()(actor, start, end, "UTC"))
    body = to_ical(entries, "arccm sessions", now)
    return Response(body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "private, max-age=300"})


@router.get("/analytics", tags=["dashboard"], summary="Sessions, seats, completions and certificates between two days")
def analytics(
    request: Request, start: Day = Query(..., alias="from"), end: Day = Query(..., alias="to"),
    group_by: str | None = Query(None, max_length=20, description="location, instructor or course"),
    actor: Actor = Depends(acting),
) -> Any:  # fmt: skip
    return answer(request.app.state.container.view_analytics()(actor, start, end, group_by))


@router.get("/session-metrics", tags=["dashboard"], summary="Fill rate, attendance and pass rate per session")
def session_metrics(
    request: Request, start: Day = Query(..., alias="from"), end: Day = Query(..., alias="to"),
    course_id: uuid.UUID | None = None, actor: Actor = Depends(acting),
) -> Any:  # fmt: skip
    return answer(request.app.state.container.view_session_metrics()(actor, start, end, course_id))


def _position(after: str | None) -> tuple[str, str] | None:
    """A notifications cursor: the (time, id) of the last one on the page before."""
    if after is None:
        return None
    try:
        kind, at, named = json.loads(base64.urlsafe_b64decode(after.encode() + b"==="))
        if kind == "notifications" and isinstance(at, str) and isinstance(named, str):
            return datetime.fromisoformat(at).isoformat(), str(uuid.UUID(named))
    except (ValueError, TypeError, binascii.Error):
        pass
    raise Refused(problem(422, "invalid_value", "Invalid value", "after: is not a cursor this list gave",
                          field="after", rule="a cursor this list gave"))  # fmt: skip


@router.get("/notifications", tags=["notifications"], summary="Notifications addressed to the caller, newest first")
def notifications(
    request: Request, actor: Actor = Depends(acting), after: str | None = AFTER, limit: int = LIMIT
) -> Any:
    position = _position(after)
    listed = request.app.state.container.read_models().notifications(actor)
    ordered = sorted(((n.created_at.isoformat(), str(n.id)), n) for n in listed)[::-1]
    rows = [n for key, n in ordered if position is None or key < position][: limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    last = ["notifications", rows[-1].created_at.isoformat(), str(rows[-1].id)] if rows else None
    cursor = base64.urlsafe_b64encode(json.dumps(last).encode()).decode().rstrip("=") if more else None
    return {"items": plain(rows), "next": cursor}
