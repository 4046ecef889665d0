"""Finding things, as the CLI's `sessions`, `people`, `certificates`, `rosters` and `batches` do: scoped lists one
page at a time (``next`` is the opaque cursor of the page after; it grants nothing), and one of each in detail —
404 for a row outside the caller's scope exactly as for one that does not exist."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from arccm.adapters.http.common import MAX_PAGE, acting, answer, answer_value
from arccm.domain.access import Actor

router = APIRouter(prefix="/v1")
AFTER = Query(None, max_length=2000, description="The previous page's `next`")
LIMIT = Query(50, ge=1, le=MAX_PAGE)


def _directory(request: Request) -> Any:
    return request.app.state.container.directory()


@router.get("/sessions", tags=["sessions"], summary="Sessions in the caller's scope, by start time")
def sessions(
    request: Request, actor: Actor = Depends(acting), status: str | None = Query(None, max_length=40),
    start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to"),
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
    request: Request, start: date = Query(..., alias="from"), end: date = Query(..., alias="to"),
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
