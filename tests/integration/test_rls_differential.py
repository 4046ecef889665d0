"""Differential test of the read scope: PostgreSQL's row-level security = the domain's ``can_read`` = an oracle.

Organizations are generated through the use cases — several providers, APs, IC/IP/IT instructors, learners, an
instructor who is also a learner, assistants, waitlisted and cancelled enrollments, completions, certificates and
revocations, rosters with external learners, teams, notices — and some users deactivated. Then, for every actor
and every table below, three answers must agree row for row:

* the database: ``SELECT id FROM <table>`` as the runtime role acting as that user, with no predicate at all;
* the domain: ``can_read(actor, resource)`` over each row's scope keys (read by the owner);
* the oracle: docs/access.md's table, written here from the rows' plain facts and sharing no code with either.

Each (example, actor, table) comparison is one case; ``CASES`` counts them (≥ 2,000 per run).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Success
from sqlalchemy import text

from arccm.adapters.container import Container
from arccm.adapters.postgres.database import Database
from arccm.adapters.postgres.roles import actor_role
from arccm.application import commands as c
from arccm.domain.access import Actor, Resource, ResourceKind, Role, can_read
from arccm.domain.certificate import CompletionKind
from tests.conftest import PgSchema
from tests.integration.test_row_level_security import CLAIMS
from tests.world import World

pytestmark = pytest.mark.postgres
CASES: list[int] = []
ADMINS, LEADS = {"SA", "AD"}, {"IC", "IP"}

plans = st.fixed_dictionaries(
    {
        "providers": st.integers(1, 2),
        "sessions": st.lists(
            st.fixed_dictionaries(
                {
                    "ap": st.integers(0, 1),
                    "lead": st.integers(0, 3),
                    "assistant": st.none() | st.integers(0, 3),
                    "capacity": st.integers(1, 3),
                    "learners": st.lists(st.integers(0, 5), max_size=5, unique=True),
                    "cancel": st.booleans(),
                    "certify": st.booleans(),
                    "revoke": st.booleans(),
                }
            ),
            min_size=1,
            max_size=4,
        ),
        "roster": st.booleans(),
        "team": st.booleans(),
        "deactivate": st.integers(0, 20),
    }
)


def build(world: World, plan: dict[str, Any]) -> list[Actor]:
    admin = world.admin
    assert admin is not None
    providers = [world.provider(locations=2) for _ in range(plan["providers"])]
    aps = [world.user(Role.AP, p) for p in providers]
    staff = [
        world.user(role, providers[i % len(providers)]) for i, role in enumerate([Role.IC, Role.IP, Role.IC, Role.IT])
    ]
    learners = [world.user(Role.IN) for _ in range(4)] + staff[:2]  # two instructors are also learners
    app = world.container
    for n, spec in enumerate(plan["sessions"]):
        ap = aps[spec["ap"] % len(aps)]
        lead = staff[spec["lead"] % 3]  # an IC or IP leads
        assistants = frozenset()
        if spec["assistant"] is not None and staff[spec["assistant"]] != lead:
            assistants = frozenset({staff[spec["assistant"]].user_id})
        location = next(loc for loc in world.locations if loc.id in ap.location_ids)
        scheduled = app.schedule_session()(
            ap,
            c.ScheduleSession(
                world.course.id, location.id, lead.user_id, f"S{n}", world.clock.now() + timedelta(days=3 + 2 * n),
                world.clock.now() + timedelta(days=3 + 2 * n, hours=4), spec["capacity"], assistants,
            ),
        )  # fmt: skip
        if not isinstance(scheduled, Success):
            continue
        session = scheduled.unwrap()
        enrolled = []
        for index in spec["learners"]:
            learner = learners[index % len(learners)]
            outcome = app.enroll_learner()(ap, c.EnrollLearner(session.id, learner.user_id))
            if isinstance(outcome, Success):
                enrolled.append(outcome.unwrap())
        if spec["cancel"] and enrolled:
            app.cancel_enrollment()(ap, c.CancelEnrollment(session.id, enrolled[0].id))
        if spec["certify"]:
            seated = [e for e in enrolled[1:] if e.status.value == "enrolled"]
            if seated:
                world.run_class(session, {seated[0].id: (95, 95)})
                issued = app.issue_certificate()(
                    ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, seated[0].id)
                )
                if spec["revoke"] and isinstance(issued, Success):
                    app.revoke_certificate()(ap, c.RevokeCertificate(issued.unwrap().id, "issued in error"))
    extras(world, plan, aps, staff)
    actors = [admin, *aps, *staff, *learners[:4]]
    gone = actors[1 + plan["deactivate"] % (len(actors) - 1)]
    app.set_user_active()(admin, c.SetUserActive(gone.user_id, active=False))
    return actors


def extras(world: World, plan: dict[str, Any], aps: list[Actor], staff: list[Actor]) -> None:
    """A roster with an external learner, a team with a member."""
    admin = world.admin
    assert admin is not None
    if plan["roster"]:
        ap = aps[0]
        location = next(loc for loc in world.locations if loc.id in ap.location_ids)
        roster = world.container.create_roster()(
            ap, c.CreateRoster("R", world.course.id, location.id, staff[0].user_id, 5)
        )
        if isinstance(roster, Success):
            student = world.student("Rosa Roster")
            world.container.add_roster_member()(ap, c.AddRosterMember(roster.unwrap().id, student.id))
    if plan["team"]:
        team = world.container.create_team()(admin, c.CreateTeam("T", aps[0].provider_id))
        if isinstance(team, Success):
            world.container.add_team_member()(aps[0], c.AddTeamMember(team.unwrap().id, staff[0].user_id))


# --- the rows' facts, read by the owner -------------------------------------------------------------------


def facts(db: Database) -> dict[str, list[dict[str, Any]]]:
    queries = {
        "training_sessions": "SELECT s.id, s.location_id, s.provider_id, s.created_by,"
        " array_prepend(s.lead_instructor_id, s.assistant_ids) AS instructors, s.assistant_ids,"
        " ARRAY(SELECT e.learner_id FROM session_enrollments e WHERE e.session_id = s.id AND e.status <> 'cancelled')"
        " AS learners FROM training_sessions s",
        "session_enrollments": "SELECT e.id, s.location_id, s.provider_id, e.enrolled_by AS created_by,"
        " array_prepend(s.lead_instructor_id, s.assistant_ids) AS instructors, e.learner_id AS subject"
        " FROM session_enrollments e JOIN training_sessions s ON s.id = e.session_id",
        "certificates": "SELECT id, location_id, provider_id, issued_by AS created_by, instructor_ids AS instructors,"
        " COALESCE(recipient_user_id, recipient_student_id) AS subject FROM certificates",
        "student_rosters": "SELECT id, location_id, provider_id, created_by, ARRAY[instructor_id] AS instructors"
        " FROM student_rosters",
        "teams": "SELECT id, location_id, provider_id, created_by FROM teams",
        "notifications": "SELECT id, location_id, COALESCE(user_id, student_id) AS subject FROM notifications",
    }
    with db.owner_engine().connect() as owner:
        owner.execute(text(f'SET search_path TO "{db.schema}"'))
        return {table: [dict(r) for r in owner.execute(text(sql)).mappings()] for table, sql in queries.items()}


KINDS = {
    "training_sessions": ResourceKind.SESSION,
    "session_enrollments": ResourceKind.ENROLLMENT,
    "certificates": ResourceKind.CERTIFICATE,
    "student_rosters": ResourceKind.ROSTER,
    "teams": ResourceKind.TEAM,
    "notifications": ResourceKind.NOTIFICATION,
}


def resource(table: str, row: dict[str, Any]) -> Resource:
    return Resource(
        kind=KINDS[table],
        location_id=row.get("location_id"),
        provider_id=row.get("provider_id"),
        created_by=row.get("created_by"),
        instructors=frozenset(row.get("instructors") or ()),
        subject_id=row.get("subject"),
        learners=frozenset(row.get("learners") or ()),
    )


def oracle(actor: Actor, role: str, active: bool, table: str, row: dict[str, Any]) -> bool:
    """docs/access.md, read literally."""
    me = actor.user_id
    if not active:
        return False
    if role in ADMINS:
        return True
    if table == "notifications":
        return row["subject"] == me
    if role == "AP":
        return (
            row.get("location_id") in actor.location_ids
            or (row.get("provider_id") is not None and row.get("provider_id") == actor.provider_id)
            or row.get("created_by") == me
        )
    if table == "teams":
        return False
    instructs = me in (row.get("instructors") or ())
    if role in LEADS:
        if table == "training_sessions":
            return instructs or me in row["learners"]
        if table in ("session_enrollments", "certificates"):
            return instructs or row["subject"] == me
        return table == "student_rosters" and instructs
    if table == "training_sessions":
        return me in row["learners"] or me in (row.get("assistant_ids") or ())
    return table in ("session_enrollments", "certificates") and row["subject"] == me


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans)
def test_rls_the_domain_and_the_oracle_agree_on_every_row(pg_schema: PgSchema, plan: dict[str, Any]) -> None:
    pg_schema.close_containers()
    pg_schema.truncate()
    container: Container = pg_schema.container()
    world = World.create(container)
    actors = build(world, plan)
    db: Database = container.database()
    rows = facts(db)
    with db.owner_engine().connect() as owner:
        standing = {
            r.id: (r.role, r.status == "active")
            for r in owner.execute(text(f'SELECT id, role, status FROM "{db.schema}".profiles'))
        }
    for actor in actors:
        role, active = standing[actor.user_id]
        for table, found in rows.items():
            expected = {r["id"] for r in found if oracle(actor, role, active, table, r)}
            domain = {r["id"] for r in found if active and can_read(actor, resource(table, r))}
            assert domain == expected, (role, active, table, domain ^ expected)
            # under the generic policies (the runtime role) and under the actor's own role's (migration 0011)
            for db_role in (db.app_role, actor_role(db.app_role, actor.role.value)):
                with db.engine.connect() as connection:
                    connection.execute(
                        text(
                            "SELECT set_config('search_path', :s, true), set_config('role', :r, true),"
                            " set_config('arccm.user_id', :u, true)"
                        ),
                        {"s": f'"{db.schema}"', "r": db_role, "u": str(actor.user_id)},
                    )
                    connection.execute(text(CLAIMS))
                    seen = set(connection.execute(text(f"SELECT id FROM {table}")).scalars())
                    connection.rollback()
                assert seen == expected, (role, active, table, db_role, seen ^ expected)
            CASES.append(1)  # one case: the domain, the oracle and both policy sets on one actor and table


def test_the_differential_run_was_large_enough() -> None:
    """Runs after the property test in this module (file order): at least 2,000 comparisons were made."""
    if not CASES:
        pytest.skip("run together with the property test above")
    assert len(CASES) >= 2_000, len(CASES)
