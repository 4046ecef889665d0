from types import TracebackType
from typing import Protocol, Self

from arccm.application.ports.availability_repository import AvailabilityRepository
from arccm.application.ports.batch_repository import CertificateBatchRepository
from arccm.application.ports.certificate_repository import CertificateRepository
from arccm.application.ports.compliance_repository import ComplianceRepository
from arccm.application.ports.notification_repository import NotificationRepository
from arccm.application.ports.profile_repository import ProfileRepository
from arccm.application.ports.reference_repository import ReferenceRepository
from arccm.application.ports.roster_repository import RosterRepository
from arccm.application.ports.session_repository import SessionRepository
from arccm.application.ports.team_repository import TeamRepository
from arccm.domain.access import Actor


class Retryable(Exception):
    """The unit of work lost a race the database resolved by aborting it (deadlock, serialization failure); running
    it again from the start is the right answer.  Adapters raise it in place of their driver's error."""


class InvariantConflict(Exception):
    """A concurrent unit of work committed first and this one would break an invariant the database holds (one live
    certificate per completion, …): the loser re-reads and decides again.  ``rule`` names the invariant."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


class ActorNotPermitted(PermissionError):
    """The acting user may not act or read now: inactive, under a provider that is not active, or changed (role,
    provider, locations) since the ``Actor`` was resolved.  Adapters raise it when a unit of work or a read opens;
    a use case answers it with a ``Forbidden`` failure."""


class OutOfScope(PermissionError):
    """A command named a row that exists but lies outside what the actor may read or change (the database's
    row-level security hid it); a use case answers it with a ``Forbidden`` failure."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class UnitOfWork(Protocol):
    """One database transaction.  Leaving the block without ``commit()`` rolls back.

    On commit, the domain events raised by every aggregate the unit of work
    loaded or added are written to the change feed in the same transaction.
    """

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def certificates(self) -> CertificateRepository: ...

    @property
    def reference(self) -> ReferenceRepository: ...

    @property
    def profiles(self) -> ProfileRepository: ...

    @property
    def rosters(self) -> RosterRepository: ...

    @property
    def teams(self) -> TeamRepository: ...

    @property
    def compliance(self) -> ComplianceRepository: ...

    @property
    def availability(self) -> AvailabilityRepository: ...

    @property
    def batches(self) -> CertificateBatchRepository: ...

    @property
    def notifications(self) -> NotificationRepository: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work acting as ``actor`` (None: a trusted system job such as an import)."""

    def __call__(self, actor: Actor | None) -> UnitOfWork: ...
