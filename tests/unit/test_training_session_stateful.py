"""Random schedules of enroll / waitlist / cancel / capacity changes against a simple model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from returns.result import Failure, Success

from arccm.domain.enrollment import EnrollmentStatus
from arccm.domain.errors import AlreadyEnrolled, CapacityBelowSeatsTaken, EnrollmentNotActive, SessionFull
from arccm.domain.events import (
    EnrollmentCancelled,
    LearnerEnrolled,
    LearnerWaitlisted,
    SessionChanged,
    WaitlistPromoted,
)
from arccm.domain.training_session import TrainingSession

LEARNERS = [uuid.UUID(int=i + 1) for i in range(12)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class SessionMachine(RuleBasedStateMachine):
    """The model: an ordered list of seated learners and an ordered waitlist."""

    def __init__(self) -> None:
        super().__init__()
        self.tick = 0
        self.session = TrainingSession(
            id=uuid.uuid4(),
            course_id=uuid.uuid4(),
            title="t",
            location_id=uuid.uuid4(),
            lead_instructor_id=uuid.uuid4(),
            starts_at=T0 + timedelta(days=30),
            ends_at=T0 + timedelta(days=30, hours=4),
            max_capacity=3,
        )
        self.capacity = 3
        self.seated: list[uuid.UUID] = []
        self.waiting: list[uuid.UUID] = []

    def now(self) -> datetime:
        self.tick += 1
        return T0 + timedelta(seconds=self.tick)

    def _model_promote(self) -> None:
        while len(self.seated) < self.capacity and self.waiting:
            self.seated.append(self.waiting.pop(0))

    @rule(learner=st.sampled_from(LEARNERS), join_waitlist=st.booleans())
    def enroll(self, learner: uuid.UUID, join_waitlist: bool) -> None:
        outcome = self.session.enroll(uuid.uuid4(), learner, self.now(), join_waitlist=join_waitlist)
        if learner in self.seated or learner in self.waiting:
            assert outcome == Failure(AlreadyEnrolled(self.session.id, learner))
        elif len(self.seated) < self.capacity:
            assert isinstance(outcome, Success)
            assert outcome.unwrap().status is EnrollmentStatus.ENROLLED
            self.seated.append(learner)
        elif join_waitlist:
            assert isinstance(outcome, Success)
            assert outcome.unwrap().waitlist_position == len(self.waiting) + 1
            self.waiting.append(learner)
        else:
            assert outcome == Failure(SessionFull(self.session.id, self.capacity))

    @rule(learner=st.sampled_from(LEARNERS))
    def cancel(self, learner: uuid.UUID) -> None:
        enrollment = self.session.active_enrollment_of(learner)
        if enrollment is None:
            return
        assert isinstance(self.session.cancel_enrollment(enrollment.id, self.now()), Success)
        if learner in self.seated:
            self.seated.remove(learner)
        else:
            self.waiting.remove(learner)
        self._model_promote()
        again = self.session.cancel_enrollment(enrollment.id, self.now())
        assert again == Failure(EnrollmentNotActive(enrollment.id))

    @rule(capacity=st.integers(min_value=-1, max_value=8))
    def change_capacity(self, capacity: int) -> None:
        outcome = self.session.change_capacity(capacity, self.now())
        if capacity < 1:
            assert isinstance(outcome, Failure)
        elif capacity < len(self.seated):
            assert outcome == Failure(CapacityBelowSeatsTaken(capacity, len(self.seated)))
        else:
            assert isinstance(outcome, Success)
            self.capacity = capacity
            self._model_promote()

    @invariant()
    def seats_never_exceed_capacity(self) -> None:
        assert 1 <= self.session.max_capacity == self.capacity
        assert self.session.seats_taken <= self.session.max_capacity

    @invariant()
    def state_matches_model(self) -> None:
        seated = [e.learner_id for e in self.session.enrollments if e.status is EnrollmentStatus.ENROLLED]
        assert sorted(seated) == sorted(self.seated)
        assert [e.learner_id for e in self.session.waitlist] == self.waiting

    @invariant()
    def waitlist_positions_are_one_to_n_in_arrival_order(self) -> None:
        waitlist = self.session.waitlist
        assert [e.waitlist_position for e in waitlist] == list(range(1, len(waitlist) + 1))
        arrivals = [e.enrolled_at for e in waitlist]
        assert arrivals == sorted(arrivals)

    @invariant()
    def nobody_waits_while_a_seat_is_free(self) -> None:
        assert not self.session.waitlist or self.session.seats_taken == self.session.max_capacity

    @invariant()
    def one_active_enrollment_per_learner(self) -> None:
        active = [e.learner_id for e in self.session.enrollments if e.is_active]
        assert len(active) == len(set(active))

    @invariant()
    def events_replay_to_the_same_state(self) -> None:
        seated: list[uuid.UUID] = []
        waiting: list[uuid.UUID] = []
        capacity_changes = 0
        for event in self.session.events:
            if isinstance(event, LearnerEnrolled):
                seated.append(event.learner_id)
            elif isinstance(event, LearnerWaitlisted):
                assert event.position == len(waiting) + 1
                waiting.append(event.learner_id)
            elif isinstance(event, WaitlistPromoted):
                assert waiting[0] == event.learner_id
                seated.append(waiting.pop(0))
            elif isinstance(event, EnrollmentCancelled):
                assert event.freed_seat == (event.learner_id in seated)
                (seated if event.freed_seat else waiting).remove(event.learner_id)
            elif isinstance(event, SessionChanged):
                capacity_changes += 1
        assert sorted(seated) == sorted(self.seated)
        assert waiting == self.waiting
        assert self.session.version == 1 + capacity_changes


TestSessionMachine = SessionMachine.TestCase
TestSessionMachine.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
