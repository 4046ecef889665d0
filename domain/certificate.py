"""Certificates: issued from a completion, expiring by date, revocable, never deleted."""

from __future__ import annotations

import calendar
import enum
from datetime import date, datetime
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.access import Resource, ResourceKind
from arccm.domain.errors import AlreadyRevoked, AlreadySuperseded, DomainError, InvalidValue, NotRevoked
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
    batch_id: UUID | None = None
    revocation: Revocation | None = None
    supersedes_id: UUID | None = None
    superseded_by_id: UUID | None = None
    expired_on: date | None = None  # when the expiry was recorded (status is derived from the date regardless)
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def issue(certificate: Certificate, validity_months: int, now: datetime) -> Result[Certificate, DomainError]:
        if validity_months < 1:
            return Failure(InvalidValue("validity_months", "must be at least 1"))
        expected = add_months(certificate.issue_date, validity_months)
        if certificate.expiry_date != expected:
            return Failure(InvalidValue("expiry_date", "must be issue_date + the course's validity months"))
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

    def status(self, today: date) -> CertificateStatus:
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
            CertificateRevoked(
                occurred_at=now, scope=self.resource(), certificate_id=self.id, reason=reason, revoked_by=by
            )
        )
        return Success(self)

    def reinstate(self, by: UUID, now: datetime) -> Result[Certificate, DomainError]:
        if self.revocation is None:
            return Failure(NotRevoked(self.id))
        self.revocation = None
        self.version += 1
        self.events.append(
            CertificateReinstated(occurred_at=now, scope=self.resource(), certificate_id=self.id, reinstated_by=by)
        )
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


def names_match(supplied: str, actual: str) -> bool:
    return " ".join(supplied.casefold().split()) == " ".join(actual.casefold().split())
