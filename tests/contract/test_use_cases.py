"""Every use case, through the container, on every adapter."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from returns.result import Failure, Success

from arccm.adapters.container import Container
from arccm.adapters.system import RandomIds
from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from arccm.application.use_cases.certificates import BatchProgress
from arccm.domain.access import Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.compliance import ComplianceMetric, RecordStatus
from arccm.domain.enrollment import Attendance, Completion, EnrollmentStatus
from arccm.domain.errors import (
    AlreadyEnrolled,
    AlreadyMember,
    CapacityBelowSeatsTaken,
    CompletionAlreadyCertified,
    Forbidden,
    InvalidValue,
    MistypedCode,
    NotAMember,
    NotCompleted,
    NotFound,
    SessionFull,
    StaleVersion,
    UnknownCode,
)
from arccm.domain.events import ComplianceChanged, ComplianceItemRecorded
from arccm.domain.scheduling import AvailabilityBooking
from arccm.domain.training_session import SessionStatus
from arccm.domain.verification_code import encode
from tests.world import NOW, World, ok

MakeContainer = Callable[[], Container]


@pytest.fixture
def world(make_container: MakeContainer) -> World:
    return World.create(make_container())


@attrs.define
class Org:
    world: World
    provider: object
    ap: object
    ic: object
    ip: object
    learners: list  # type: ignore[type-arg]


@pytest.fixture
def org(world: World) -> Org:
    provider = world.provider()
    return Org(
        world,
        provider,
        world.user(Role.AP, provider),
        world.user(Role.IC, provider),
        world.user(Role.IP, provider),
        [world.user(Role.IN) for _ in range(6)],
    )


def enroll(org: Org, session_id: uuid.UUID, learner_index: int, waitlist: bool = True):  # type: ignore[no-untyped-def]
    command = c.EnrollLearner(session_id, org.learners[learner_index].user_id, waitlist)
    return org.world.container.enroll_learner()(org.ap, command)


# --- sessions ----------------------------------------------------------------------


def test_schedule_validates_input_naming_the_field(org: Org) -> None:
    w = org.world
    start = NOW + timedelta(days=3)
    base = c.ScheduleSession(w.course.id, w.locations[0].id, org.ic.user_id, "x", start, start + timedelta(hours=2), 10)
    schedule = w.container.schedule_session()
    assert schedule(org.ap, attrs.evolve(base, max_capacity=0)) == Failure(
        InvalidValue("max_capacity", "must be at least 1")
    )
    assert schedule(org.ap, attrs.evolve(base, ends_at=start)) == Failure(
        InvalidValue("ends_at", "must be after starts_at")
    )
    naive = attrs.evolve(base, starts_at=start.replace(tzinfo=None))
    assert schedule(org.ap, naive) == Failure(InvalidValue("starts_at", "must be timezone-aware"))
    assert schedule(org.ap, attrs.evolve(base, course_id=uuid.uuid4())).failure().code == "not_found"
    assert w.container.read_models().sessions(w.admin) == []


def test_an_instructor_cannot_be_double_booked_or_scheduled_over_blocked_time(org: Org) -> None:
    w = org.world
    first = w.session(org.ap, org.ic)
    clash = w.container.schedule_session()(
        org.ap,
        c.ScheduleSession(
            w.course.id,
            w.locations[0].id,
            org.ic.user_id,
            "x",
            first.starts_at + timedelta(hours=1),
            first.ends_at + timedelta(hours=1),
            5,
        ),
    )
    assert clash.failure().code == "instructor_double_booked"
    blocked_from = NOW + timedelta(days=20)
    w.container.bootstrap().load(
        AvailabilityBooking(uuid.uuid4(), org.ip.user_id, blocked_from, blocked_from + timedelta(days=1))
    )
    over_block = w.container.schedule_session()(
        org.ap,
        c.ScheduleSession(
            w.course.id,
            w.locations[0].id,
            org.ip.user_id,
            "x",
            blocked_from + timedelta(hours=2),
            blocked_from + timedelta(hours=5),
            5,
        ),
    )
    assert over_block.failure().code == "availability_conflict"


def test_reschedule_with_a_stale_version_fails_cleanly(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic)
    later = session.starts_at + timedelta(days=1)
    moved = ok(
        w.container.reschedule_session()(org.ap, c.RescheduleSession(session.id, later, later + timedelta(hours=3), 1))
    )
    assert moved.version == 2
    stale = w.container.change_capacity()(org.ap, c.ChangeCapacity(session.id, 5, expected_version=1))
    assert stale == Failure(StaleVersion(1, 2))
    assert ok(w.container.change_capacity()(org.ap, c.ChangeCapacity(session.id, 5, expected_version=2))).version == 3


def test_capacity_never_drops_below_seats_taken_and_growth_promotes(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic, capacity=2)
    for i in range(4):
        ok(enroll(org, session.id, i))
    change = w.container.change_capacity()
    assert change(org.ap, c.ChangeCapacity(session.id, 1)) == Failure(CapacityBelowSeatsTaken(1, 2))
    grown = ok(change(org.ap, c.ChangeCapacity(session.id, 3)))
    assert grown.seats_taken == 3
    assert [e.learner_id for e in grown.waitlist] == [org.learners[3].user_id]
    assert grown.waitlist[0].waitlist_position == 1


def test_cancelling_a_session_cancels_its_enrollments(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic, capacity=1)
    ok(enroll(org, session.id, 0))
    ok(enroll(org, session.id, 1))
    assert w.container.cancel_session()(org.ap, c.CancelSession(session.id, " ")).failure() == InvalidValue(
        "reason", "must not be blank"
    )
    cancelled = ok(w.container.cancel_session()(org.ap, c.CancelSession(session.id, "venue flooded")))
    assert cancelled.status is SessionStatus.CANCELLED
    assert all(e.status is EnrollmentStatus.CANCELLED for e in cancelled.enrollments)
    assert enroll(org, session.id, 2).failure().code == "invalid_transition"


# --- enrollment -------------------------------------------------------------------------


def test_enroll_waitlist_and_promotion_in_order(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic, capacity=2)
    statuses = [ok(enroll(org, session.id, i)).status for i in range(5)]
    assert statuses == [EnrollmentStatus.ENROLLED] * 2 + [EnrollmentStatus.WAITLISTED] * 3
    assert enroll(org, session.id, 0) == Failure(AlreadyEnrolled(session.id, org.learners[0].user_id))
    first = next(e for e in w.container.read_models().enrollments(org.ap) if e.learner_id == org.learners[0].user_id)
    ok(w.container.cancel_enrollment()(org.ap, c.CancelEnrollment(session.id, first.id)))
    rows = {e.learner_id: e for e in w.container.read_models().enrollments(org.ap)}
    assert rows[org.learners[2].user_id].status == "enrolled"
    assert [rows[org.learners[i].user_id].waitlist_position for i in (3, 4)] == [1, 2]


def test_enroll_without_waitlist_refuses_when_full(org: Org) -> None:
    session = org.world.session(org.ap, org.ic, capacity=1, allow_waitlist=False)
    ok(enroll(org, session.id, 0))
    assert enroll(org, session.id, 1) == Failure(SessionFull(session.id, 1))
    other = org.world.session(org.ap, org.ip, capacity=1)
    ok(enroll(org, other.id, 0))
    assert enroll(org, other.id, 1, waitlist=False) == Failure(SessionFull(other.id, 1))


def test_only_permitted_actors_enroll(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic)
    other_ap = w.user(Role.AP, w.provider())
    for actor in (org.ic, org.learners[0], other_ap):
        outcome = w.container.enroll_learner()(actor, c.EnrollLearner(session.id, org.learners[1].user_id))
        assert isinstance(outcome.failure(), Forbidden)
    unknown = w.container.enroll_learner()(org.ap, c.EnrollLearner(uuid.uuid4(), org.learners[1].user_id))
    assert isinstance(unknown.failure(), NotFound)


def test_attendance_assessment_and_completion(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic)
    passing, failing, absent = (ok(enroll(org, session.id, i)) for i in range(3))
    record = w.container.record_attendance()
    early = record(org.ic, c.RecordAttendance(session.id, passing.id, Attendance.ATTENDED))
    assert early.failure().code == "invalid_transition"
    w.clock.current = session.starts_at
    assert isinstance(w.container.start_session()(org.ip, c.StartSession(session.id)).failure(), Forbidden)
    ok(w.container.start_session()(org.ic, c.StartSession(session.id)))
    for e in (passing, failing):
        ok(record(org.ic, c.RecordAttendance(session.id, e.id, Attendance.ATTENDED)))
    ok(record(org.ic, c.RecordAttendance(session.id, absent.id, Attendance.ABSENT)))
    assess = w.container.record_assessment()
    bad = assess(org.ic, c.RecordAssessment(session.id, passing.id, Decimal(101), Decimal(50)))
    assert bad == Failure(InvalidValue("practical_score", "must be a number from 0 to 100"))
    ok(assess(org.ic, c.RecordAssessment(session.id, passing.id, Decimal(90), Decimal(85))))
    ok(assess(org.ic, c.RecordAssessment(session.id, failing.id, Decimal(95), Decimal(70))))
    ok(assess(org.ic, c.RecordAssessment(session.id, absent.id, Decimal(95), Decimal(95))))
    complete = w.container.complete_enrollment()
    results = [
        ok(complete(org.ic, c.CompleteEnrollment(session.id, e.id))).completion for e in (passing, failing, absent)
    ]
    assert results == [Completion.COMPLETED, Completion.FAILED, Completion.FAILED]
    again = ok(complete(org.ic, c.CompleteEnrollment(session.id, passing.id)))
    assert again.completion is Completion.COMPLETED


# --- certificates -----------------------------------------------------------------------


def completed_session(org: Org, learners: int = 1, scores: tuple[int, int] = (90, 90)):  # type: ignore[no-untyped-def]
    session = org.world.session(org.ap, org.ic)
    enrollments = [ok(enroll(org, session.id, i)) for i in range(learners)]
    org.world.run_class(session, {e.id: scores for e in enrollments})
    return session, enrollments


def certified(org: Org):  # type: ignore[no-untyped-def]
    """A completed learner's certificate, issued by the session's instructor."""
    session, (enrollment,) = completed_session(org)
    command = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
    return ok(org.world.container.issue_certificate()(org.ic, command))


def test_issue_is_idempotent_and_only_for_completions(org: Org) -> None:
    w = org.world
    session, (enrollment,) = completed_session(org)
    command = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
    issue = w.container.issue_certificate()
    assert isinstance(issue(org.ip, command).failure(), Forbidden)
    first = ok(issue(org.ic, command))
    assert ok(issue(org.ap, command)).id == first.id
    assert first.expiry_date == date(2028, first.issue_date.month, first.issue_date.day)
    assert len(w.container.read_models().certificates(w.admin, NOW.date())) == 1
    stranger = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, uuid.uuid4())
    assert isinstance(issue(org.ic, stranger).failure(), NotCompleted)


def test_a_failed_learner_gets_no_certificate_and_is_told_why(org: Org) -> None:
    session, (enrollment,) = completed_session(org, scores=(90, 40))
    outcome = org.world.container.issue_certificate()(
        org.ic, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
    )
    assert outcome == Failure(NotCompleted(enrollment.id, "weighted total 65.00 is below the pass threshold 80"))


def test_recertification_supersedes_the_previous_certificate(org: Org) -> None:
    w = org.world
    first_session, (first,) = completed_session(org)
    old = ok(
        w.container.issue_certificate()(
            org.ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, first_session.id, first.id)
        )
    )
    w.clock.current = NOW + timedelta(days=400)
    second = w.session(org.ap, org.ic, starts_in=timedelta(days=410))
    again = ok(enroll(org, second.id, 0))
    w.run_class(second, {again.id: (99, 99)})
    new = ok(
        w.container.issue_certificate()(
            org.ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, second.id, again.id)
        )
    )
    assert new.supersedes_id == old.id
    statuses = {s.id: s.status for s in w.container.read_models().certificates(w.admin, w.clock.now().date())}
    assert statuses == {old.id: "superseded", new.id: "active"}


def test_revoke_and_reinstate_record_who_and_when(org: Org) -> None:
    w = org.world
    cert = certified(org)
    revoke = w.container.revoke_certificate()
    assert isinstance(revoke(org.ic, c.RevokeCertificate(cert.id, "x")).failure(), Forbidden)
    revoked = ok(revoke(org.ap, c.RevokeCertificate(cert.id, "fraud")))
    assert revoked.revocation is not None
    assert (revoked.revocation.revoked_by, revoked.revocation.revoked_at) == (org.ap.user_id, w.clock.now())
    assert revoke(org.ap, c.RevokeCertificate(cert.id, "again")).failure().code == "already_revoked"
    assert isinstance(w.container.reinstate_certificate()(org.ap, c.ReinstateCertificate(cert.id)).failure(), Forbidden)
    assert ok(w.container.reinstate_certificate()(w.admin, c.ReinstateCertificate(cert.id))).revocation is None


def test_verification_shows_public_fields_only(org: Org) -> None:
    w = org.world
    cert = certified(org)
    verify = w.container.verify_certificate()
    answer = ok(verify(c.VerifyCertificate(cert.code.canonical.lower())))
    public = attrs.asdict(answer.certificate)
    assert set(public) == {
        "status",
        "recipient_name",
        "course_name",
        "issuer_name",
        "issue_date",
        "expiry_date",
        "revoked_on",
    }
    profile = w.profiles[org.learners[0].user_id]
    for secret in (profile.email, profile.phone, str(profile.id), str(cert.id), profile.display_name):
        assert secret not in repr(answer)
    assert answer.name_confirmed is None
    assert ok(verify(c.VerifyCertificate(cert.code.display, profile.display_name.upper()))).name_confirmed is True
    wrong = ok(verify(c.VerifyCertificate(cert.code.display, "Someone Else")))
    assert wrong.name_confirmed is False
    assert profile.display_name not in repr(wrong)
    assert verify(c.VerifyCertificate(encode(7).display)) == Failure(UnknownCode())
    typo = ("1" if cert.code.canonical[0] != "1" else "2") + cert.code.canonical[1:]
    assert verify(c.VerifyCertificate(typo)) == Failure(MistypedCode())
    w.clock.current = datetime.combine(cert.expiry_date + timedelta(days=1), datetime.min.time(), UTC)
    assert ok(verify(c.VerifyCertificate(cert.code.display))).certificate.status == "expired"


class CrashAfter(RandomIds):
    """An id source that dies after ``limit`` ids, the way a killed process stops mid-chunk."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def new_id(self) -> uuid.UUID:
        self.left -= 1
        if self.left < 0:
            raise RuntimeError("process killed")
        return super().new_id()


