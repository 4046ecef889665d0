"""Certificates: issued from a completion, expiring by date, revocable, never deleted."""

from __future__ import annotations

import calendar
import enum
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.access import Resource, ResourceKind
from arccm.domain.errors import (
    AlreadyRevoked,
    AlreadySuperseded,
    CompletionAlreadyCertified,
    DomainError,
    InvalidValue,
    NotRevoked,
)
from arccm.domain.events import (
    CertificateExpired,
    CertificateIssued,
    CertificateReinstated,
    CertificateRevoked,
    CertificateSuperseded,
    DomainEvent,
)
from arccm.domain.text import clean_text
from arccm.domain.verification_code import VerificationCode


class CertificateStatus(enum.Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class CompletionKind(enum.Enum):
    SESSION_ENROLLMENT = "session_enrollment"
    ROSTER_MEMBER = "roster_member"
    LEGACY_IMPORT = "legacy_import"  # a completion the replaced system recorded (its certificate's id), docs/import.md


@attrs.frozen
class CompletionRef:
    """Which completion a certificate attests: an enrollment or a roster member."""

    kind: CompletionKind
    id: UUID


@attrs.frozen
class Revocation:
    reason: str
    revoked_by: UUID
    revoked_at: datetime


def add_months(start: date, months: int) -> date:
    """Calendar months later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@attrs.frozen
class Recipient:
    name: str
    user_id: UUID | None = None
    student_id: UUID | None = None

    @property
    def person_id(self) -> UUID | None:
        return self.user_id or self.student_id


@attrs.define(slots=False, eq=False)
class Certificate:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    code: VerificationCode = attrs.field(on_setattr=attrs.setters.frozen)
    completion: CompletionRef = attrs.field(on_setattr=attrs.setters.frozen)
    recipient: Recipient
    course_id: UUID
    course_name: str
    location_id: UUID
    issued_by: UUID
    issue_date: date
    expiry_date: date
    provider_id: UUID | None = None
    session_id: UUID | None = None
    roster_id: UUID | None = None
    instructor_ids: frozenset[UUID] = frozenset()
    instructor_name: str = ""
    lead_instructor_id: UUID | None = None  # whose certificate it counts as (analytics), like the session
    batch_id: UUID | None = None
    revocation: Revocation | None = None
    supersedes_id: UUID | None = None
    superseded_by_id: UUID | None = None
    expired_on: date | None = None  # when the expiry was recorded (status is derived from the date regardless)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def issue(
        *,
        id: UUID,
        code: VerificationCode,
        completion: CompletionRef,
        recipient: Recipient,
        course_id: UUID,
        course_name: str,
        validity_months: int,
        location_id: UUID,
        issued_by: UUID,
        issue_date: date,
        now: datetime,
        provider_id: UUID | None = None,
        session_id: UUID | None = None,
        roster_id: UUID | None = None,
        instructor_ids: frozenset[UUID] = frozenset(),
        instructor_name: str = "",
        lead_instructor_id: UUID | None = None,
        batch_id: UUID | None = None,
    ) -> Result[Certificate, DomainError]:
        """A new certificate for a completion; it expires ``validity_months`` calendar months after issue."""
        if validity_months < 1:
            return Failure(InvalidValue("validity_months", "must be at least 1"))
        certificate = Certificate(
            id=id,
            code=code,
            completion=completion,
            recipient=recipient,
            course_id=course_id,
            course_name=course_name,
            location_id=location_id,
            issued_by=issued_by,
            issue_date=issue_date,
            expiry_date=add_months(issue_date, validity_months),
            provider_id=provider_id,
            session_id=session_id,
            roster_id=roster_id,
            instructor_ids=instructor_ids,
            instructor_name=instructor_name,
            lead_instructor_id=lead_instructor_id,
            batch_id=batch_id,
        )
        certificate.events.append(
            CertificateIssued(
                occurred_at=now,
                scope=certificate.resource(),
                certificate_id=certificate.id,
                code=certificate.code.display,
                course_id=certificate.course_id,
                expiry=certificate.expiry_date.isoformat(),
            )
        )
        return Success(certificate)

    @property
    def is_live(self) -> bool:
        """Not revoked: it still attests its completion (one live certificate per completion)."""
        return self.revocation is None

    @property
    def is_current(self) -> bool:
        """Live and not superseded: the holder's certificate for the course (one per holder and course)."""
        return self.revocation is None and self.superseded_by_id is None

    def status(self, today: date) -> CertificateStatus:
        """The one definition of a certificate's status; SQL mirrors it in ``certificate_status`` (read models)."""
        if self.revocation is not None:
            return CertificateStatus.REVOKED
        if self.superseded_by_id is not None:
            return CertificateStatus.SUPERSEDED
        if today > self.expiry_date:
            return CertificateStatus.EXPIRED
        return CertificateStatus.ACTIVE

    def resource(self) -> Resource:
        return Resource(
            kind=ResourceKind.CERTIFICATE,
            location_id=self.location_id,
            provider_id=self.provider_id,
            created_by=self.issued_by,
            instructors=self.instructor_ids,
            subject_id=self.recipient.person_id,
        )

    def revoke(self, reason: str, by: UUID, now: datetime) -> Result[Certificate, DomainError]:
        cleaned = clean_text("reason", reason, 500)
        if isinstance(cleaned, Failure):
            return Failure(cleaned.failure())
        if self.revocation is not None:
            return Failure(AlreadyRevoked(self.id, self.revocation.revoked_at))
        reason = cleaned.unwrap()
        self.revocation = Revocation(reason, by, now)
        self.version += 1
        self.events.append(
            CertificateRevoked(occurred_at=now, scope=self.resource(), certificate_id=self.id, reason=reason)
        )
        return Success(self)

    def reinstate(
        self, by: UUID, now: datetime, live_for_completion: Certificate | None = None
    ) -> Result[Certificate, DomainError]:
        """Undo a revocation.  Refused when the completion has been certified again since (``live_for_completion``):
        one completion never has two live certificates."""
        if self.revocation is None:
            return Failure(NotRevoked(self.id))
        if live_for_completion is not None and live_for_completion.id != self.id:
            return Failure(CompletionAlreadyCertified(self.id, live_for_completion.id))
        self.revocation = None
        self.version += 1
        self.events.append(CertificateReinstated(occurred_at=now, scope=self.resource(), certificate_id=self.id))
        return Success(self)

    def supersede(self, successor_id: UUID, now: datetime) -> Result[Certificate, DomainError]:
        if self.superseded_by_id is not None:
            return Failure(AlreadySuperseded(self.id))
        self.superseded_by_id = successor_id
        self.version += 1
        self.events.append(
            CertificateSuperseded(
                occurred_at=now, scope=self.resource(), certificate_id=self.id, successor_id=successor_id
            )
        )
        return Success(self)


def keep_one_current(
    certificate: Certificate, others: Iterable[Certificate], now: datetime
) -> Result[Certificate, DomainError]:
    """One current certificate per holder and course: the newest by issue date stays current and supersedes the
    rest (on a tie, ``certificate`` — the one being issued or reinstated — wins).  ``others`` are the holder's
    current certificates for the course."""
    if not certificate.is_current:
        return Success(certificate)
    rivals = [c for c in others if c.id != certificate.id and c.is_current]
    newest = max([certificate, *rivals], key=lambda c: (c.issue_date, c is certificate))
    for older in [c for c in [certificate, *rivals] if c is not newest]:
        superseded = older.supersede(newest.id, now)
        if isinstance(superseded, Failure):
            return superseded
        if newest is certificate and certificate.supersedes_id is None:
            certificate.supersedes_id = older.id
    return Success(certificate)


def record_expiry(certificate: Certificate, today: date, now: datetime) -> bool:
    """Record that a certificate has expired, once; True when this call recorded it."""
    if certificate.expired_on is not None or certificate.status(today) is not CertificateStatus.EXPIRED:
        return False
    certificate.expired_on = today
    certificate.version += 1
    certificate.events.append(
        CertificateExpired(
            occurred_at=now,
            scope=certificate.resource(),
            certificate_id=certificate.id,
            expiry_date=certificate.expiry_date.isoformat(),
        )
    )
    return True


def mask_name(name: str) -> str:
    """'Jane Doe' -> 'J. D***': enough to recognise, too little to harvest."""
    parts = name.split()
    if not parts:
        return "***"
    if len(parts) == 1:
        return parts[0][0] + "***"
    return f"{parts[0][0]}. {parts[-1][0]}***"


def _name_key(name: str) -> str:
    """Unicode's canonical caseless form (NFD, case-folded, NFD again), whitespace collapsed: a name typed in
    decomposed form (as macOS keyboards produce), in another case or with other spacing is the same name."""
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())
    return " ".join(folded.split())


def names_match(supplied: str, actual: str) -> bool:
    return _name_key(supplied) == _name_key(actual)
