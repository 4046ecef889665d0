from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Protocol
from uuid import UUID

from arccm.domain.certificate import Certificate, CompletionRef
from arccm.domain.verification_code import VerificationCode

Holder = tuple[UUID, UUID]  # (person, course)


class CertificateRepository(Protocol):
    """Certificates.  Methods named ``…_for_update`` hold what they return until the unit of work ends;
    ``find`` and ``by_code`` read without holding anything."""

    def find(self, certificate_id: UUID) -> Certificate | None: ...

    def get_for_update(self, certificate_id: UUID) -> Certificate | None: ...

    def by_code(self, code: VerificationCode) -> Certificate | None: ...

    def live_for_update(self, completions: Collection[CompletionRef]) -> Mapping[CompletionRef, Certificate]:
        """The non-revoked certificate attesting each completion that has one."""
        ...

    def current_for_update(self, holders: Collection[Holder]) -> Mapping[Holder, Sequence[Certificate]]:
        """Each holder's current (neither revoked nor superseded) certificates for the course.

        Holds every named (person, course) — not only those that have a certificate yet — so two units of work
        certifying the same person for the same course take turns, whichever sessions they issue from."""
        ...

    def add(self, certificate: Certificate) -> None: ...

    def expired_unrecorded(self, today: date, limit: int) -> Sequence[Certificate]:
        """Current certificates past their expiry date whose expiry is not yet recorded (skipping those another
        unit of work holds)."""
        ...

    def entering_window(self, today: date, until: date, limit: int, after: UUID | None) -> Sequence[Certificate]:
        """Current certificates expiring between today and ``until``, in id order after ``after``."""
        ...

    def codes_in_use(self, codes: Collection[VerificationCode]) -> set[str]:
        """Which of these codes (canonical form) some certificate already carries."""
        ...