def test_batch_issue_previews_reports_progress_and_resumes_without_duplicates(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic)
    enrollments = [ok(enroll(org, session.id, i)) for i in range(6)]
    w.run_class(session, {e.id: ((90, 90) if i % 3 else (90, 10)) for i, e in enumerate(enrollments)})
    batch = w.container.batch_issue_certificates()
    command = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session.id, chunk_size=2)
    certificates = lambda: w.container.read_models().certificates(w.admin, NOW.date())  # noqa: E731

    preview = ok(batch(org.ap, attrs.evolve(command, preview=True)))
    assert preview.preview
    assert len(preview.would_issue) == 4
    assert {i.person_id for i in preview.not_eligible} == {org.learners[0].user_id, org.learners[3].user_id}
    assert all("below the pass threshold" in i.reason for i in preview.not_eligible)
    assert certificates() == []

    def die_between_chunks(progress: BatchProgress) -> None:
        if progress.done:  # the first report (done 0) names the batch before any chunk
            raise RuntimeError("process killed")

    with pytest.raises(RuntimeError, match="process killed"):
        batch(org.ap, command, die_between_chunks)
    assert len(certificates()) == 2  # the first chunk committed

    w.container.ids.override(CrashAfter(1))  # dies inside the second chunk, before it commits
    with pytest.raises(RuntimeError, match="process killed"):
        w.container.batch_issue_certificates()(org.ap, command)
    w.container.ids.reset_override()
    assert len(certificates()) == 2

    progress: list[BatchProgress] = []
    report = ok(batch(org.ap, command, progress.append))  # the same batch again finishes it
    assert (report.issued, report.already_issued, report.total) == (2, 2, 6)
    assert [p.done for p in progress] == [0, 2, 4]
    assert {p.batch_id for p in progress} == {report.batch_id}
    assert len(certificates()) == 4
    assert len({cert.code for cert in certificates()}) == 4
    again = ok(batch(org.ap, command))
    assert (again.issued, again.already_issued) == (0, 4)
    assert again.batch_id != report.batch_id  # the first batch was completed; this is a new, empty one
    assert isinstance(batch(org.ip, command).failure(), Forbidden)


