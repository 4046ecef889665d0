"""Scheduling and changing training sessions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, found, in_transaction
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.course import Course
from arccm.domain.errors import DomainError, ExceedsInstructorMaximum
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
    lead = load_staff(uow, lead_id)
    if isinstance(lead, Failure):
        return Failure(lead.failure())
    assistants = []
    for assistant_id in sorted(assistant_ids):
        assistant = load_staff(uow, assistant_id)
        if isinstance(assistant, Failure):
            return Failure(assistant.failure())
        assistants.append(assistant.unwrap())
    plan = StaffingPlan(course, lead.unwrap(), assistants, window[0], window[1], max_capacity, session_id)
    staff_ids = {lead_id, *assistant_ids}
    return check_staffing(
        plan,
        uow.sessions.taught_by_for_update(staff_ids, window[0], window[1]),
        uow.availability.overlapping(staff_ids, window[0], window[1]),
    )


@attrs.frozen
class ScheduleSessionHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.ScheduleSession) -> Result[TrainingSession, DomainError]:
        return in_transaction(self.ctx, actor, lambda uow: self._schedule(uow, actor, cmd))

    def _schedule(
        self, uow: UnitOfWork, actor: Actor, cmd: commands.ScheduleSession
    ) -> Result[TrainingSession, DomainError]:
        course = found(uow.reference.course(cmd.course_id), "course", cmd.course_id)
        location = found(uow.reference.location(cmd.location_id), "location", cmd.location_id)
        if isinstance(course, Failure) or isinstance(location, Failure):
            return Failure(course.failure() if isinstance(course, Failure) else location.failure())
        provider = uow.reference.provider_of_location(cmd.location_id)
        session = TrainingSession(
            id=self.ctx.ids.new_id(),
            course_id=cmd.course_id,
            title=cmd.title if cmd.title.strip() else course.unwrap().name,
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
        now = self.ctx.clock.now()
        outcome = (
            may(actor, Action.SCHEDULE_SESSION, session.resource())
            .bind(lambda _: TrainingSession.schedule(session, now))
            .bind(
                lambda s: check_plan(
                    uow,
                    course.unwrap(),
                    s.lead_instructor_id,
                    s.assistant_ids,
                    (s.starts_at, s.ends_at),
                    s.max_capacity,
                )
            )
        )
        if isinstance(outcome, Failure):
            return Failure(outcome.failure())
        uow.sessions.add(session)
        return Success(session)


def _editable(
    uow: UnitOfWork, actor: Actor, session_id: UUID, expected_version: int | None, action: Action
) -> Result[TrainingSession, DomainError]:
    return load_session(uow, session_id).bind(
        lambda s: may(actor, action, s.resource()).bind(lambda _: s.check_version(expected_version)).map(lambda _: s)
    )


@attrs.frozen
class RescheduleSessionHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.RescheduleSession) -> Result[TrainingSession, DomainError]:
        return in_transaction(self.ctx, actor, lambda uow: self._reschedule(uow, actor, cmd))

    def _reschedule(
        self, uow: UnitOfWork, actor: Actor, cmd: commands.RescheduleSession
    ) -> Result[TrainingSession, DomainError]:
        session = _editable(uow, actor, cmd.session_id, cmd.expected_version, Action.CHANGE_SESSION)
        if isinstance(session, Failure):
            return session
        s = session.unwrap()
        course = found(uow.reference.course(s.course_id), "course", s.course_id)
        return course.bind(
            lambda c: check_plan(
                uow, c, s.lead_instructor_id, s.assistant_ids, (cmd.starts_at, cmd.ends_at), s.max_capacity, s.id
            )
        ).bind(lambda _: s.reschedule(cmd.starts_at, cmd.ends_at, self.ctx.clock.now()))


@attrs.frozen
class ChangeCapacityHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.ChangeCapacity) -> Result[TrainingSession, DomainError]:
        return in_transaction(self.ctx, actor, lambda uow: self._change(uow, actor, cmd))

    def _change(
        self, uow: UnitOfWork, actor: Actor, cmd: commands.ChangeCapacity
    ) -> Result[TrainingSession, DomainError]:
        session = _editable(uow, actor, cmd.session_id, cmd.expected_version, Action.CHANGE_SESSION)
        if isinstance(session, Failure):
            return session
        s = session.unwrap()
        lead = uow.profiles.instructor(s.lead_instructor_id)
        if lead is not None and cmd.max_capacity > lead.max_students_per_session:
            return Failure(ExceedsInstructorMaximum(lead.user_id, cmd.max_capacity, lead.max_students_per_session))
        return s.change_capacity(cmd.max_capacity, self.ctx.clock.now())


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
