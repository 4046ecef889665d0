"""Loading reference data and people: for imports, fixtures and demos — trusted callers only.

Everything a person does goes through a policy-checked use case; this is the
path for the data those use cases stand on (courses, locations, providers,
profiles, instructor qualifications, external learners, compliance metrics,
availability), the way a migration or an import job would load it.
"""

from __future__ import annotations

from functools import singledispatch

import attrs

from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context
from arccm.domain.compliance import ComplianceMetric
from arccm.domain.course import Course
from arccm.domain.people import AuthorizedProvider, InstructorProfile, Location, StudentProfile, UserProfile
from arccm.domain.scheduling import AvailabilityBooking

Loadable = (
    Course
    | Location
    | AuthorizedProvider
    | UserProfile
    | InstructorProfile
    | StudentProfile
    | ComplianceMetric
    | AvailabilityBooking
)


@singledispatch
def _load(item: object, uow: UnitOfWork) -> None:
    raise TypeError(f"cannot load {type(item).__name__}")


@_load.register
def _(item: Course, uow: UnitOfWork) -> None:
    uow.reference.add_course(item)


@_load.register
def _(item: Location, uow: UnitOfWork) -> None:
    uow.reference.add_location(item)


@_load.register
def _(item: AuthorizedProvider, uow: UnitOfWork) -> None:
    uow.reference.add_provider(item)


@_load.register
def _(item: UserProfile, uow: UnitOfWork) -> None:
    uow.profiles.add(item)


@_load.register
def _(item: InstructorProfile, uow: UnitOfWork) -> None:
    uow.profiles.put_instructor(item)


@_load.register
def _(item: StudentProfile, uow: UnitOfWork) -> None:
    uow.profiles.add_student(item)


@_load.register
def _(item: ComplianceMetric, uow: UnitOfWork) -> None:
    uow.compliance.add_metric(item)


@_load.register
def _(item: AvailabilityBooking, uow: UnitOfWork) -> None:
    uow.availability.add(item)


@attrs.frozen
class Bootstrap:
    ctx: Context

    def load(self, *items: Loadable) -> None:
        """Write all items in one transaction."""
        with self.ctx.uow(None) as uow:
            for item in items:
                _load(item, uow)
            uow.commit()
