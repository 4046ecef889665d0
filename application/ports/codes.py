from typing import Protocol

from arccm.domain.verification_code import VerificationCode


class CodeSource(Protocol):
    """Fresh verification codes from a cryptographically secure generator."""

    def new_code(self) -> VerificationCode: ...
