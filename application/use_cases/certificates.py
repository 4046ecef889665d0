"""Issuing, batch-issuing, revoking, reinstating and verifying certificates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.read_models import PublicCertificate, VerificationLookup
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, found, in_transaction
from arccm.domain.access import Action, Actor, Resource, may
from arccm.domain.certificate import (
    Certificate,
    CompletionKind,
    CompletionRef,
    Recipient,
    add_months,
    mask_name,
    names_match,
)
from arccm.domain.course import Course
from arccm.domain.enrollment import Completion
from arccm.domain.errors import DomainError, InvalidValue, NotCompleted, UnknownCode
from arccm.domain.verification_code import VerificationCode, parse

CODE_ATTEMPTS = 5


@attrs.frozen
class Eligible:
    """One completion, resolved to everything a certificate needs."""

    ref: CompletionRef
    recipient: Recipient
    course: Course
    location_id: UUID
    provider_id: UUID | None
    session_id: UUID | None
    roster_id: UUID | None
    instructor_ids: frozenset[UUID]
    lead_instructor_id: UUID
    scope: Resource


@attrs.frozen
class Ineligible:
    completion_id: UUID
    person_id: UUID
    name: str
    reason: str


Candidates = tuple[list[Eligible], list[Ineligible]]


def _name_of(uow: UnitOfWork, person_id: UUID, external: bool) -> str:
    if external:
        student = uow.profiles.student(person_id)
        return student.display_name if student else ""
    profile = uow.profiles.get(person_id)
    return profile.display_name if profile else ""


def candidates(uow: UnitOfWork, kind: CompletionKind, parent_id: UUID) -> Result[Candidates, DomainError]:
    """Every completion under a session or roster: who can be certified, and who not and why."""
    if kind is CompletionKind.SESSION_ENROLLMENT:
        return _session_candidates(uow, parent_id)
    return _roster_candidates(uow, parent_id)


def _session_candidates(uow: UnitOfWork, session_id: UUID) -> Result[Candidates, DomainError]:
    session = uow.sessions.get(session_id)
    if session is None:
        return found(None, "session", session_id)
    course = uow.reference.course(session.course_id)
    if course is None:
        return found(None, "course", session.course_id)
    eligible, ineligible = [], []
    for e in sorted((e for e in session.enrollments if e.holds_seat), key=lambda e: (e.enrolled_at, str(e.id))):
        name = _name_of(uow, e.learner_id, external=False)
        if e.completion is not Completion.COMPLETED:
            reason = e.completion_reason or f"completion is {e.completion.value}"
            ineligible.append(Ineligible(e.id, e.learner_id, name, reason))
            continue
        eligible.append(
            Eligible(
                ref=CompletionRef(CompletionKind.SESSION_ENROLLMENT, e.id),
                recipient=Recipient(name, user_id=e.learner_id),
                course=course,
                location_id=session.location_id,
                provider_id=session.provider_id,
                session_id=session.id,
                roster_id=None,
                instructor_ids=session.instructors,
                lead_instructor_id=session.lead_instructor_id,
                scope=session.enrollment_resource(e),
            )
        )
    return Success((eligible, ineligible))


def _roster_candidates(uow: UnitOfWork, roster_id: UUID) -> Result[Candidates, DomainError]:
    roster = uow.rosters.get(roster_id)
    if roster is None:
        return found(None, "roster", roster_id)
    course = uow.reference.course(roster.course_id)
    if course is None:
        return found(None, "course", roster.course_id)
    eligible, ineligible = [], []
    for m in roster.members:
        name = _name_of(uow, m.student_id, external=True)
        if m.completion is not Completion.COMPLETED:
            reason = m.completion_reason or f"completion is {m.completion.value}"
            ineligible.append(Ineligible(m.id, m.student_id, name, reason))
            continue
        eligible.append(
            Eligible(
                ref=CompletionRef(CompletionKind.ROSTER_MEMBER, m.id),
                recipient=Recipient(name, student_id=m.student_id),
                course=course,
                location_id=roster.location_id,
                provider_id=roster.provider_id,
                session_id=None,
                roster_id=roster.id,
                instructor_ids=frozenset({roster.instructor_id}),
                lead_instructor_id=roster.instructor_id,
                scope=roster.resource(),
            )
        )
    return Success((eligible, ineligible))


def _instructor_name(uow: UnitOfWork, instructor_id: UUID) -> str:
    profile = uow.profiles.get(instructor_id)
    return profile.display_name if profile else ""


def issue_one(
    ctx: Context, uow: UnitOfWork, actor: Actor, item: Eligible, issue_date: date, batch_id: UUID | None
) -> Result[tuple[Certificate, bool], DomainError]:
    """Issue for one completion inside ``uow``; returns the certificate and whether it is new.

    Idempotent: a completion that already has a non-revoked certificate gets that one back.
    Recertification: the recipient's current certificates for the course are superseded.
    """
    existing = uow.certificates.for_completion(item.ref)
    if existing is not None:
        return Success((existing, False))
    code = ctx.codes.new_code()
    for _ in range(CODE_ATTEMPTS):
        if uow.certificates.by_code(code) is None:
            break
        code = ctx.codes.new_code()
    now = ctx.clock.now()
    certificate = Certificate(
        id=ctx.ids.new_id(),
        code=code,
        completion=item.ref,
        recipient=item.recipient,
        course_id=item.course.id,
        course_name=item.course.name,
        location_id=item.location_id,
        issued_by=actor.user_id,
        issue_date=issue_date,
        expiry_date=add_months(issue_date, item.course.validity_months),
        provider_id=item.provider_id,
        session_id=item.session_id,
        roster_id=item.roster_id,
        instructor_ids=item.instructor_ids,
        instructor_name=_instructor_name(uow, item.lead_instructor_id),
        batch_id=batch_id,
    )
    issued = Certificate.issue(certificate, item.course.validity_months, now)
    if isinstance(issued, Failure):
        return Failure(issued.failure())
    person = item.recipient.person_id
    if person is not None:
        for previous in uow.certificates.current_for(person, item.course.id):
            if previous.issue_date <= issue_date:
                previous.supersede(certificate.id, now)
                certificate.supersedes_id = previous.id
    uow.certificates.add(certificate)
    return Success((certificate, True))


@attrs.frozen
class IssueCertificateHandler:
    ctx: Context

    def __call__(self, actor: Actor, cmd: commands.IssueCertificate) -> Result[Certificate, DomainError]:
        return in_transaction(self.ctx, actor, lambda uow: self._issue(uow, actor, cmd))

    def _issue(self, uow: UnitOfWork, actor: Actor, cmd: commands.IssueCertificate) -> Result[Certificate, DomainError]:
        listed = candidates(uow, cmd.kind, cmd.parent_id)
        if isinstance(listed, Failure):
            return Failure(listed.failure())
        eligible, ineligible = listed.unwrap()
        item = next((e for e in eligible if e.ref.id == cmd.completion_id), None)
        if item is None:
            return Failure(self._why_not(ineligible, cmd.completion_id))
        issue_date = cmd.issue_date or self.ctx.clock.now().date()
        return may(actor, Action.ISSUE_CERTIFICATE, item.scope).bind(
            lambda _: issue_one(self.ctx, uow, actor, item, issue_date, cmd.batch_id).map(lambda pair: pair[0])
        )

    @staticmethod
    def _why_not(ineligible: Sequence[Ineligible], completion_id: UUID) -> DomainError:
        reasons = [i.reason for i in ineligible if i.completion_id == completion_id]
        return NotCompleted(completion_id, reasons[0] if reasons else "no such completion under that session or roster")


@attrs.frozen
class BatchProgress:
    done: int
    total: int
    issued: int


@attrs.frozen
class BatchReport:
    total: int
    issued: int
    already_issued: int
    not_eligible: tuple[Ineligible, ...]
    certificate_ids: tuple[UUID, ...]


@attrs.frozen
class BatchIssueCertificatesHandler:
    """Certify every completed learner under a session or roster, chunk by chunk.

    Each chunk commits on its own.  Because issuing is idempotent per completion,
    running the same batch again after a crash finishes it: completions already
    certified are skipped, none is certified twice, none is missed.
    """

    ctx: Context

    def __call__(
        self,
        actor: Actor,
        cmd: commands.BatchIssueCertificates,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> Result[BatchReport, DomainError]:
        if cmd.chunk_size < 1:
            return Failure(InvalidValue("chunk_size", "must be at least 1"))
        with self.ctx.uow(actor) as uow:
            listed = candidates(uow, cmd.kind, cmd.parent_id)
        if isinstance(listed, Failure):
            return Failure(listed.failure())
        eligible, ineligible = listed.unwrap()
        for item in eligible[:1]:
            allowed = may(actor, Action.ISSUE_CERTIFICATE, item.scope)
            if isinstance(allowed, Failure):
                return Failure(allowed.failure())
        issue_date = cmd.issue_date or self.ctx.clock.now().date()
        return self._run(actor, cmd, eligible, ineligible, issue_date, on_progress)

    def _run(
        self,
        actor: Actor,
        cmd: commands.BatchIssueCertificates,
        eligible: list[Eligible],
        ineligible: list[Ineligible],
        issue_date: date,
        on_progress: Callable[[BatchProgress], None] | None,
    ) -> Result[BatchReport, DomainError]:
        issued = already = 0
        ids: list[UUID] = []
        for start in range(0, len(eligible), cmd.chunk_size):
            chunk = eligible[start : start + cmd.chunk_size]
            work = partial(self._chunk, actor=actor, chunk=chunk, issue_date=issue_date, batch_id=cmd.batch_id)
            outcome = in_transaction(self.ctx, actor, work)
            if isinstance(outcome, Failure):
                return Failure(outcome.failure())
            for certificate, new in outcome.unwrap():
                ids.append(certificate.id)
                issued, already = issued + new, already + (not new)
            if on_progress is not None:
                on_progress(BatchProgress(start + len(chunk), len(eligible), issued))
        return Success(BatchReport(len(eligible) + len(ineligible), issued, already, tuple(ineligible), tuple(ids)))

    def _chunk(
        self, uow: UnitOfWork, actor: Actor, chunk: list[Eligible], issue_date: date, batch_id: UUID | None
    ) -> Result[list[tuple[Certificate, bool]], DomainError]:
        results = []
        for item in chunk:
            outcome = issue_one(self.ctx, uow, actor, item, issue_date, batch_id)
            if isinstance(outcome, Failure):
                return Failure(outcome.failure())
            results.append(outcome.unwrap())
        return Success(results)


def _certificate_change(
    ctx: Context,
    actor: Actor,
    certificate_id: UUID,
    action: Action,
    change: Callable[[Certificate], Result[Certificate, DomainError]],
) -> Result[Certificate, DomainError]:
    return in_transaction(
        ctx,
        actor,
        lambda uow: found(uow.certificates.get(certificate_id), "certificate", certificate_id).bind(
            lambda c: may(actor, action, c.resource()).bind(lambda _: change(c))
        ),
    )


@attrs.frozen
class RevokeCertificateHandler:
    ctx: Context

    def __call__(self, actor: Actor, cmd: commands.RevokeCertificate) -> Result[Certificate, DomainError]:
        now = self.ctx.clock.now()
        return _certificate_change(
            self.ctx,
            actor,
            cmd.certificate_id,
            Action.REVOKE_CERTIFICATE,
            lambda c: c.revoke(cmd.reason, actor.user_id, now),
        )


@attrs.frozen
class ReinstateCertificateHandler:
    ctx: Context

    def __call__(self, actor: Actor, cmd: commands.ReinstateCertificate) -> Result[Certificate, DomainError]:
        now = self.ctx.clock.now()
        return _certificate_change(
            self.ctx, actor, cmd.certificate_id, Action.REINSTATE_CERTIFICATE, lambda c: c.reinstate(actor.user_id, now)
        )


@attrs.frozen
class Verification:
    """What anyone may learn from a code.  ``name_confirmed`` is None when no name was offered."""

    certificate: PublicCertificate
    name_confirmed: bool | None


@attrs.frozen
class VerifyCertificateHandler:
    """Anonymous: anyone holding a code may verify it."""

    lookup: VerificationLookup
    ctx: Context

    def __call__(self, cmd: commands.VerifyCertificate) -> Result[Verification, DomainError]:
        return parse(cmd.code).bind(lambda code: self._answer(code, cmd.recipient_name))

    def _answer(self, code: VerificationCode, supplied_name: str | None) -> Result[Verification, DomainError]:
        hit = self.lookup.lookup(code, self.ctx.clock.now().date())
        if hit is None:
            return Failure(UnknownCode())
        public, full_name = hit
        confirmed = None if supplied_name is None else names_match(supplied_name, full_name)
        shown = full_name if confirmed else mask_name(full_name)
        return Success(Verification(attrs.evolve(public, recipient_name=shown), confirmed))
