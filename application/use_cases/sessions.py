"""Scheduling and changing training sessions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, InTransaction, found, in_transaction
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.course import Course
from arccm.domain.errors import DomainError
from arccm.domain.scheduling import Staff, StaffingPlan, check_staffing
from arccm.domain.training_session import TrainingSession


def load_staff(uow: UnitOfWork, user_id: UUID) -> Result[Staff, DomainError]:
    profile = uow.profiles.find(user_id)
    qualification = uow.profiles.instructor(user_id)
    if profile is None or qualification is None:
        return found(None, "instructor", user_id)
    return Success(Staff(profile, qualification))


def load_session(uow: UnitOfWork, session_id: UUID) -> Result[TrainingSession, DomainError]:
    return found(uow.sessions.get_for_update(session_id), "session", session_id)


def check_plan(
    uow: UnitOfWork,
    course: Course,
    lead_id: UUID,
    assistant_ids: Iterable[UUID],
    window: tuple[datetime, datetime],
    max_capacity: int,
    session_id: UUID | None = None,
) -> Result[None, DomainError]:
    """Staffing rules for a lead, assistants and a window: qualifications, double booking, availability."""
    staff_ids = {lead_id, *assistant_ids}
    return Result.do(
        checked
        for lead in load_staff(uow, lead_id)
        for assistants in _all_staff(uow, sorted(assistant_ids))
        for checked in check_staffing(
            StaffingPlan(course, lead, assistants, window[0], window[1], max_capacity, session_id),
            uow.sessions.taught_by_for_update(staff_ids, window[0], window[1]),
            uow.availability.overlapping(staff_ids, window[0], window[1]),
        )
    )


def _all_staff(uow: UnitOfWork, user_ids: list[UUID]) -> Result[list[Staff], DomainError]:
    staff: list[Staff] = []
    for user_id in user_ids:
        one = load_staff(uow, user_id)
        if isinstance(one, Failure):
            return one.map(lambda _: staff)
        staff.append(one.unwrap())
    return Success(staff)


@attrs.frozen
class ScheduleSessionHandler(InTransaction[commands.ScheduleSession, TrainingSession]):
    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.ScheduleSession) -> Result[TrainingSession, DomainError]:
        now = self.ctx.clock.now()
        return Result.do(
            _added(uow, scheduled)
            for course in found(uow.reference.course(cmd.course_id), "course", cmd.course_id)
            for _ in found(uow.reference.location(cmd.location_id), "location", cmd.location_id)
            for session in Success(self._session(uow, actor, cmd, course))
            for _ in may(actor, Action.SCHEDULE_SESSION, session.resource())
            for scheduled in TrainingSession.schedule(session, now)
            for _ in check_plan(
                uow,
                course,
                session.lead_instructor_id,
                session.assistant_ids,
                (session.starts_at, session.ends_at),
                session.max_capacity,
            )
        )

    def _session(self, uow: UnitOfWork, actor: Actor, cmd: commands.ScheduleSession, course: Course) -> TrainingSession:
        provider = uow.reference.provider_of_location(cmd.location_id)
        return TrainingSession(
            id=self.ctx.ids.new_id(),
            course_id=cmd.course_id,
            title=cmd.title if cmd.title.strip() else course.name,
            location_id=cmd.location_id,
            lead_instructor_id=cmd.lead_instructor_id,
            starts_at=cmd.starts_at,
            ends_at=cmd.ends_at,
            max_capacity=cmd.max_capacity,
            provider_id=provider.id if provider else None,
            assistant_ids=cmd.assistant_ids,
            allow_waitlist=cmd.allow_waitlist,
            created_by=actor.user_id,
        )


def _added(uow: UnitOfWork, session: TrainingSession) -> TrainingSession:
    uow.sessions.add(session)
    return session


def _editable(
    uow: UnitOfWork, actor: Actor, session_id: UUID, expected_version: int | None, action: Action
) -> Result[TrainingSession, DomainError]:
    return Result.do(
        session
        for session in load_session(uow, session_id)
        for _ in may(actor, action, session.resource())
        for _ in session.check_version(expected_version)
    )


@attrs.frozen
class RescheduleSessionHandler(InTransaction[commands.RescheduleSession, TrainingSession]):
    ctx: Context

    def run(
        self, uow: UnitOfWork, actor: Actor, cmd: commands.RescheduleSession
    ) -> Result[TrainingSession, DomainError]:
        window = (cmd.starts_at, cmd.ends_at)
        return Result.do(
            rescheduled
            for s in _editable(uow, actor, cmd.session_id, cmd.expected_version, Action.CHANGE_SESSION)
            for course in found(uow.reference.course(s.course_id), "course", s.course_id)
            for _ in check_plan(uow, course, s.lead_instructor_id, s.assistant_ids, window, s.max_capacity, s.id)
            for rescheduled in s.reschedule(cmd.starts_at, cmd.ends_at, self.ctx.clock.now())
        )


@attrs.frozen
class ChangeCapacityHandler(InTransaction[commands.ChangeCapacity, TrainingSession]):
    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.ChangeCapacity) -> Result[TrainingSession, DomainError]:
        return Result.do(
            changed
            for s in _editable(uow, actor, cmd.session_id, cmd.expected_version, Action.CHANGE_SESSION)
            for changed in s.change_capacity(
                cmd.max_capacity, self.ctx.clock.now(), uow.profiles.instructor(s.lead_instructor_id)
            )
        )


@attrs.frozen
class CancelSessionHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.CancelSession) -> Result[TrainingSession, DomainError]:
        return in_transaction(
            self.ctx,
            actor,
            lambda uow: _editable(uow, actor, cmd.session_id, cmd.expected_version, Action.CANCEL_SESSION).bind(
                lambda s: s.cancel(cmd.reason, self.ctx.clock.now())
            ),
        )


@attrs.frozen
class StartSessionHandler:
    """Open the class.  Whoever may record its attendance may open and close it."""

    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.StartSession) -> Result[TrainingSession, DomainError]:
        return in_transaction(
            self.ctx,
            actor,
            lambda uow: _editable(uow, actor, cmd.session_id, None, Action.RECORD_ATTENDANCE).bind(
                lambda s: s.start(self.ctx.clock.now())
            ),
        )


@attrs.frozen
class CompleteSessionHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.CompleteSession) -> Result[TrainingSession, DomainError]:
        return in_transaction(
            self.ctx,
            actor,
            lambda uow: _editable(uow, actor, cmd.session_id, None, Action.RECORD_ATTENDANCE).bind(
                lambda s: s.complete(self.ctx.clock.now())
            ),
        )
