"""Revoking and reinstating certificates."""

from __future__ import annotations

from uuid import UUID

import attrs
from returns.result import Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, InTransaction, found, in_transaction
from arccm.application.use_cases.certificates.notices import holder_contact, issuer_name, notice
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.certificate import Certificate, keep_one_current
from arccm.domain.errors import DomainError
from arccm.domain.notification import Category


@attrs.frozen
class RevokeCertificateHandler(InTransaction[commands.RevokeCertificate, Certificate]):
    """Revoke with a reason; the holder is told (notice and e-mail)."""

    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.RevokeCertificate) -> Result[Certificate, DomainError]:
        now = self.ctx.clock.now()
        return Result.do(
            self._tell(uow, revoked)
            for certificate in found(
                uow.certificates.get_for_update(cmd.certificate_id), "certificate", cmd.certificate_id
            )
            for _ in may(actor, Action.REVOKE_CERTIFICATE, certificate.resource())
            for revoked in certificate.revoke(cmd.reason, actor.user_id, now)
        )

    def _tell(self, uow: UnitOfWork, certificate: Certificate) -> Certificate:
        revocation = certificate.revocation
        assert revocation is not None  # just revoked
        extra = {
            "revoked_on": revocation.revoked_at.date().isoformat(),
            "occasion": revocation.revoked_at.isoformat(),
            "issuer_name": issuer_name(uow, certificate),
        }
        holder = holder_contact(uow, certificate)
        uow.notifications.add(
            notice(self.ctx, certificate, Category.CERTIFICATE_REVOKED, holder, revocation.revoked_at, extra)
        )
        return certificate


@attrs.frozen
class ReinstateCertificateHandler:
    """Undo a revocation (SA, AD).  Refused when the completion was certified again since; when the holder has
    been certified for the course from elsewhere meanwhile, the newer of the two stays current."""

    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.ReinstateCertificate) -> Result[Certificate, DomainError]:
        return in_transaction(self.ctx, actor, lambda uow: self._reinstate(uow, actor, cmd.certificate_id))

    def _reinstate(self, uow: UnitOfWork, actor: Actor, certificate_id: UUID) -> Result[Certificate, DomainError]:
        now = self.ctx.clock.now()
        return Result.do(
            settled
            for seen in found(uow.certificates.find(certificate_id), "certificate", certificate_id)
            for _ in may(actor, Action.REINSTATE_CERTIFICATE, seen.resource())
            # the holder first, then the row: the order issuing takes them in
            for current in _success(self._current(uow, seen))
            for certificate in found(uow.certificates.get_for_update(certificate_id), "certificate", certificate_id)
            for reinstated in certificate.reinstate(
                actor.user_id,
                now,
                uow.certificates.live_for_update([certificate.completion]).get(certificate.completion),
            )
            for settled in keep_one_current(reinstated, current, now)
        )

    @staticmethod
    def _live(uow: UnitOfWork, certificate: Certificate) -> Certificate | None:
        return uow.certificates.live_for_update([certificate.completion]).get(certificate.completion)

    @staticmethod
    def _current(uow: UnitOfWork, certificate: Certificate) -> list[Certificate]:
        person = certificate.recipient.person_id
        if person is None:
            return []
        holder = (person, certificate.course_id)
        return list(uow.certificates.current_for_update([holder]).get(holder, ()))


def _success(value: list[Certificate]) -> Result[list[Certificate], DomainError]:
    return Success(value)
