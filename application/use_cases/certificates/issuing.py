"""Issuing certificates: one completion at a time, or many in one unit of work.

Concurrency: issuing holds each (holder, course) it certifies — through
``current_for_update`` — before it looks at existing certificates, so two units
of work certifying one person for one course take turns whatever session,
roster or batch they come from; the database's partial unique indexes (one live
certificate per completion, one current certificate per holder and course)
back this up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, InTransaction
from arccm.application.use_cases.certificates.eligibility import Candidates, Eligible, candidates, why_not
from arccm.application.use_cases.certificates.notices import notice
from arccm.domain.access import Action, Actor, may
from arccm.domain.certificate import Certificate, CompletionKind, keep_one_current
from arccm.domain.errors import DomainError, NotCompleted
from arccm.domain.notification import Category
from arccm.domain.verification_code import VerificationCode

CODE_ATTEMPTS = 5


@attrs.frozen
class Issued:
    certificate: Certificate
    new: bool  # False: the completion already had this certificate (issuing is idempotent)


def issue_many(
    ctx: Context, uow: UnitOfWork, actor: Actor, items: Sequence[Eligible], issue_date: date, batch_id: UUID | None
) -> Result[list[Issued], DomainError]:
    """Issue for many completions inside ``uow``, in their order.

    Idempotent: a completion that already has a live certificate gets that one back.
    Recertification: the holder keeps one current certificate per course (the newest).
    What issuing needs to know is asked once for all items, not once per item.
    """
    holders = {(person, i.course.id) for i in items if (person := i.recipient.person_id) is not None}
    current = uow.certificates.current_for_update(holders)
    live = uow.certificates.live_for_update([i.ref for i in items])
    codes = iter(fresh_codes(ctx, uow, sum(1 for i in items if i.ref not in live)))
    names = _instructor_names(uow, {i.source.lead_instructor_id for i in items if i.ref not in live})
    issued: list[Issued] = []
    now = ctx.clock.now()
    for item in items:
        if item.ref in live:
            issued.append(Issued(live[item.ref], new=False))
            continue
        made = Certificate.issue(
            id=ctx.ids.new_id(),
            code=next(codes),
            completion=item.ref,
            recipient=item.recipient,
            course_id=item.course.id,
            course_name=item.course.name,
            validity_months=item.course.validity_months,
            location_id=item.source.location_id,
            issued_by=actor.user_id,
            issue_date=issue_date,
            now=now,
            provider_id=item.source.provider_id,
            session_id=item.source.id if item.source.kind is CompletionKind.SESSION_ENROLLMENT else None,
            roster_id=item.source.id if item.source.kind is CompletionKind.ROSTER_MEMBER else None,
            instructor_ids=item.source.instructor_ids,
            instructor_name=names.get(item.source.lead_instructor_id, ""),
            lead_instructor_id=item.source.lead_instructor_id,
            batch_id=batch_id,
        )
        if isinstance(made, Failure):
            return Failure(made.failure())
        certificate = made.unwrap()
        person = item.recipient.person_id
        if person is not None:
            holder = (person, item.course.id)
            settled = keep_one_current(certificate, current.get(holder, ()), now)
            if isinstance(settled, Failure):
                return Failure(settled.failure())
            current = {**current, holder: [*current.get(holder, ()), certificate]}
        uow.certificates.add(certificate)
        live = {**live, item.ref: certificate}
        uow.notifications.add(notice(ctx, certificate, Category.CERTIFICATE_ISSUED, item.contact, now))
        issued.append(Issued(certificate, new=True))
    return Success(issued)


def _instructor_names(uow: UnitOfWork, instructor_ids: set[UUID]) -> dict[UUID, str]:
    return {i: p.display_name for i, p in uow.profiles.find_many(sorted(instructor_ids)).items()}


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


@attrs.frozen
class IssueCertificateHandler(InTransaction[commands.IssueCertificate, Certificate]):
    """Certify one completion: find it under its session or roster, check the actor may, issue."""

    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.IssueCertificate) -> Result[Certificate, DomainError]:
        issue_date = cmd.issue_date or self.ctx.clock.now().date()
        return Result.do(
            issued[0].certificate
            for listed in candidates(uow, cmd.kind, cmd.parent_id, only=cmd.completion_id, for_update=True)
            for item in _the_one(listed, cmd.completion_id)
            for _ in may(actor, Action.ISSUE_CERTIFICATE, item.scope)
            for issued in issue_many(self.ctx, uow, actor, [item], issue_date, cmd.batch_id)
        )


def _the_one(listed: Candidates, completion_id: UUID) -> Result[Eligible, DomainError]:
    item = next((e for e in listed.eligible if e.ref.id == completion_id), None)
    if item is None:
        return Failure(NotCompleted(completion_id, why_not(listed, completion_id)))
    return Success(item)
