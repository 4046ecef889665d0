"""Finding things, with their input checked: lists paged by opaque cursors, and one of each in detail.

A cursor is the key of a page's last row, encoded (URL-safe base64 of a small JSON array) with the list's name,
so a cursor of one list is refused by another.  It is not a secret and grants nothing: every page is read in the
actor's scope again.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application.ports.clock import Clock
from arccm.application.ports.directory import (
    BatchSummary,
    CertificateDetail,
    Directory,
    PersonSummary,
    RosterDetail,
    RosterSummary,
    SessionDetail,
)
from arccm.application.ports.read_models import CertificateSummary, SessionSummary
from arccm.application.validation import Day, boundary
from arccm.domain.access import Actor
from arccm.domain.errors import DomainError, InvalidValue, NotFound
from arccm.domain.text import clean_text
from arccm.domain.verification_code import parse as parse_code

T = TypeVar("T")

MAX_PAGE = 500
MAX_SEARCH = 200  # characters of a name or e-mail searched for
SESSION_STATUSES = ("scheduled", "in_progress", "completed", "cancelled")
CERTIFICATE_STATUSES = ("active", "expired", "revoked", "superseded")


@attrs.frozen
class Page(Generic[T]):
    """One page of a list; ``next`` is the cursor of the page after it, or None on the last page."""

    items: tuple[T, ...]
    next: str | None


def _encode(kind: str, key: tuple[Any, ...]) -> str:
    raw = json.dumps([kind, *(str(part) for part in key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(kind: str, cursor: str, parts: Sequence[Callable[[str], Any]]) -> Result[tuple[Any, ...], DomainError]:
    refused: Result[tuple[Any, ...], DomainError] = Failure(InvalidValue("after", "must be a cursor this list gave"))
    if len(cursor) > 400:
        return refused
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(decoded, list) or decoded[:1] != [kind] or len(decoded) != len(parts) + 1:
            return refused
        return Success(tuple(parse(str(part)) for parse, part in zip(parts, decoded[1:], strict=True)))
    except (ValueError, binascii.Error, UnicodeDecodeError):  # json, base64, uuid, date parsing
        return refused


def _limit(limit: int) -> Result[int, DomainError]:
    if not 1 <= limit <= MAX_PAGE:
        return Failure(InvalidValue("limit", f"must be between 1 and {MAX_PAGE}"))
    return Success(limit)


def _one_of(field: str, value: str | None, allowed: Sequence[str]) -> Result[None, DomainError]:
    if value is not None and value not in allowed:
        return Failure(InvalidValue(field, f"must be one of {', '.join(allowed)}"))
    return Success(None)


def _page(kind: str, rows: Sequence[T], limit: int, key: Callable[[T], tuple[Any, ...]]) -> Page[T]:
    """``rows`` as fetched with ``limit + 1``: the extra row only tells that another page follows."""
    items = tuple(rows[:limit])
    return Page(items, _encode(kind, key(items[-1])) if len(rows) > limit else None)


def _after(
    kind: str, cursor: str | None, parts: Sequence[Callable[[str], Any]]
) -> Result[tuple[Any, ...] | None, DomainError]:
    if cursor is None:
        return Success(None)
    return _decode(kind, cursor, parts)


def _listed(
    kind: str,
    after: str | None,
    limit: int,
    parts: Sequence[Callable[[str], Any]],
    fetch: Callable[[Any, int], Sequence[T]],
    key: Callable[[T], tuple[Any, ...]],
) -> Result[Page[T], DomainError]:
    """A page of list ``kind``: the limit checked, the cursor read, ``limit + 1`` rows fetched after its key."""
    return (
        _limit(limit)
        .bind(lambda _: _after(kind, after, parts))
        .map(lambda k: _page(kind, fetch(k, limit + 1), limit, key))
    )


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("naive")
    return moment


def _found(value: T | None, kind: str, identifier: object) -> Result[T, DomainError]:
    return Success(value) if value is not None else Failure(NotFound(kind, identifier))


@attrs.frozen
class DirectoryHandler:
    """The directory's queries as results: bad input is an ``InvalidValue`` naming the field, a row the actor may not
    read is ``NotFound`` exactly as a row that does not exist (nobody learns what they may not see)."""

    directory: Directory
    clock: Clock

    @boundary
    def sessions(
        self,
        actor: Actor,
        status: str | None = None,
        start: Day | None = None,
        end: Day | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Result[Page[SessionSummary], DomainError]:
        if start is not None and end is not None and end <= start:
            return Failure(InvalidValue("end", "must be after start"))
        return _one_of("status", status, SESSION_STATUSES).bind(
            lambda _: _listed(
                "sessions",
                after,
                limit,
                (_aware, UUID),
                lambda k, n: self.directory.sessions(actor, status, start, end, k, n),
                lambda s: (s.starts_at.isoformat(), s.id),
            )
        )

    @boundary
    def session(self, actor: Actor, session_id: UUID) -> Result[SessionDetail, DomainError]:
        return _found(self.directory.session(actor, session_id), "session", session_id)

    @boundary
    def people(
        self, actor: Actor, text: str, after: str | None = None, limit: int = 50
    ) -> Result[Page[PersonSummary], DomainError]:
        """People whose name contains ``text``, or (when it holds an @) whose e-mail is ``text``."""
        wanted = " ".join(text.split())
        if not wanted:
            return Failure(InvalidValue("text", "must name someone: part of a name, or an e-mail address"))
        if len(wanted) > MAX_SEARCH:
            return Failure(InvalidValue("text", f"at most {MAX_SEARCH} characters"))
        printable = clean_text("text", wanted, MAX_SEARCH)  # a NUL reached PostgreSQL as a driver error (fuzzing)
        if isinstance(printable, Failure):
            return Failure(printable.failure())
        wanted = printable.unwrap()
        email = wanted if "@" in wanted else None
        return _listed(
            "people",
            after,
            limit,
            (str, UUID),
            lambda k, n: self.directory.people(actor, None if email else wanted, email, k, n),
            lambda p: (p.name, p.id),
        )

    @boundary
    def certificates(
        self,
        actor: Actor,
        holder: UUID | None = None,
        status: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Result[Page[CertificateSummary], DomainError]:
        today = self.clock.now().date()
        return _one_of("status", status, CERTIFICATE_STATUSES).bind(
            lambda _: _listed(
                "certificates",
                after,
                limit,
                (date.fromisoformat, UUID),
                lambda k, n: self.directory.certificates(actor, today, holder, status, k, n),
                lambda c: (c.issue_date.isoformat(), c.id),
            )
        )

    @boundary
    def certificate(self, actor: Actor, reference: str) -> Result[CertificateDetail, DomainError]:
        """One certificate by its id or its verification code (as people type it)."""
        today = self.clock.now().date()
        try:
            certificate_id = UUID(reference.strip())
        except ValueError:
            parsed = parse_code(reference[:100])
            if isinstance(parsed, Failure):
                return Failure(InvalidValue("certificate", "must be a certificate id or a verification code"))
            found = self.directory.certificate(actor, today, None, parsed.unwrap().canonical)
            return _found(found, "certificate", parsed.unwrap().display)
        return _found(self.directory.certificate(actor, today, certificate_id, None), "certificate", certificate_id)

    @boundary
    def rosters(
        self, actor: Actor, after: str | None = None, limit: int = 50
    ) -> Result[Page[RosterSummary], DomainError]:
        return _listed(
            "rosters",
            after,
            limit,
            (str, UUID),
            lambda k, n: self.directory.rosters(actor, k, n),
            lambda r: (r.name, r.id),
        )

    @boundary
    def roster(self, actor: Actor, roster_id: UUID) -> Result[RosterDetail, DomainError]:
        return _found(self.directory.roster(actor, roster_id), "roster", roster_id)

    @boundary
    def batches(
        self, actor: Actor, after: str | None = None, limit: int = 50
    ) -> Result[Page[BatchSummary], DomainError]:
        return _listed(
            "batches",
            after,
            limit,
            (date.fromisoformat, UUID),
            lambda k, n: self.directory.batches(actor, k, n),
            lambda b: (b.issue_date.isoformat(), b.id),
        )

    @boundary
    def batch(self, actor: Actor, batch_id: UUID) -> Result[BatchSummary, DomainError]:
        return _found(self.directory.batch(actor, batch_id), "batch", batch_id)
