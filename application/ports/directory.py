"""Finding things: pages of sessions, people, certificates, rosters and batches, and one of each in detail.

Every query is scoped by the actor where the data is read (as every read model is) and pages by keyset: a page
is the first ``limit`` rows after a key, in a fixed order, so a page costs the same on page 1 and page 1,000 and a
row inserted meanwhile is neither skipped nor repeated.  The key's opaque form (the cursor a caller hands back)
is made and checked in ``use_cases/directory.py``; adapters see typed keys only.

Orders (the same on every backend; names compare by code point, as PostgreSQL's "C" collation does):

* sessions: ``starts_at``, then id;
* people and rosters: name, then id;
* certificates and batches: newest first — ``issue_date`` descending, then id descending.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

import attrs

from arccm.application.ports.read_models import CertificateSummary, EnrollmentSummary, SessionSummary
from arccm.application.validation import Day, Limit
from arccm.domain.access import Actor

SessionKey = tuple[datetime, UUID]
NameKey = tuple[str, UUID]
DayKey = tuple[date, UUID]


@attrs.frozen
class PersonSummary:
    """A user with a login (``kind`` "user") or an external learner ("learner"); no contact details."""

    id: UUID
    kind: str
    name: str
    role: str | None
    active: bool
    location_id: UUID | None
    provider_id: UUID | None


@attrs.frozen
class SessionDetail:
    session: SessionSummary
    enrollments: tuple[EnrollmentSummary, ...]


@attrs.frozen
class CertificateDetail:
    certificate: CertificateSummary
    holder_id: UUID | None  # the user or external learner who holds it (None once erased from a legacy row)
    completion_kind: str
    completion_id: UUID
    course_id: UUID
    location_id: UUID
    provider_id: UUID | None
    revoked_at: datetime | None
    revocation_reason: str | None


@attrs.frozen
class RosterSummary:
    id: UUID
    name: str
    course_id: UUID
    location_id: UUID
    instructor_id: UUID
    max_capacity: int
    members: int


@attrs.frozen
class RosterMemberSummary:
    id: UUID
    student_id: UUID
    attendance: str
    completion: str


@attrs.frozen
class RosterDetail:
    roster: RosterSummary
    members: tuple[RosterMemberSummary, ...]


@attrs.frozen
class BatchSummary:
    id: UUID
    name: str
    source_kind: str
    source_id: UUID
    course_id: UUID
    location_id: UUID
    issue_date: date
    status: str
    total: int
    done: int
    issued: int
    not_eligible: int
    created_by: UUID | None


class Directory(Protocol):
    """Lists return at most ``limit`` rows after the key ``after`` (the key of the last row of the page before)."""

    def sessions(
        self,
        actor: Actor,
        status: str | None,
        start: Day | None,
        end: Day | None,
        after: SessionKey | None,
        limit: Limit,
    ) -> Sequence[SessionSummary]:
        """Sessions starting on or after ``start`` and before ``end`` (UTC days), of one status if given."""
        ...

    def session(self, actor: Actor, session_id: UUID) -> SessionDetail | None:
        """A session with the enrollments the actor may read (by enrolment time)."""
        ...

    def people(
        self, actor: Actor, name: str | None, email: str | None, after: NameKey | None, limit: Limit
    ) -> Sequence[PersonSummary]:
        """People whose name contains ``name`` (letter case ignored) or whose e-mail is ``email`` (likewise)."""
        ...

    def certificates(
        self, actor: Actor, today: Day, holder: UUID | None, status: str | None, after: DayKey | None, limit: Limit
    ) -> Sequence[CertificateSummary]: ...

    def certificate(
        self, actor: Actor, today: Day, certificate_id: UUID | None, code: str | None
    ) -> CertificateDetail | None:
        """One certificate by id or by canonical verification code."""
        ...

    def rosters(self, actor: Actor, after: NameKey | None, limit: Limit) -> Sequence[RosterSummary]: ...

    def roster(self, actor: Actor, roster_id: UUID) -> RosterDetail | None: ...

    def batches(self, actor: Actor, after: DayKey | None, limit: Limit) -> Sequence[BatchSummary]: ...

    def batch(self, actor: Actor, batch_id: UUID) -> BatchSummary | None: ...
