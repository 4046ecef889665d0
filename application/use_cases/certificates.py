"""Issuing, batch-issuing, revoking, reinstating and verifying certificates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import partial
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.read_models import PublicCertificate, VerificationLookup
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, found, in_transaction
from arccm.domain.access import Action, Actor, Resource, may
from arccm.domain.batch import CertificateBatch
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
from arccm.domain.notification import Category, Notification
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
    email: str = ""
    home_location_id: UUID | None = None


@attrs.frozen
class Ineligible:
    completion_id: UUID
    person_id: UUID
    name: str
    reason: str


@attrs.frozen
class Candidates:
    eligible: list[Eligible]
    ineligible: list[Ineligible]
    scope: Resource  # the session's or roster's own scope, for the permission check
    course: Course
    location_id: UUID
    provider_id: UUID | None


@attrs.frozen
class Contact:
    name: str
    email: str
    location_id: UUID | None


def _contacts(uow: UnitOfWork, person_ids: Sequence[UUID], external: bool) -> dict[UUID, Contact]:
    """Everyone's name, address and location in one question."""
    if external:
        students = uow.profiles.students(person_ids)
        return {i: Contact(s.display_name, s.email, s.location_id) for i, s in students.items()}
    profiles = uow.profiles.read_many(person_ids)
    return {i: Contact(p.display_name, p.email, p.location_id) for i, p in profiles.items()}


_NOBODY = Contact("", "", None)


def _contact(uow: UnitOfWork, person_id: UUID, external: bool) -> Contact:
    if external:
        student = uow.profiles.student(person_id)
        return Contact(student.display_name, student.email, student.location_id) if student else Contact("", "", None)
    profile = uow.profiles.read(person_id)
    return Contact(profile.display_name, profile.email, profile.location_id) if profile else Contact("", "", None)


def candidates(
    uow: UnitOfWork, kind: CompletionKind, parent_id: UUID, only: UUID | None = None
) -> Result[Candidates, DomainError]:
    """Every completion under a session or roster: who can be certified, and who not and why."""
    if kind is CompletionKind.SESSION_ENROLLMENT:
        return _session_candidates(uow, parent_id, only)
    return _roster_candidates(uow, parent_id, only)


def _session_candidates(uow: UnitOfWork, session_id: UUID, only: UUID | None) -> Result[Candidates, DomainError]:
    session = uow.sessions.get(session_id)
    if session is None:
        return found(None, "session", session_id)
    course = uow.reference.course(session.course_id)
    if course is None:
        return found(None, "course", session.course_id)
    eligible, ineligible = [], []
    seated = sorted(
        (e for e in session.enrollments if e.holds_seat and only in (None, e.id)),
        key=lambda e: (e.enrolled_at, str(e.id)),
    )
    contacts = _contacts(uow, [e.learner_id for e in seated], external=False)
    for e in seated:
        contact = contacts.get(e.learner_id, _NOBODY)
        if e.completion is not Completion.COMPLETED:
            reason = e.completion_reason or f"completion is {e.completion.value}"
            ineligible.append(Ineligible(e.id, e.learner_id, contact.name, reason))
            continue
        eligible.append(
            Eligible(
                ref=CompletionRef(CompletionKind.SESSION_ENROLLMENT, e.id),
                recipient=Recipient(contact.name, user_id=e.learner_id),
                course=course,
                location_id=session.location_id,
                provider_id=session.provider_id,
                session_id=session.id,
                roster_id=None,
                instructor_ids=session.instructors,
                lead_instructor_id=session.lead_instructor_id,
                scope=session.enrollment_resource(e),
                email=contact.email,
                home_location_id=contact.location_id,
            )
        )
    return Success(
        Candidates(eligible, ineligible, session.resource(), course, session.location_id, session.provider_id)
    )