def test_roster_members_complete_by_the_same_rule_and_are_batch_certified(org: Org) -> None:
    w = org.world
    roster = ok(
        w.container.create_roster()(
            org.ap, c.CreateRoster("Saturday class", w.course.id, w.locations[0].id, org.ic.user_id, 2)
        )
    )
    students = [w.student(f"Student{i} Last{i}") for i in range(3)]
    add = w.container.add_roster_member()
    members = [ok(add(org.ap, c.AddRosterMember(roster.id, s.id))) for s in students[:2]]
    assert add(org.ap, c.AddRosterMember(roster.id, students[2].id)).failure().code == "roster_full"
    assert add(org.ap, c.AddRosterMember(roster.id, students[0].id)).failure() == AlreadyMember(
        roster.id, students[0].id
    )
    assess = w.container.assess_roster_member()
    ok(assess(org.ic, c.AssessRosterMember(roster.id, members[0].id, Attendance.ATTENDED, Decimal(88), Decimal(91))))
    failed = ok(
        assess(org.ic, c.AssessRosterMember(roster.id, members[1].id, Attendance.PARTIAL, Decimal(88), Decimal(91)))
    )
    assert failed.completion is Completion.FAILED
    report = ok(
        w.container.batch_issue_certificates()(
            org.ap, c.BatchIssueCertificates(CompletionKind.ROSTER_MEMBER, roster.id)
        )
    )
    assert report.issued == 1
    assert [i.reason for i in report.not_eligible] == ["attendance is partial, not attended"]
    (cert,) = w.container.read_models().certificates(w.admin, NOW.date())
    assert cert.recipient_name == "Student0 Last0"


