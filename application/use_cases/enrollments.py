"""Enrollment, waitlist, attendance, assessment and completion."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import attrs
from returns.result import Result

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, InTransaction, found, in_transaction
from arccm.application.use_cases.sessions import load_session
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.enrollment import Enrollment
from arccm.domain.errors import DomainError
from arccm.domain.training_session import TrainingSession

Change = Callable[[UnitOfWork, TrainingSession], Result[Enrollment, DomainError]]


def _on_enrollment(
    ctx: Context, actor: Actor, session_id: UUID, enrollment_id: UUID, action: Action, change: Change
) -> Result[Enrollment, DomainError]:
    """Load the session, check the actor may act on this enrollment, apply the change, commit."""

    def work(uow: UnitOfWork) -> Result[Enrollment, DomainError]:
        return Result.do(
            changed
            for session in load_session(uow, session_id)
            for enrollment in session.enrollment(enrollment_id)
            for _ in may(actor, action, session.enrollment_resource(enrollment))
            for changed in change(uow, session)
        )

    return in_transaction(ctx, actor, work)


@attrs.frozen
class EnrollLearnerHandler(InTransaction[commands.EnrollLearner, Enrollment]):
    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.EnrollLearner) -> Result[Enrollment, DomainError]:
        now, new_id = self.ctx.clock.now(), self.ctx.ids.new_id()
        return Result.do(
            enrollment
            for _ in found(uow.profiles.exists(cmd.learner_id) or None, "learner", cmd.learner_id)
            for session in load_session(uow, cmd.session_id)
            for _ in may(actor, Action.ENROLL, session.resource())
            for enrollment in session.enroll(
                new_id, cmd.learner_id, now, join_waitlist=cmd.join_waitlist, enrolled_by=actor.user_id
            )
        )


@attrs.frozen
class CancelEnrollmentHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.CancelEnrollment) -> Result[Enrollment, DomainError]:
        return _on_enrollment(
            self.ctx,
            actor,
            cmd.session_id,
            cmd.enrollment_id,
            Action.CANCEL_ENROLLMENT,
            lambda _, s: s.cancel_enrollment(cmd.enrollment_id, self.ctx.clock.now()),
        )


@attrs.frozen
class RecordAttendanceHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.RecordAttendance) -> Result[Enrollment, DomainError]:
        return _on_enrollment(
            self.ctx,
            actor,
            cmd.session_id,
            cmd.enrollment_id,
            Action.RECORD_ATTENDANCE,
            lambda _, s: s.record_attendance(cmd.enrollment_id, cmd.attendance, self.ctx.clock.now()),
        )


@attrs.frozen
class RecordAssessmentHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.RecordAssessment) -> Result[Enrollment, DomainError]:
        return _on_enrollment(
            self.ctx,
            actor,
            cmd.session_id,
            cmd.enrollment_id,
            Action.RECORD_ASSESSMENT,
            lambda _, s: s.record_assessment(
                cmd.enrollment_id, cmd.practical_score, cmd.written_score, self.ctx.clock.now()
            ),
        )


@attrs.frozen
class CompleteEnrollmentHandler:
    """Decide completion by the course's rule (the assessor's act, so the same permission)."""

    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.CompleteEnrollment) -> Result[Enrollment, DomainError]:
        def decide(uow: UnitOfWork, session: TrainingSession) -> Result[Enrollment, DomainError]:
            return Result.do(
                decided
                for course in found(uow.reference.course(session.course_id), "course", session.course_id)
                for decided in session.complete_enrollment(cmd.enrollment_id, course.rule, self.ctx.clock.now())
            )

        return _on_enrollment(self.ctx, actor, cmd.session_id, cmd.enrollment_id, Action.RECORD_ASSESSMENT, decide)
