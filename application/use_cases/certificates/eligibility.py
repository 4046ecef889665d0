"""Who can be certified under a session or a roster, and who not and why.

Sessions and rosters are both *completion sources*: a course, a place, the
instructors, and people who did or did not complete.  Certification reads them
through one protocol, so the rule "completed, and nothing else, earns a
certificate" is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

import attrs
from returns.result import Result

from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import found
from arccm.application.use_cases.certificates.notices import Contact, contacts
from arccm.domain.access import Resource
from arccm.domain.certificate import CompletionKind, CompletionRef, Recipient
from arccm.domain.course import Course
from arccm.domain.enrollment import Completion
from arccm.domain.errors import DomainError
from arccm.domain.roster import Roster
from arccm.domain.training_session import TrainingSession


@attrs.frozen
class Finished:
    """One person's completion (or not) under a source."""

    ref: CompletionRef
    person_id: UUID
    completion: Completion
    reason: str | None
    scope: Resource


class CompletionSource(Protocol):
    """A session or roster, as certification sees it."""

    @property
    def kind(self) -> CompletionKind: ...

    @property
    def id(self) -> UUID: ...

    @property
    def course_id(self) -> UUID: ...

    @property
    def location_id(self) -> UUID: ...

    @property
    def provider_id(self) -> UUID | None: ...

    @property
    def external(self) -> bool:
        """True when the people are external learners (``student_enrollment_profiles``), not users."""
        ...

    @property
    def instructor_ids(self) -> frozenset[UUID]: ...

    @property
    def lead_instructor_id(self) -> UUID: ...

    def resource(self) -> Resource: ...

    def finished(self, only: UUID | None) -> Sequence[Finished]: ...


@attrs.frozen
class SessionSource:
    session: TrainingSession
    kind: CompletionKind = CompletionKind.SESSION_ENROLLMENT
    external: bool = False

    @property
    def id(self) -> UUID:
        return self.session.id

    @property
    def course_id(self) -> UUID:
        return self.session.course_id

    @property
    def location_id(self) -> UUID:
        return self.session.location_id

    @property
    def provider_id(self) -> UUID | None:
        return self.session.provider_id

    @property
    def instructor_ids(self) -> frozenset[UUID]:
        return self.session.instructors

    @property
    def lead_instructor_id(self) -> UUID:
        return self.session.lead_instructor_id

    def resource(self) -> Resource:
        return self.session.resource()

    def finished(self, only: UUID | None) -> Sequence[Finished]:
        seated = sorted(
            (e for e in self.session.enrollments if e.holds_seat and only in (None, e.id)),
            key=lambda e: (e.enrolled_at, str(e.id)),
        )
        return [
            Finished(
                CompletionRef(self.kind, e.id),
                e.learner_id,
                e.completion,
                e.completion_reason,
                self.session.enrollment_resource(e),
            )
            for e in seated
        ]


@attrs.frozen
class RosterSource:
    roster: Roster
    kind: CompletionKind = CompletionKind.ROSTER_MEMBER
    external: bool = True

    @property
    def id(self) -> UUID:
        return self.roster.id

    @property
    def course_id(self) -> UUID:
        return self.roster.course_id

    @property
    def location_id(self) -> UUID:
        return self.roster.location_id

    @property
    def provider_id(self) -> UUID | None:
        return self.roster.provider_id

    @property
    def instructor_ids(self) -> frozenset[UUID]:
        return frozenset({self.roster.instructor_id})

    @property
    def lead_instructor_id(self) -> UUID:
        return self.roster.instructor_id

    def resource(self) -> Resource:
        return self.roster.resource()

    def finished(self, only: UUID | None) -> Sequence[Finished]:
        return [
            Finished(CompletionRef(self.kind, m.id), m.student_id, m.completion, m.completion_reason, self.resource())
            for m in self.roster.members
            if only in (None, m.id)
        ]


@attrs.frozen
class Eligible:
    """One completion, resolved to everything a certificate needs."""

    ref: CompletionRef
    recipient: Recipient
    course: Course
    source: CompletionSource
    scope: Resource
    contact: Contact


@attrs.frozen
class Ineligible:
    completion_id: UUID
    person_id: UUID
    name: str
    reason: str


@attrs.frozen
class Candidates:
    source: CompletionSource
    course: Course
    eligible: list[Eligible]
    ineligible: list[Ineligible]


def load_source(
    uow: UnitOfWork, kind: CompletionKind, parent_id: UUID, for_update: bool
) -> Result[CompletionSource, DomainError]:
    """The session or roster ``parent_id`` names; ``for_update`` holds it until the unit of work ends."""
    if kind is CompletionKind.SESSION_ENROLLMENT:
        session = uow.sessions.get_for_update(parent_id) if for_update else uow.sessions.find(parent_id)
        return found(session, "session", parent_id).map(SessionSource)
    roster = uow.rosters.get_for_update(parent_id) if for_update else uow.rosters.find(parent_id)
    return found(roster, "roster", parent_id).map(RosterSource)


def candidates(
    uow: UnitOfWork, kind: CompletionKind, parent_id: UUID, only: UUID | None = None, for_update: bool = False
) -> Result[Candidates, DomainError]:
    """Every completion under a session or roster (or just ``only``): who can be certified, and who not and why."""
    return Result.do(
        _sort(uow, source, course, only)
        for source in load_source(uow, kind, parent_id, for_update)
        for course in found(uow.reference.course(source.course_id), "course", source.course_id)
    )


def _sort(uow: UnitOfWork, source: CompletionSource, course: Course, only: UUID | None) -> Candidates:
    finished = source.finished(only)
    known = contacts(uow, [f.person_id for f in finished], source.external)
    eligible, ineligible = [], []
    for f in finished:
        contact = known.get(f.person_id, Contact.nobody())
        if f.completion is not Completion.COMPLETED:
            reason = f.reason or f"completion is {f.completion.value}"
            ineligible.append(Ineligible(f.ref.id, f.person_id, contact.name, reason))
            continue
        recipient = (
            Recipient(contact.name, student_id=f.person_id) if source.external else Recipient(contact.name, f.person_id)
        )
        eligible.append(Eligible(f.ref, recipient, course, source, f.scope, contact))
    return Candidates(source, course, eligible, ineligible)


def why_not(listed: Candidates, completion_id: UUID) -> str:
    reasons = [i.reason for i in listed.ineligible if i.completion_id == completion_id]
    return reasons[0] if reasons else "no such completion under that session or roster"