# --- teams, compliance, users ------------------------------------------------------------


def test_teams_are_created_by_admins_and_managed_within_a_provider(org: Org) -> None:
    w = org.world
    assert isinstance(w.container.create_team()(org.ap, c.CreateTeam("Blue", org.provider.id)).failure(), Forbidden)
    team = ok(w.container.create_team()(w.admin, c.CreateTeam("Blue", org.provider.id)))
    add, remove = w.container.add_team_member(), w.container.remove_team_member()
    ok(add(org.ap, c.AddTeamMember(team.id, org.ic.user_id)))
    assert add(org.ap, c.AddTeamMember(team.id, org.ic.user_id)) == Failure(AlreadyMember(team.id, org.ic.user_id))
    outsider = w.user(Role.AP, w.provider())
    assert isinstance(add(outsider, c.AddTeamMember(team.id, org.ip.user_id)).failure(), Forbidden)
    ok(remove(org.ap, c.RemoveTeamMember(team.id, org.ic.user_id)))
    assert remove(org.ap, c.RemoveTeamMember(team.id, org.ic.user_id)) == Failure(NotAMember(team.id, org.ic.user_id))
    assert w.container.read_models().dashboard(w.admin, NOW.date()).teams == 1


def test_a_team_names_a_provider_and_location_that_exist_and_belong_together(org: Org) -> None:
    """PostgreSQL raised its foreign-key violation for an unknown provider; memory made the team (found by fuzzing)."""
    w, create = org.world, org.world.container.create_team()
    unknown = uuid.uuid4()
    assert create(w.admin, c.CreateTeam("Ghost", unknown)) == Failure(NotFound("provider", unknown))
    assert create(w.admin, c.CreateTeam("Ghost", None, unknown)) == Failure(NotFound("location", unknown))
    elsewhere = w.provider()
    mixed = create(w.admin, c.CreateTeam("Mixed", org.provider.id, next(iter(elsewhere.location_ids))))
    assert mixed == Failure(InvalidValue("location_id", "must be one of the provider's locations"))
    assert w.container.read_models().dashboard(w.admin, NOW.date()).teams == 0
    ok(create(w.admin, c.CreateTeam("Here", org.provider.id, next(iter(org.provider.location_ids)))))


