"""Calendar (and its iCalendar feed), analytics and enrollment metrics — the same figures on every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import text

from arccm.adapters.calendar.ical import to_ical
from arccm.adapters.container import Container
from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from arccm.application.validation import InvalidArgument
from arccm.domain.access import Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.errors import InvalidValue
from tests.world import NOW, World, ok

TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture
def world(make_container: Callable[[], Container]) -> World:
    return World.create(make_container())


def test_calendar_renders_in_the_viewers_zone_across_a_dst_change(world: World) -> None:
    provider = world.provider(timezone="America/Toronto")
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    schedule = world.container.schedule_session()
    sessions = []
    for day in (date(2026, 10, 31), date(2026, 11, 1)):  # DST ends in Toronto early on 1 November
        starts = datetime(day.year, day.month, day.day, 9, 0, tzinfo=TORONTO)
        command = c.ScheduleSession(
            world.course.id, world.locations[-1].id, ic.user_id, f"CPR {day}", starts, starts + timedelta(hours=3), 10
        )
        sessions.append(ok(schedule(ap, command)))
    view = world.container.view_calendar()
    local = ok(view(ap, date(2026, 10, 31), date(2026, 11, 2), "America/Toronto"))
    assert [(e.starts_at.hour, e.starts_at.utcoffset()) for e in local] == [
        (9, timedelta(hours=-4)),
        (9, timedelta(hours=-5)),
    ]
    in_utc = ok(view(ap, date(2026, 10, 31), date(2026, 11, 2), "UTC"))
    assert [e.starts_at.hour for e in in_utc] == [13, 14]
    assert (local[0].seats_taken, local[0].max_capacity, local[0].percent_full) == (0, 10, 0.0)
    assert local[0].instructor_name == world.profiles[ic.user_id].display_name
    assert view(ap, date(2026, 11, 2), date(2026, 11, 1), "UTC").failure() == InvalidValue("end", "must be after start")
    assert view(ap, date(2026, 11, 1), date(2026, 11, 2), "Mars/Olympus").failure().field == "timezone"
    outsider = world.user(Role.IC, world.provider())
    assert ok(view(outsider, date(2026, 10, 31), date(2026, 11, 2), "UTC")) == []

    first_feed = Calendar.from_ical(to_ical(local, "Northside", datetime(2026, 10, 1, tzinfo=UTC)))
    zones = list(first_feed.walk("VTIMEZONE"))
    assert [str(z["TZID"]) for z in zones] == ["America/Toronto"]
    assert {sub.name for sub in zones[0].subcomponents} >= {"STANDARD", "DAYLIGHT"}
    events = first_feed.walk("VEVENT")
    assert [e["DTSTART"].params["TZID"] for e in events] == ["America/Toronto"] * 2
    assert [e.decoded("DTSTART").hour for e in events] == [9, 9]
    later = sessions[1].starts_at + timedelta(days=7)
    ok(world.container.reschedule_session()(ap, c.RescheduleSession(sessions[1].id, later, later + timedelta(hours=3))))
    ok(world.container.cancel_session()(ap, c.CancelSession(sessions[0].id, "instructor ill")))
    again = ok(view(ap, date(2026, 10, 31), date(2026, 11, 9), "America/Toronto"))
    second_feed = Calendar.from_ical(to_ical(again, "Northside", datetime(2026, 10, 2, tzinfo=UTC)))
    before = {str(e["UID"]): e for e in events}
    after = {str(e["UID"]): e for e in second_feed.walk("VEVENT")}
    assert set(before) == set(after)  # stable UIDs
    for uid, event in after.items():
        assert int(event["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    assert sorted(str(e["STATUS"]) for e in after.values()) == ["CANCELLED", "CONFIRMED"]


def _run(world: World) -> tuple[object, object, list[object]]:
    provider = world.provider(locations=2)
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    ip = world.user(Role.IP, provider)
    learners = [world.user(Role.IN) for _ in range(5)]
    past = world.session(ap, ic, capacity=4, location=world.locations[-2], starts_in=timedelta(days=2))
    future = world.session(ap, ip, capacity=10, location=world.locations[-1], starts_in=timedelta(days=9))
    enroll = world.container.enroll_learner()
    seats = [ok(enroll(ap, c.EnrollLearner(past.id, learner.user_id))) for learner in learners[:3]]
    for learner in learners[3:]:
        ok(enroll(ap, c.EnrollLearner(future.id, learner.user_id)))
    world.run_class(past, {seats[0].id: (90, 90), seats[1].id: (95, 85), seats[2].id: (40, 40)})
    ok(world.container.complete_session()(ap, c.CompleteSession(past.id)))
    for seat in seats[:2]:
        ok(
            world.container.issue_certificate()(
                ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, past.id, seat.id)
            )
        )
    return ap, ic, [past, future]


def test_analytics_over_a_range_and_grouped(world: World) -> None:
    ap, ic, (past, _future) = _run(world)
    start, end = world.clock.now().date() - timedelta(days=30), world.clock.now().date() + timedelta(days=30)
    view = world.container.view_analytics()
    (total,) = ok(view(ap, start, end)).rows
    assert (total.sessions, total.completed_sessions, total.enrollments) == (2, 1, 5)
    assert (total.attendance_rate, total.completion_rate) == (1.0, round(2 / 3, 4))
    assert total.average_utilisation == round((3 / 4 + 2 / 10) / 2, 4)
    assert (total.certificates, total.active_certificates) == (2, 2)
    by_location = ok(view(ap, start, end, "location")).rows
    assert sorted((r.sessions, r.certificates) for r in by_location) == [(1, 0), (1, 2)]
    by_instructor = {r.label: r for r in ok(view(ap, start, end, "instructor")).rows}
    assert by_instructor[world.profiles[ic.user_id].display_name].certificates == 2
    assert ok(view(ap, start, end)).issued_per_day == [(past.starts_at.date(), 2)]
    assert view(ap, start, end, "colour").failure() == InvalidValue(
        "group_by", "must be location, instructor or course"
    )
    (mine,) = ok(view(ic, start, end)).rows  # the instructor sees only their own session
    assert (mine.sessions, mine.enrollments) == (1, 3)


def test_certificates_count_under_the_sessions_lead_instructor(world: World) -> None:
    """A session led by Lee with Ava assisting: its sessions and its certificates are both Lee's, whichever of the
    two has the smaller id (issue 10: certificates went to the smallest instructor id)."""
    provider = world.provider()
    ap = world.user(Role.AP, provider)
    lead = world.user(Role.IC, provider)
    assistant = world.user(Role.IT, provider)
    while assistant.user_id > lead.user_id:  # the case that went wrong: the assistant's id sorts first
        assistant = world.user(Role.IT, provider)
    session = world.session(ap, lead, assistants=frozenset({assistant.user_id}))
    learner = world.user(Role.IN)
    seat = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, learner.user_id)))
    world.run_class(session, {seat.id: (95, 95)})
    ok(
        world.container.issue_certificate()(
            ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, seat.id)
        )
    )
    start, end = world.clock.now().date() - timedelta(days=30), world.clock.now().date() + timedelta(days=30)
    rows = {r.key: r for r in ok(world.container.view_analytics()(ap, start, end, "instructor")).rows}
    assert set(rows) == {lead.user_id}
    assert (rows[lead.user_id].sessions, rows[lead.user_id].certificates) == (1, 1)


def test_enrollment_metrics_per_session_and_course(world: World) -> None:
    ap, _, (past, future) = _run(world)
    start, end = world.clock.now().date() - timedelta(days=30), world.clock.now().date() + timedelta(days=30)
    rows = ok(world.container.view_session_metrics()(ap, start, end))
    assert [(r.session_id, r.enrolled, r.attended, r.completed, r.failed, r.completion_rate) for r in rows] == [
        (past.id, 3, 3, 2, 1, round(2 / 3, 4)),
        (future.id, 2, 0, 0, 0, None),
    ]
    assert ok(world.container.view_session_metrics()(ap, start, end, world.course.id)) == rows


def test_session_counters_follow_every_change(world: World, request: pytest.FixtureRequest) -> None:
    """Cancel, promote, attend, complete: the stored counters always equal a count of the rows."""
    ap, _, (past, future) = _run(world)
    rows = world.container.read_models().enrollments(ap)
    ok(
        world.container.cancel_enrollment()(
            ap, c.CancelEnrollment(future.id, next(r.id for r in rows if r.session_id == future.id))
        )
    )
    if "postgres" in request.node.callspec.id:
        from tests.integration.test_explain import COUNTERS_DISAGREE

        schema = request.getfixturevalue("pg_schema")
        with schema.owner.begin() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{schema.name}"'))
            assert connection.execute(text(COUNTERS_DISAGREE)).scalar_one() == 0
    metrics = {
        m.session_id: m for m in ok(world.container.view_session_metrics()(ap, date(2026, 1, 1), date(2027, 1, 1)))
    }
    assert (metrics[future.id].enrolled, metrics[future.id].cancelled) == (1, 1)
    assert (metrics[past.id].attended, metrics[past.id].completed, metrics[past.id].failed) == (3, 2, 1)


def test_out_of_range_arguments_are_refused_by_name_on_every_backend(world: World) -> None:
    """A negative or 2**70 limit, a cursor outside 64 bits or a ``date.max`` today reached PostgreSQL as a driver
    error (``LIMIT must not be negative``, ``bigint out of range``) or overflowed date arithmetic, while the memory
    adapter answered — the edge now refuses them the same way on both (issue 10, hostile input)."""
    ap = world.user(Role.AP, world.provider())
    reads, feed = world.container.read_models(), world.container.change_feed()
    refused = {
        "limit": [
            lambda: feed.read(ap, Cursor.origin(), -1),
            lambda: feed.read(ap, Cursor.origin(), 2**70),
            lambda: reads.open_sessions(world.course.id, frozenset(), NOW, -1),
        ],
        "txid": [lambda: feed.read(ap, Cursor(-1, 0)), lambda: feed.backlog(ap, Cursor(2**64, 0))],
        "id": [lambda: feed.read(ap, Cursor(0, 2**63))],
        "today": [lambda: reads.dashboard(ap, date.max), lambda: reads.certificates(ap, date.min)],
    }
    for field, calls in refused.items():
        for call in calls:
            with pytest.raises(InvalidArgument) as raised:
                call()
            assert raised.value.error.field == field
    outcome = world.container.view_analytics()(ap, date.max - timedelta(days=3), date.max)
    assert outcome.failure().field == "start"
    assert feed.read(ap, Cursor.origin(), 0).changes == []  # the edges of the range are allowed
    assert reads.dashboard(ap, date(9000, 12, 31)).upcoming_sessions == 0


def recount(world: World, actor: object, today: date) -> dict[str, int]:
    """The dashboard's session and certificate figures, counted from the list read models — another statement per
    backend, with its own scope predicate — for the same actor."""
    reads = world.container.read_models()
    sessions = [s for s in reads.sessions(actor) if s.status in ("scheduled", "in_progress")]  # type: ignore[arg-type]
    certificates = reads.certificates(actor, today)  # type: ignore[arg-type]
    live = [x for x in certificates if x.status == "active"]
    return {
        "upcoming_sessions": sum(1 for s in sessions if s.status == "scheduled"),
        "in_progress_sessions": sum(1 for s in sessions if s.status == "in_progress"),
        "seats_taken": sum(s.seats_taken for s in sessions),
        "seats_offered": sum(s.max_capacity for s in sessions),
        "waitlisted": sum(s.waitlist_length for s in sessions),
        "certificates_total": len(certificates),
        "certificates_active": len(live),
        "certificates_expiring_30d": sum(1 for x in live if x.expiry_date <= today + timedelta(days=30)),
        "certificates_issued_7d": sum(1 for x in certificates if x.issue_date > today - timedelta(days=7)),
    }


def dashboard_figures(world: World, actor: object, today: date) -> dict[str, int]:
    board = world.container.read_models().dashboard(actor, today)  # type: ignore[arg-type]
    return {name: getattr(board, name) for name in recount(world, actor, today)}


def test_every_roles_dashboard_equals_a_recount_of_its_lists(world: World) -> None:
    """Two providers; an instructor who leads one session and assists in the other provider's; a learner who also
    teaches; certificates issued, one revoked: each actor's dashboard counts what its own lists show (the dashboard
    reads an AP's certificates in three branches and an instructor's by instructor_ids, the lists by one predicate)."""
    ap, ic, _ = _run(world)
    other = world.provider()
    other_ap = world.user(Role.AP, other)
    assistant = world.user(Role.IT, other)
    lead = world.user(Role.IC, other)
    session = world.session(other_ap, lead, location=world.locations[-1], assistants=frozenset({assistant.user_id}))
    seats = [
        ok(world.container.enroll_learner()(other_ap, c.EnrollLearner(session.id, learner.user_id)))
        for learner in (world.user(Role.IN), ic)  # the first provider's instructor learns here
    ]
    world.run_class(session, {seat.id: (95, 95) for seat in seats})
    issued = [
        ok(
            world.container.issue_certificate()(
                lead, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, s.id)
            )
        )
        for s in seats
    ]
    ok(world.container.revoke_certificate()(other_ap, c.RevokeCertificate(issued[0].id, "issued in error")))
    upcoming = world.session(
        other_ap,
        lead,
        location=world.locations[-1],
        starts_in=timedelta(days=12),
        assistants=frozenset({assistant.user_id}),
    )
    ok(world.container.enroll_learner()(other_ap, c.EnrollLearner(upcoming.id, assistant.user_id)))
    today = world.clock.now().date()
    for actor in (world.admin, ap, ic, other_ap, assistant, lead):
        assert dashboard_figures(world, actor, today) == recount(world, actor, today), actor
    assert dashboard_figures(world, ic, today)["certificates_total"] == 3  # issued two, and holds one
    assert dashboard_figures(world, other_ap, today)["certificates_active"] == 1