def _roster_candidates(uow: UnitOfWork, roster_id: UUID, only: UUID | None) -> Result[Candidates, DomainError]:
    roster = uow.rosters.get(roster_id)
    if roster is None:
        return found(None, "roster", roster_id)
    course = uow.reference.course(roster.course_id)
    if course is None:
        return found(None, "course", roster.course_id)
    eligible, ineligible = [], []
    members = [m for m in roster.members if only in (None, m.id)]
    contacts = _contacts(uow, [m.student_id for m in members], external=True)
    for m in members:
        contact = contacts.get(m.student_id, _NOBODY)
        if m.completion is not Completion.COMPLETED:
            reason = m.completion_reason or f"completion is {m.completion.value}"
            ineligible.append(Ineligible(m.id, m.student_id, contact.name, reason))
            continue
        eligible.append(
            Eligible(
                ref=CompletionRef(CompletionKind.ROSTER_MEMBER, m.id),
                recipient=Recipient(contact.name, student_id=m.student_id),
                course=course,
                location_id=roster.location_id,
                provider_id=roster.provider_id,
                session_id=None,
                roster_id=roster.id,
                instructor_ids=frozenset({roster.instructor_id}),
                lead_instructor_id=roster.instructor_id,
                scope=roster.resource(),
                email=contact.email,
                home_location_id=contact.location_id,
            )
        )
    return Success(Candidates(eligible, ineligible, roster.resource(), course, roster.location_id, roster.provider_id))


def _instructor_name(uow: UnitOfWork, instructor_id: UUID) -> str:
    profile = uow.profiles.read(instructor_id)
    return profile.display_name if profile else ""


def issue_one(
    ctx: Context, uow: UnitOfWork, actor: Actor, item: Eligible, issue_date: date, batch_id: UUID | None
) -> Result[tuple[Certificate, bool], DomainError]:
    """Issue for one completion inside ``uow``; returns the certificate and whether it is new."""
    return issue_many(ctx, uow, actor, [item], issue_date, batch_id).map(lambda issued: issued[0])


def issue_many(
    ctx: Context, uow: UnitOfWork, actor: Actor, items: Sequence[Eligible], issue_date: date, batch_id: UUID | None
) -> Result[list[tuple[Certificate, bool]], DomainError]:
    """Issue for many completions inside ``uow``: each certificate and whether it is new.

    Idempotent: a completion that already has a non-revoked certificate gets that one back.
    Recertification: the recipient's current certificates for the course are superseded.
    What issuing needs to know is asked once for all items, not once per item.
    """
    holders = {(i.recipient.person_id, i.course.id) for i in items if i.recipient.person_id is not None}
    uow.certificates.preload([i.ref for i in items], holders)
    todo = [i for i in items if uow.certificates.for_completion(i.ref) is None]
    codes = iter(fresh_codes(ctx, uow, len(todo)))
    names: dict[UUID, str] = {}
    results: list[tuple[Certificate, bool]] = []
    for item in items:
        existing = uow.certificates.for_completion(item.ref)
        if existing is not None:
            results.append((existing, False))
            continue
        if item.lead_instructor_id not in names:
            names[item.lead_instructor_id] = _instructor_name(uow, item.lead_instructor_id)
        issued = _new_certificate(
            ctx, uow, actor, item, next(codes), names[item.lead_instructor_id], issue_date, batch_id
        )
        if isinstance(issued, Failure):
            return Failure(issued.failure())
        results.append((issued.unwrap(), True))
    return Success(results)


def fresh_codes(ctx: Context, uow: UnitOfWork, count: int) -> list[VerificationCode]:
    """``count`` codes no certificate carries (a clash at 60 random bits is astronomically rare, but checked)."""
    codes = [ctx.codes.new_code() for _ in range(count)]
    for _ in range(CODE_ATTEMPTS):
        taken = uow.certificates.codes_in_use(codes)
        seen: set[str] = set()
        clashes = []
        for index, code in enumerate(codes):
            if code.canonical in taken or code.canonical in seen:
                clashes.append(index)
            seen.add(code.canonical)
        if not clashes:
            return codes
        for index in clashes:
            codes[index] = ctx.codes.new_code()
    raise RuntimeError("could not draw unused verification codes: the code source is not random")


