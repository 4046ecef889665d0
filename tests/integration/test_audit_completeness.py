"""The audit trail is complete for any workload (migration 0009, docs/access.md "Audit trail").

Hypothesis generates a sequence of commands by actors of every kind — many of them refused, some failing on the
domain's rules — and runs it through the use cases.  Then, from the trail alone:

* replaying every table's INSERT / UPDATE / DELETE entries, oldest first, rebuilds exactly the rows the tables
  hold now (no change is missing, none recorded that did not happen);
* each committed command is one transaction in the trail, with the acting user on every one of its entries, in the
  order the commands ran; a command that failed left nothing;
* each refused command (``Forbidden``) left one REFUSED entry with its actor, and nothing else.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success
from sqlalchemy import text

from arccm.adapters.postgres.database import Database
from arccm.application import commands as c
from arccm.domain.access import Actor, Role
from arccm.domain.enrollment import Attendance
from arccm.domain.errors import Forbidden
from tests.conftest import PgSchema
from tests.world import World, ok

pytestmark = pytest.mark.postgres

KINDS = (
    "enroll", "cancel_enrollment", "attend", "change_capacity", "cancel_session", "add_member", "remove_member",
    "change_role", "set_active",
)  # fmt: skip
steps = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 5), st.integers(0, 1_000)), min_size=4, max_size=16)
# tables whose rows the replay rebuilds (the trail's own tables and the append-only change log are not audited)
REBUILT = ("training_sessions", "session_enrollments", "profiles", "team_members", "teams", "notifications")
KEYS = {"team_members": ("team_id", "user_id")}


def _key(table: str, row: dict[str, Any]) -> str:
    return ":".join(str(row[k]) for k in KEYS.get(table, ("id",)))


# no shrinking: each example builds an organization (seconds), and a shrink ran for minutes; the plan is printed
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(plan=steps)
def test_the_trail_rebuilds_every_row_and_names_every_actor(
    pg_schema: PgSchema, plan: list[tuple[str, int, int]]
) -> None:
    pg_schema.close_containers()
    pg_schema.truncate()
    world = World.create(pg_schema.container())
    container = world.container
    assert world.admin is not None
    admin = world.admin
    provider = world.provider(locations=1)
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    other = world.user(Role.AP, world.provider(locations=1))
    learners = [world.user(Role.IN) for _ in range(3)]
    sessions = [
        world.session(ap, ic, capacity=2),
        world.session(ap, ic, capacity=3, allow_waitlist=False, starts_in=timedelta(days=9)),
    ]
    team = ok(container.create_team()(admin, c.CreateTeam("Blue", provider.id)))
    actors: list[Actor] = [admin, ap, other, ic, learners[0], learners[1]]
    db: Database = container.database()
    with db.owner_engine().connect() as owner:
        mark = owner.execute(text(f'SELECT COALESCE(max(id), 0) FROM "{db.schema}".audit_log')).scalar_one()

    def run(kind: str, actor: Actor, pick: int) -> Any:
        session = sessions[pick % len(sessions)]
        enrollments = container.read_models().enrollments(admin)
        enrollment = enrollments[pick % len(enrollments)] if enrollments else None
        person = [ap, ic, *learners][pick % 5]
        if kind == "enroll":
            return container.enroll_learner()(actor, c.EnrollLearner(session.id, learners[pick % 3].user_id))
        if kind == "change_capacity":
            return container.change_capacity()(actor, c.ChangeCapacity(session.id, 1 + pick % 4))
        if kind == "cancel_session":
            return container.cancel_session()(actor, c.CancelSession(session.id, "weather"))
        if kind == "add_member":
            return container.add_team_member()(actor, c.AddTeamMember(team.id, person.user_id))
        if kind == "remove_member":
            return container.remove_team_member()(actor, c.RemoveTeamMember(team.id, person.user_id))
        if kind == "change_role":
            return container.change_user_role()(actor, c.ChangeUserRole(person.user_id, (Role.IC, Role.IP)[pick % 2]))
        if kind == "set_active":
            return container.set_user_active()(actor, c.SetUserActive(learners[2].user_id, pick % 2 == 0))
        if enrollment is None:
            return None
        if kind == "cancel_enrollment":
            return container.cancel_enrollment()(actor, c.CancelEnrollment(enrollment.session_id, enrollment.id))
        return container.record_attendance()(
            actor, c.RecordAttendance(enrollment.session_id, enrollment.id, Attendance.ATTENDED)
        )

    committed: list[Any] = []  # the actor of each command that succeeded and changed something, in order
    refused: list[Any] = []

    def changes() -> int:  # every change a command commits is announced in the change log (not itself audited)
        with db.owner_engine().connect() as owner:
            return int(owner.execute(text(f'SELECT count(*) FROM "{db.schema}".change_log')).scalar_one())

    for kind, who, pick in plan:
        actor = actors[who]
        # a user the plan deactivated, or whose role it changed, acts no more under the old Actor: resolve afresh
        fresh = container.resolve_actor()(actor.user_id)
        if isinstance(fresh, Failure):
            continue
        before = changes()
        outcome = run(kind, fresh.unwrap(), pick)
        if isinstance(outcome, Success) and changes() > before:  # (a role set to the one held changes nothing)
            committed.append(actor.user_id)
        elif isinstance(outcome, Failure) and isinstance(outcome.failure(), Forbidden):
            refused.append(actor.user_id)

    with db.owner_engine().connect() as owner:
        entries = owner.execute(
            text(
                f"SELECT id, txid::text AS txid, actor_id, operation, table_name, row_id, old_values, new_values"
                f' FROM "{db.schema}".audit_log ORDER BY id'
            )
        ).all()
        current = {
            table: {
                _key(table, row): row
                for row in (
                    json.loads(j)
                    for j in owner.execute(text(f'SELECT to_jsonb(t)::text FROM "{db.schema}"."{table}" t')).scalars()
                )
            }
            for table in REBUILT
        }
    # 1. the replay rebuilds every row exactly
    for table in REBUILT:
        rebuilt: dict[str, dict[str, Any]] = {}
        for e in (e for e in entries if e.table_name == table):
            if e.operation == "INSERT":
                rebuilt[e.row_id] = dict(e.new_values)
            elif e.operation == "UPDATE":
                rebuilt[e.row_id].update(e.new_values)
            elif e.operation == "DELETE":
                del rebuilt[e.row_id]
        now = {k: {f: v for f, v in row.items() if f != "updated_at"} for k, row in current[table].items()}
        replayed = {k: {f: v for f, v in row.items() if f != "updated_at"} for k, row in rebuilt.items()}
        assert replayed == now, table
    # 2. one transaction per committed command, every entry of it naming the command's actor
    later = [e for e in entries if e.id > mark]
    transactions: dict[str, set[Any]] = {}
    for e in later:
        if e.operation != "REFUSED":
            transactions.setdefault(e.txid, set()).add(e.actor_id)
    assert all(len(who) == 1 for who in transactions.values()), transactions
    assert [next(iter(who)) for who in transactions.values()] == committed
    # 3. one REFUSED entry per refused command, with its actor
    assert [e.actor_id for e in later if e.operation == "REFUSED"] == refused
