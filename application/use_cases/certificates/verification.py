"""Verifying a certificate by its code: anyone, anonymously."""

from __future__ import annotations

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.read_models import PublicCertificate, VerificationLookup
from arccm.application.use_cases.base import Context
from arccm.application.validation import boundary
from arccm.domain.certificate import mask_name, names_match
from arccm.domain.errors import DomainError, UnknownCode
from arccm.domain.verification_code import VerificationCode, parse


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

    @boundary
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