def _new_certificate(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    item: Eligible,
    code: VerificationCode,
    instructor_name: str,
    issue_date: date,
    batch_id: UUID | None,
) -> Result[Certificate, DomainError]:
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
        instructor_name=instructor_name,
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
    notify(ctx, uow, certificate, Category.CERTIFICATE_ISSUED, item.email, item.home_location_id, now, fresh=True)
    return Success(certificate)


def notify(
    ctx: Context,
    uow: UnitOfWork,
    certificate: Certificate,
    category: Category,
    email: str,
    location_id: UUID | None,
    now: datetime,
    extra: Mapping[str, str] | None = None,
    fresh: bool = False,
) -> bool:
    """Tell the certificate's holder, once per (category, certificate, occasion); e-mail queued with it.

    ``fresh``: the certificate is new in this unit of work, so its notice cannot exist yet.
    """
    extra = extra or {}
    occasion = extra.get("occasion", "")
    context = {
        "recipient_name": certificate.recipient.name,
        "course_name": certificate.course_name,
        "issue_date": certificate.issue_date.isoformat(),
        "expiry_date": certificate.expiry_date.isoformat(),
        "code": certificate.code.display,
        "verify_url": ctx.verify_url(certificate.code.display),
        **{k: v for k, v in extra.items() if k != "occasion"},
    }
    title, message = _TEXT[category]
    notification = Notification(
        id=ctx.ids.new_id(),
        category=category,
        title=title.format(**context),
        message=message.format(**context),
        dedupe_key=f"{category.value}:{certificate.id}:{occasion}",
        created_at=now,
        user_id=certificate.recipient.user_id,
        student_id=certificate.recipient.student_id,
        email=email,
        location_id=location_id or certificate.location_id,
        context=context,
    )
    created = Notification.create(notification, now)
    if fresh:
        uow.notifications.queue(created)
        return True
    return uow.notifications.add(created)


_TEXT = {
    Category.CERTIFICATE_ISSUED: ("Certificate issued", "Your {course_name} certificate is valid until {expiry_date}."),
    Category.CERTIFICATE_REVOKED: ("Certificate revoked", "Your {course_name} certificate ({code}) was revoked."),
    Category.RECERTIFICATION_REMINDER: (
        "Recertification due",
        "Your {course_name} certificate expires on {expiry_date}. Upcoming sessions: {sessions}",
    ),
}


@attrs.frozen
class IssueCertificateHandler:
    ctx: Context

    def __call__(self, actor: Actor, cmd: commands.IssueCertificate) -> Result[Certificate, DomainError]:
        return in_transaction(self.ctx, actor, lambda uow: self._issue(uow, actor, cmd))

    def _issue(self, uow: UnitOfWork, actor: Actor, cmd: commands.IssueCertificate) -> Result[Certificate, DomainError]:
        listed = candidates(uow, cmd.kind, cmd.parent_id, only=cmd.completion_id)  # one learner, not the class
        if isinstance(listed, Failure):
            return Failure(listed.failure())
        found_ = listed.unwrap()
        item = next((e for e in found_.eligible if e.ref.id == cmd.completion_id), None)
        if item is None:
            return Failure(self._why_not(found_.ineligible, cmd.completion_id))
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
class Candidate:
    completion_id: UUID
    person_id: UUID | None
    name: str


@attrs.frozen
class BatchReport:
    """What a batch did — or, for a preview, would do."""

    batch_id: UUID | None
    total: int
    issued: int
    already_issued: int
    would_issue: tuple[Candidate, ...]
    not_eligible: tuple[Ineligible, ...]
    certificate_ids: tuple[UUID, ...]
    preview: bool = False


