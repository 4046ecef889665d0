from collections.abc import Collection, Sequence
from datetime import date
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

    def expired_unrecorded(self, today: date, limit: int) -> Sequence[Certificate]:
        """Live certificates past their expiry date whose expiry is not yet recorded."""
        ...

    def entering_window(self, today: date, until: date, limit: int, after: UUID | None) -> Sequence[Certificate]:
        """Live certificates expiring between today and ``until``, in id order after ``after``."""
        ...

    def preload(self, completions: Collection[CompletionRef], holders: Collection[tuple[UUID, UUID]]) -> None:
        """Warm this unit of work for many issues at once: later ``for_completion`` and ``current_for`` calls
        on these keys (completion; (person, course)) are answered without another query."""
        ...

    def codes_in_use(self, codes: Collection[VerificationCode]) -> set[str]:
        """Which of these codes (canonical form) some certificate already carries."""
        ...