def test_compliance_changes_are_events_only_when_the_standing_moves(org: Org) -> None:
    w = org.world
    metric = ComplianceMetric(uuid.uuid4(), "CPR recertification", 2)
    other = ComplianceMetric(uuid.uuid4(), "Background check", 1, required_for_basic=False)
    w.container.bootstrap().load(metric, other)
    record = w.container.record_compliance_item()
    today = NOW.date()
    item = c.RecordComplianceItem(org.ic.user_id, metric.id, RecordStatus.COMPLIANT, today, today + timedelta(days=365))
    standing = ok(record(org.ap, item))
    assert (standing.score, standing.tier.value, standing.status.value) == (66, "basic", "at_risk")
    ok(record(org.ap, item))  # same facts again: no change
    assert isinstance(record(org.learners[0], item).failure(), Forbidden)
    bad = attrs.evolve(item, expires_on=today - timedelta(days=1))
    assert bad == attrs.evolve(item, expires_on=today - timedelta(days=1))
    assert record(org.ap, bad) == Failure(InvalidValue("expires_on", "must not be before recorded_on"))
    feed = w.container.change_feed().read(w.admin, Cursor.origin(), topics=frozenset({"compliance"}))
    kinds = [type(change.event) for change in feed.changes]
    assert kinds == [ComplianceItemRecorded, ComplianceChanged, ComplianceItemRecorded]


