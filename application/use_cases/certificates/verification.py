"""Verifying a certificate by its code: anyone, anonymously."""

from __future__ import annotations

from datetime import date

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.read_models import PublicCertificate, VerificationLookup
from arccm.application.use_cases.base import Context
from arccm.application.validation import boundary
from arccm.domain.certificate import mask_name, names_match
from arccm.domain.errors import DomainError, UnknownCode
from arccm.domain.legacy import code_shape, legacy_code
from arccm.domain.verification_code import parse


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
        parsed = parse(cmd.code)
        legacy = legacy_code(cmd.code) if isinstance(parsed, Failure) else None
        if legacy is None:
            return parsed.bind(lambda code: self._answer(self.lookup.lookup(code, self._today()), cmd.recipient_name))
        # not an arccm code: perhaps one the replaced system printed, looked up as typed (docs/import.md)
        found = self.lookup.lookup_legacy(legacy, self._today())
        if found is None and code_shape(legacy) == "other":
            return Failure(parsed.failure())  # not a legacy code's shape either: what is wrong with it as arccm's
        return self._answer(found, cmd.recipient_name)

    def _today(self) -> date:
        return self.ctx.clock.now().date()

    def _answer(
        self, hit: tuple[PublicCertificate, str] | None, supplied_name: str | None
    ) -> Result[Verification, DomainError]:
        if hit is None:
            return Failure(UnknownCode())
        public, full_name = hit
        confirmed = None if supplied_name is None else names_match(supplied_name, full_name)
        shown = full_name if confirmed else mask_name(full_name)
        return Success(Verification(attrs.evolve(public, recipient_name=shown), confirmed))