@attrs.frozen
class BatchIssueCertificatesHandler:
    """Certify every completed learner under a session or roster, chunk by chunk.

    The batch is recorded first (``rosters``: name, course, location, issue date,
    progress); each chunk then commits on its own, together with the batch's
    progress. Because issuing is idempotent per completion, running the batch
    again after a crash — by its id, or simply for the same session or roster,
    which finds the unfinished batch — finishes it: completions already certified
    are skipped, none is certified twice, none is missed. ``preview`` writes
    nothing and lists who would and would not get a certificate, and why.
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
        found_ = listed.unwrap()
        allowed = may(actor, Action.ISSUE_CERTIFICATE, found_.eligible[0].scope if found_.eligible else found_.scope)
        if isinstance(allowed, Failure):
            return Failure(allowed.failure())
        if cmd.preview:
            return Success(self._preview(found_))
        batch = in_transaction(self.ctx, actor, lambda uow: self._open_batch(uow, actor, cmd, found_))
        if isinstance(batch, Failure):
            return Failure(batch.failure())
        return self._run(actor, batch.unwrap(), found_, on_progress, cmd.chunk_size)

    @staticmethod
    def _preview(found_: Candidates) -> BatchReport:
        would = tuple(Candidate(e.ref.id, e.recipient.person_id, e.recipient.name) for e in found_.eligible)
        total = len(found_.eligible) + len(found_.ineligible)
        return BatchReport(None, total, 0, 0, would, tuple(found_.ineligible), (), preview=True)

    def _open_batch(
        self, uow: UnitOfWork, actor: Actor, cmd: commands.BatchIssueCertificates, found_: Candidates
    ) -> Result[CertificateBatch, DomainError]:
        batch = uow.batches.get(cmd.batch_id) if cmd.batch_id else uow.batches.running_for(cmd.kind, cmd.parent_id)
        if cmd.batch_id and batch is None:
            return found(None, "certificate batch", cmd.batch_id)
        if batch is not None:
            if (batch.source_kind, batch.source_id) != (cmd.kind, cmd.parent_id):
                return Failure(InvalidValue("batch_id", "belongs to another session or roster"))
            batch.resume(len(found_.eligible), len(found_.ineligible))
            return Success(batch)
        issue_date = cmd.issue_date or self.ctx.clock.now().date()
        batch = CertificateBatch(
            id=self.ctx.ids.new_id(),
            name=cmd.name or f"{found_.course.name} {issue_date.isoformat()}",
            source_kind=cmd.kind,
            source_id=cmd.parent_id,
            course_id=found_.course.id,
            location_id=found_.location_id,
            issue_date=issue_date,
            created_by=actor.user_id,
            provider_id=found_.provider_id,
        )
        batch.start(len(found_.eligible), len(found_.ineligible), self.ctx.clock.now())
        uow.batches.add(batch)
        return Success(batch)

    def _run(
        self,
        actor: Actor,
        batch: CertificateBatch,
        found_: Candidates,
        on_progress: Callable[[BatchProgress], None] | None,
        chunk_size: int,
    ) -> Result[BatchReport, DomainError]:
        issued = already = 0
        ids: list[UUID] = []
        eligible = found_.eligible
        for start in range(0, len(eligible), chunk_size):
            chunk = eligible[start : start + chunk_size]
            work = partial(self._chunk, actor=actor, chunk=chunk, batch=batch, done=start + len(chunk))
            outcome = in_transaction(self.ctx, actor, work)
            if isinstance(outcome, Failure):
                return Failure(outcome.failure())
            for certificate, new in outcome.unwrap():
                ids.append(certificate.id)
                issued, already = issued + new, already + (not new)
            if on_progress is not None:
                on_progress(BatchProgress(start + len(chunk), len(eligible), issued))
        finished = in_transaction(self.ctx, actor, lambda uow: self._finish(uow, batch.id, len(ids)))
        if isinstance(finished, Failure):
            return Failure(finished.failure())
        total = len(eligible) + len(found_.ineligible)
        return Success(BatchReport(batch.id, total, issued, already, (), tuple(found_.ineligible), tuple(ids)))

    def _chunk(
        self, uow: UnitOfWork, actor: Actor, chunk: list[Eligible], batch: CertificateBatch, done: int
    ) -> Result[list[tuple[Certificate, bool]], DomainError]:
        record = uow.batches.get(batch.id)
        if record is None:
            return found(None, "certificate batch", batch.id)
        outcome = issue_many(self.ctx, uow, actor, chunk, batch.issue_date, batch.id)
        if isinstance(outcome, Success):
            record.progress(done, sum(1 for _, new in outcome.unwrap() if new))
        return outcome

    def _finish(self, uow: UnitOfWork, batch_id: UUID, certificates: int) -> Result[CertificateBatch, DomainError]:
        return found(uow.batches.get(batch_id), "certificate batch", batch_id).map(
            lambda b: _complete(b, certificates, self.ctx.clock.now())
        )


def _complete(batch: CertificateBatch, certificates: int, now: datetime) -> CertificateBatch:
    batch.complete(certificates, now)
    return batch


@attrs.frozen
class ResumeBatchHandler:
    """Finish an interrupted batch with the same source and issue date."""

    batches: BatchIssueCertificatesHandler

    def __call__(
        self, actor: Actor, batch_id: UUID, on_progress: Callable[[BatchProgress], None] | None = None
    ) -> Result[BatchReport, DomainError]:
        with self.batches.ctx.uow(actor) as uow:
            batch = uow.batches.get(batch_id)
        if batch is None:
            return found(None, "certificate batch", batch_id)
        command = commands.BatchIssueCertificates(
            batch.source_kind, batch.source_id, issue_date=batch.issue_date, batch_id=batch.id, name=batch.name
        )
        return self.batches(actor, command, on_progress)


def _certificate_change(
    ctx: Context,
    actor: Actor,
    certificate_id: UUID,
    action: Action,
    change: Callable[[UnitOfWork, Certificate], Result[Certificate, DomainError]],
) -> Result[Certificate, DomainError]:
    return in_transaction(
        ctx,
        actor,
        lambda uow: found(uow.certificates.get(certificate_id), "certificate", certificate_id).bind(
            lambda c: may(actor, action, c.resource()).bind(lambda _: change(uow, c))
        ),
    )


def holder_contact(uow: UnitOfWork, certificate: Certificate) -> Contact:
    if certificate.recipient.student_id is not None:
        return _contact(uow, certificate.recipient.student_id, external=True)
    if certificate.recipient.user_id is not None:
        return _contact(uow, certificate.recipient.user_id, external=False)
    return Contact(certificate.recipient.name, "", None)


def issuer_name(uow: UnitOfWork, certificate: Certificate) -> str:
    provider = uow.reference.provider(certificate.provider_id) if certificate.provider_id else None
    location = uow.reference.location(certificate.location_id)
    return provider.name if provider else (location.name if location else "")


@attrs.frozen
class RevokeCertificateHandler:
    ctx: Context

    def __call__(self, actor: Actor, cmd: commands.RevokeCertificate) -> Result[Certificate, DomainError]:
        now = self.ctx.clock.now()

        def revoke(uow: UnitOfWork, certificate: Certificate) -> Result[Certificate, DomainError]:
            outcome = certificate.revoke(cmd.reason, actor.user_id, now)
            if isinstance(outcome, Success):
                contact = holder_contact(uow, certificate)
                revoked_on = now.date().isoformat()
                extra = {
                    "revoked_on": revoked_on,
                    "occasion": now.isoformat(),
                    "issuer_name": issuer_name(uow, certificate),
                }
                notify(
                    self.ctx,
                    uow,
                    certificate,
                    Category.CERTIFICATE_REVOKED,
                    contact.email,
                    contact.location_id,
                    now,
                    extra,
                )
            return outcome

        return _certificate_change(self.ctx, actor, cmd.certificate_id, Action.REVOKE_CERTIFICATE, revoke)


@attrs.frozen
class ReinstateCertificateHandler:
    ctx: Context

    def __call__(self, actor: Actor, cmd: commands.ReinstateCertificate) -> Result[Certificate, DomainError]:
        now = self.ctx.clock.now()
        return _certificate_change(
            self.ctx,
            actor,
            cmd.certificate_id,
            Action.REINSTATE_CERTIFICATE,
            lambda _, c: c.reinstate(actor.user_id, now),
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