def test_role_changes_follow_the_hierarchy(org: Org) -> None:
    w = org.world
    change = w.container.change_user_role()
    admin = w.user(Role.AD)
    assert isinstance(change(admin, c.ChangeUserRole(org.ic.user_id, Role.AD)).failure(), Forbidden)
    assert ok(change(admin, c.ChangeUserRole(org.ip.user_id, Role.IC))).role is Role.IC
    assert isinstance(change(admin, c.ChangeUserRole(w.admin.user_id, Role.IN)).failure(), Forbidden)
    assert ok(change(org.ap, c.ChangeUserRole(org.ic.user_id, Role.IP))).role is Role.IP
    assert isinstance(change(org.ap, c.ChangeUserRole(org.learners[0].user_id, Role.IT)).failure(), Forbidden)
    assert ok(change(w.admin, c.ChangeUserRole(admin.user_id, Role.SA))).role is Role.SA


@pytest.mark.parametrize("role", [Role.IN, Role.SA])
def test_nobody_changes_their_own_role(org: Org, role: Role) -> None:
    """An SA demoting themselves was a 500 on PostgreSQL: the change was refused by the change log's row-level
    security, which no longer saw an SA writing it (found by schemathesis through the HTTP API)."""
    w = org.world
    refused = w.container.change_user_role()(w.admin, c.ChangeUserRole(w.admin.user_id, role))
    assert refused == Failure(InvalidValue("user_id", "must not be the acting user"))
    assert ok(w.container.resolve_actor()(w.admin.user_id)).role is Role.SA


