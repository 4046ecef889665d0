"""The import planner on hostile source rows (no database): whatever the replaced system holds, every row is
accounted for, nothing the domain would refuse is planned for writing, and nothing raises."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Success

from arccm.adapters.legacy.plan import Mapping_, Planner
from arccm.domain.text import clean_text

NOW = datetime(2025, 7, 20, 15, tzinfo=UTC)
texts = st.one_of(
    st.none(),
    st.text(max_size=260),
    st.sampled_from(["ACTIVE", "present", "PASSED", "2024-02-30", "A\x1bB", "x" * 250, "Ann Lee", "completed"]),
)


def mostly(valid: object, hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a value that passes, so that the later checks are reached; otherwise anything."""
    return st.integers(0, 9).flatmap(lambda n: st.just(valid) if n < 7 else hostile)


dates = st.one_of(
    texts,
    st.dates(min_value=date(1940, 1, 1), max_value=date(2230, 1, 1)).map(lambda d: d.strftime("%m/%d/%Y")),
    st.dates(min_value=date(1940, 1, 1), max_value=date(2230, 1, 1)).map(date.isoformat),
)


@st.composite
def sources(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    ids = st.builds(uuid.uuid4)
    # the scaffold is sound (its own faults have their tests), so that the hostile rows reach every later check
    location = {"id": draw(ids), "name": "Toronto Centre", "state": "ON", "status": "ACTIVE"}
    course = {"id": draw(ids), "name": "CPR C", "expiration_months": 12}
    people = [
        {
            "id": draw(ids),
            "role": draw(st.sampled_from(["IC", "in", "boss", None])),
            "display_name": draw(mostly("Al", texts)),
            "email": draw(st.sampled_from([None, "a@x.org", " A@X.ORG", "b@x.org"])),
            "status": "ACTIVE",
            "location_id": location["id"],
        }
        for _ in range(draw(st.integers(1, 4)))
    ]
    instructor = {"id": draw(ids), "email": "c@x.org", "display_name": "Ian", "max_students_per_session": 12}
    students = [
        {
            "id": draw(ids),
            "email": draw(st.sampled_from([None, "b@x.org", "s@x.org"])),
            "display_name": draw(mostly("Sue", texts)),
            "first_name": draw(texts),
            "last_name": None,
            "location_id": location["id"],
        }
        for _ in range(draw(st.integers(1, 4)))
    ]
    session = {
        "id": draw(ids),
        "title": draw(st.one_of(st.just("First aid"), texts)),
        "instructor_id": instructor["id"],
        "location_id": location["id"],
        "session_date": date(2025, 3, 1),
        "start_time": time(9),
        "end_time": draw(mostly(time(17), st.just(time(8)))),
        "max_capacity": draw(st.sampled_from([12, 1, 0, None])),
        "course_template": draw(st.sampled_from(["cpr  c", "CPR D"])),
        "status": draw(st.one_of(texts, st.just("scheduled"))),
        "created_at": NOW,
    }
    enrollments = [
        {
            "id": draw(ids),
            "session_id": session["id"],
            "student_id": s["id"],
            "attendance_status": draw(mostly("present", texts)),
            "completion_status": draw(mostly("passed", texts)),
            "assessment_score": draw(st.sampled_from([None, 50, 101, -1])),
        }
        for s in students
    ]
    certificates = [
        {
            "id": draw(ids),
            "recipient_name": draw(mostly("Sue", texts)),
            "recipient_email": draw(st.sampled_from([None, "s@x.org", "b@x.org"])),
            "course_name": draw(st.sampled_from(["CPR C", "cpr c ", "CPR X"])),
            "issue_date": draw(mostly("2024-01-02", dates)),
            "expiry_date": draw(mostly("2025-01-02", dates)),
            "verification_code": draw(texts),
            "status": draw(mostly("ACTIVE", texts)),
            "location_id": draw(st.sampled_from([location["id"], None])),
            "created_at": NOW,
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    team = {"id": draw(ids), "name": draw(mostly("Blue", texts)), "status": draw(mostly("active", texts))}
    members = [
        {"id": draw(ids), "team_id": team["id"], "user_id": p["id"], "role": draw(mostly("MEMBER", texts))}
        for p in people
    ]
    return {
        "locations": [location],
        "courses": [course],
        "profiles": people,
        "instructor_profiles": [instructor],
        "student_enrollment_profiles": students,
        "training_sessions": [session],
        "session_enrollments": enrollments,
        "certificates": certificates,
        "teams": [team],
        "team_members": members,
    }


@settings(max_examples=300)
@given(sources())
def test_every_hostile_row_is_accounted_for_and_nothing_invalid_is_planned(
    source: dict[str, list[dict[str, Any]]],
) -> None:
    codes = iter(range(10**6))
    planner = Planner(Mapping_(), lambda: f"CODE{next(codes)}", NOW)
    planner.locations_(source["locations"])
    planner.providers_([], [])
    planner.courses_(source["courses"], [])
    planner.people_([], source["profiles"], source["instructor_profiles"], source["student_enrollment_profiles"])
    planner.sessions_(source["training_sessions"], source["session_enrollments"])
    planner.batches_([])
    planner.certificates_(source["certificates"])
    planner.teams_(source["teams"], source["team_members"])
    plan = planner.finish()
    report = plan.report()
    assert report["balanced"]
    for table, rows in source.items():
        assert report["tables"][table]["source"] == len(rows), table
    assert len(plan.quarantine) == report["totals"]["quarantined"]
    rows = {step: [item.row for unit in units for item in unit] for step, units in plan.units.items()}
    for field, step in (
        ("name", "locations"),
        ("display_name", "profiles"),
        ("title", "training_sessions"),
        ("recipient_name", "certificates"),
        ("name", "teams"),
        ("name", "course_templates"),
    ):
        for row in rows[step]:
            assert isinstance(clean_text(field, row[field]), Success), (step, row[field])
    for row in rows["certificates"]:
        assert row["expiry_date"] > row["issue_date"]
    seated = Counter(row["session_id"] for row in rows["session_enrollments"])
    for row in rows["training_sessions"]:
        assert row["ends_at"] > row["starts_at"]
        assert max(row["max_capacity"], plan.raised.get(row["id"], 0)) >= max(seated[row["id"]], 1)
    for row in rows["session_enrollments"]:
        assert row["attendance_status"] in ("registered", "attended", "partial", "absent")
        assert row["completion_status"] in ("not_started", "in_progress", "completed", "failed")
        assert not (row["completion_status"] in ("completed", "failed") and row["attendance_status"] == "registered")
    people = {row["id"] for row in rows["profiles"]}
    for step, column in (
        ("session_enrollments", "learner_id"),
        ("certificates", "recipient_user_id"),
        ("certificates", "issued_by"),
        ("team_members", "user_id"),
    ):
        for row in rows[step]:
            assert row[column] in people, (step, column)
