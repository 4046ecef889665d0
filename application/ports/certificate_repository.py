from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from arccm.domain.certificate import Certificate, CompletionRef
from arccm.domain.verification_code import VerificationCode


class CertificateRepository(Protocol):
    def get(self, certificate_id: UUID) -> Certificate | None: ...

    def by_code(self, code: VerificationCode) -> Certificate | None: ...

    def for_completion(self, completion: CompletionRef) -> Certificate | None:
        """The non-revoked certificate attesting this completion, if any."""
        ...

    def current_for(self, person_id: UUID, course_id: UUID) -> Sequence[Certificate]:
        """Non-revoked, non-superseded certificates a person holds for a course."""
        ...

    def add(self, certificate: Certificate) -> None: ...