# --- events and concurrency ---------------------------------------------------------------


def test_nothing_is_half_written_and_failures_leave_no_events(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic, capacity=1, allow_waitlist=False)
    ok(enroll(org, session.id, 0))
    before = w.container.change_feed().read(w.admin, Cursor.origin())
    assert isinstance(enroll(org, session.id, 1), Failure)
    after = w.container.change_feed().read(w.admin, Cursor.origin())
    assert after.changes == before.changes  # (its cursor, the horizon, moves on with any transaction)
    assert [ch.cursor for ch in after.changes] == sorted(ch.cursor for ch in after.changes)


def test_concurrent_enrollment_never_overbooks(org: Org) -> None:
    w = org.world
    session = w.session(org.ap, org.ic, capacity=25, allow_waitlist=False)
    learners = [w.user(Role.IN) for _ in range(1000)]
    barrier = threading.Barrier(16)
    results: list[object] = []
    lock = threading.Lock()

    def worker(chunk: list) -> None:  # type: ignore[type-arg]
        barrier.wait()
        for learner in chunk:
            outcome = w.container.enroll_learner()(org.ap, c.EnrollLearner(session.id, learner.user_id))
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker, args=(learners[i::16],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Success) for r in results) == 25
    assert sum(r == Failure(SessionFull(session.id, 25)) for r in results) == 975
    (summary,) = w.container.read_models().sessions(org.ap)
    assert summary.seats_taken == 25


@pytest.mark.parametrize(
    "name",
    ["O'Brien; DROP TABLE teams;--", "%s $1 \\x27 ' \"", "Zoë Ødegaard-Łukasiewicz", "学习小组 🚑", "\u202eRTL"],
)
def test_text_round_trips_byte_identical_and_nul_is_a_clear_refusal(org: Org, name: str) -> None:
    w = org.world
    team = ok(w.container.create_team()(w.admin, c.CreateTeam(name, org.provider.id)))
    assert team.name == name
    session = w.session(org.ap, org.ic)
    revoked_session = ok(w.container.cancel_session()(org.ap, c.CancelSession(session.id, name)))
    assert revoked_session.status is SessionStatus.CANCELLED
    feed = w.container.change_feed().read(w.admin, Cursor.origin(), limit=10_000)
    stored = [ch.event for ch in feed.changes if ch.event.name == "TeamCreated"]
    assert stored[-1].team_name == name  # type: ignore[attr-defined]
    bad = w.container.create_team()(w.admin, c.CreateTeam(f"{name}\x00", org.provider.id))
    assert bad == Failure(InvalidValue("name", "must not contain control characters"))
    start = NOW + timedelta(days=30)
    titled = c.ScheduleSession(
        w.course.id, w.locations[0].id, org.ip.user_id, "A\x00B", start, start + timedelta(hours=1), 5
    )
    assert w.container.schedule_session()(org.ap, titled) == Failure(
        InvalidValue("title", "must not contain control characters")
    )


def test_reinstating_after_the_completion_was_certified_again_is_a_typed_failure(org: Org) -> None:
    """Issue → revoke → issue again → reinstate the first: refused by name, nothing half-written (issue 10)."""
    w = org.world
    session, (enrollment,) = completed_session(org)
    command = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
    first = ok(w.container.issue_certificate()(org.ap, command))
    ok(w.container.revoke_certificate()(org.ap, c.RevokeCertificate(first.id, "issued in error")))
    second = ok(w.container.issue_certificate()(org.ap, command))
    assert second.id != first.id
    outcome = w.container.reinstate_certificate()(w.admin, c.ReinstateCertificate(first.id))
    assert outcome == Failure(CompletionAlreadyCertified(first.id, second.id))
    statuses = {s.id: s.status for s in w.container.read_models().certificates(w.admin, w.clock.now().date())}
    assert statuses == {first.id: "revoked", second.id: "active"}


def test_reinstating_keeps_one_current_certificate_for_the_holder(org: Org) -> None:
    """Revoke a learner's certificate, certify them again from another session, reinstate the first: the newer
    certificate stays current and the reinstated one is superseded by it."""
    w = org.world
    session, (enrollment,) = completed_session(org)
    older = ok(
        w.container.issue_certificate()(
            org.ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
        )
    )
    ok(w.container.revoke_certificate()(org.ap, c.RevokeCertificate(older.id, "pending review")))
    later = w.session(org.ap, org.ic, starts_in=timedelta(days=30))
    seat = ok(enroll(org, later.id, 0))
    w.run_class(later, {seat.id: (95, 95)})
    newer = ok(
        w.container.issue_certificate()(
            org.ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, later.id, seat.id)
        )
    )
    reinstated = ok(w.container.reinstate_certificate()(w.admin, c.ReinstateCertificate(older.id)))
    assert (reinstated.revocation, reinstated.superseded_by_id) == (None, newer.id)
    statuses = {s.id: s.status for s in w.container.read_models().certificates(w.admin, w.clock.now().date())}
    assert statuses == {older.id: "superseded", newer.id: "active"}


def legacy_alias(w: World, code: str, certificate: uuid.UUID) -> None:
    """What ``arccm import legacy`` leaves behind for an imported certificate: its old code beside it."""
    if w.container.config.backend() == "postgres":
        database = w.container.database()
        with database.owner_engine().begin() as connection:
            connection.exec_driver_sql(
                f'INSERT INTO "{database.schema}".legacy_codes (code, certificate_id) VALUES (%(c)s, %(i)s)',
                {"c": code, "i": certificate},
            )
    else:
        w.container.memory_store().legacy_codes.setdefault(code, []).append(certificate)


def test_a_legacy_code_verifies_its_certificate_as_typed_and_a_shared_one_verifies_neither(org: Org) -> None:
    w = org.world
    cert = certified(org)
    w.clock.current = NOW + timedelta(days=400)  # a second certificate, a year on (it supersedes the first)
    second = w.session(org.ap, org.ic, starts_in=timedelta(days=410))
    again = ok(enroll(org, second.id, 0))
    w.run_class(second, {again.id: (99, 99)})
    other = ok(
        w.container.issue_certificate()(
            org.ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, second.id, again.id)
        )
    )
    verify = w.container.verify_certificate()
    legacy_alias(w, "ABC12345XY", cert.id)
    legacy_alias(w, "Q0O1IL23", cert.id)  # 8 characters, look-alikes included: looked up as typed, upper-cased
    for typed in ("ABC12345XY", " abc12345xy ", "q0o1il23"):
        answer = ok(verify(c.VerifyCertificate(typed, w.profiles[org.learners[0].user_id].display_name)))
        assert answer.name_confirmed is True, typed
        assert answer.certificate.course_name == cert.course_name
    assert verify(c.VerifyCertificate("Q001IL23")) == Failure(UnknownCode())  # no Crockford mapping for old codes
    legacy_alias(w, "ZZZ99999ZZ", cert.id)
    legacy_alias(w, "ZZZ99999ZZ", other.id)  # Math.random made it twice: it proves neither
    assert verify(c.VerifyCertificate("ZZZ99999ZZ")) == Failure(UnknownCode())
    assert verify(c.VerifyCertificate("ABC")).failure().code == "malformed_code"  # neither kind of code
