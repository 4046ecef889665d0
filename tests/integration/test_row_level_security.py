"""The database refuses what the policy refuses (migration 0009, docs/access.md), tested as the runtime role.

* the catalog: every table has RLS enabled and forced, the runtime role owns nothing and bypasses nothing, every
  SECURITY DEFINER function pins its search_path and no view runs as its owner;
* fail closed: no actor, an empty or malformed actor, an unknown or inactive user, a suspended provider: no rows;
* a differential property test: for generated organizations, ``SELECT id FROM <table>`` with no predicate at all,
  as each actor, returns exactly the oracle's rows (tests/contract/test_scope.py) and the change log exactly the
  rows ``can_read`` admits;
* writes outside the write rules are refused (WITH CHECK: 42501) or filtered (USING: 0 rows, nothing changed);
* the audit trail records every change with the acting user, and the runtime role cannot tamper with it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from returns.result import Failure
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from arccm.adapters.container import Container
from arccm.adapters.postgres.database import Database
from arccm.adapters.postgres.roles import actor_group, actor_role, actor_roles
from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from arccm.application.ports.unit_of_work import ActorNotPermitted
from arccm.domain.access import Actor, Role, can_read
from arccm.domain.certificate import CompletionKind
from arccm.domain.errors import Forbidden
from tests.conftest import PgSchema
from tests.contract.test_scope import (
    build,
    expected_certificates,
    expected_enrollments,
    expected_sessions,
    organizations,
)
from tests.world import World, ok

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(pg_schema: PgSchema) -> World:
    return World.create(pg_schema.container())


def database(world: World) -> Database:
    db: Database = world.container.database()
    return db


@contextmanager
def as_runtime_role(db: Database, user_id: str | None, as_role: Role | None = None) -> Iterator[Connection]:
    """A raw connection as the runtime role with ``arccm.user_id`` set (or not) by hand, as a host service might —
    under the generic policies, or (``as_role``) switched to that domain role's database role, as arccm does."""
    with db.engine.connect() as connection:
        connection.execute(text("SELECT set_config('search_path', :s, true)"), {"s": f'"{db.schema}"'})
        if as_role is not None:
            connection.execute(
                text("SELECT set_config('role', :r, true)"), {"r": actor_role(db.app_role, as_role.value)}
            )
        if user_id is not None:
            connection.execute(text("SELECT set_config('arccm.user_id', :u, true)"), {"u": user_id})
            if user_id not in ("", "not-a-uuid"):  # and what arccm claims with it: the database's own answer
                connection.execute(text(CLAIMS))
        yield connection
        connection.rollback()


# an AP's role policies read its provider and locations from the transaction, and its guard checks them (0015)
CLAIMS = (
    "SELECT set_config('arccm.provider', COALESCE(CAST(arccm_provider() AS text), ''), true),"
    " set_config('arccm.locations', CAST(arccm_locations() AS text), true)"
)

POLICY_SETS = ["generic", "per role"]


@pytest.fixture(params=POLICY_SETS)
def policies(request: pytest.FixtureRequest) -> str:
    """Which policies a test reads and writes under: the runtime role's generic ones (a host service's SQL), or
    each domain role's own (migration 0011: what arccm's units of work run under)."""
    return str(request.param)


def role_for(policies: str, actor: Actor | None) -> Role | None:
    return actor.role if policies == "per role" and actor is not None else None


def tables(db: Database) -> list[str]:
    with db.owner_engine().connect() as connection:
        return list(
            connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1"), {"s": db.schema}
            ).scalars()
        )


def populated(world: World) -> tuple[Actor, Actor, Actor]:
    """An organization with a row in most tables: a session with an enrollment, a certificate, a team, a notice."""
    provider = world.provider(locations=1)
    ap = world.user(Role.AP, provider)
    ic = world.user(Role.IC, provider)
    learner = world.user(Role.IN)
    session = world.session(ap, ic, capacity=5)
    enrollment = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, learner.user_id)))
    world.run_class(session, {enrollment.id: (95, 95)})
    ok(
        world.container.issue_certificate()(
            ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
        )
    )
    assert world.admin is not None
    team = ok(world.container.create_team()(world.admin, c.CreateTeam("Blue", provider.id)))
    ok(world.container.add_team_member()(ap, c.AddTeamMember(team.id, ic.user_id)))
    return ap, ic, learner


# --- catalog ------------------------------------------------------------------------------------------------


def test_every_table_forces_row_level_security_and_the_runtime_role_bypasses_nothing(world: World) -> None:
    db = database(world)
    with db.owner_engine().connect() as connection:
        loose = (
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = :s AND c.relkind IN ('r', 'p') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
                ),
                {"s": db.schema},
            )
            .scalars()
            .all()
        )
        assert loose == []
        role = connection.execute(
            text("SELECT rolsuper, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = :r"), {"r": db.app_role}
        ).one()
        assert tuple(role) == (False, False, False)
        # the actor roles (migration 0011): no login, nothing bypassed, the runtime role may switch to them; they
        # inherit only their group's privileges, and the group is a member of nothing and logs in nowhere
        group = actor_group(db.app_role)
        for name in actor_roles(db.app_role):
            row = connection.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcanlogin, pg_has_role(:app, rolname, 'MEMBER'),"
                    " pg_has_role(rolname, :group, 'USAGE') FROM pg_roles WHERE rolname = :r"
                ),
                {"r": name, "app": db.app_role, "group": group},
            ).one()
            assert tuple(row) == (False, False, False, True, True), name
            granted = connection.execute(
                text(
                    "SELECT array_agg(g.rolname ORDER BY g.rolname) FROM pg_auth_members m"
                    " JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :r"
                ),
                {"r": name},
            ).scalar_one()
            assert granted == [group], name
        row = connection.execute(
            text(
                "SELECT rolsuper, rolbypassrls, rolcanlogin, (SELECT count(*) FROM pg_auth_members m"
                " WHERE m.member = r.oid) FROM pg_roles r WHERE rolname = :g"
            ),
            {"g": group},
        ).one()
        assert tuple(row) == (False, False, False, 0)
        owned = connection.execute(
            text("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = ANY(:r)"),
            {"r": [db.app_role, group, *actor_roles(db.app_role)]},
        ).scalar_one()
        assert owned == 0
        # no policy for everyone: the generic ones are the runtime role's, each role's are its own and guarded
        policies = connection.execute(
            text("SELECT policyname, roles::text[], qual, with_check FROM pg_policies WHERE schemaname = :s"),
            {"s": db.schema},
        ).all()
        assert not [p for p in policies if "public" in p.roles]
        for p in policies:
            if p.policyname.startswith("actor_"):
                # (and Supabase's authenticated, where the server has that role: arccm db upgrade adds it)
                assert db.app_role in p.roles, p
                assert set(p.roles) <= {db.app_role, "authenticated"}, p
            elif p.policyname != "owner_all":
                role = p.policyname.split("_")[0].upper()
                assert p.roles == [actor_role(db.app_role, role)], p
                for clause in (p.qual, p.with_check):
                    assert clause is None or clause.startswith(
                        f"(( SELECT {db.schema}.arccm_acts_as('{role}'::text) AS arccm_acts_as) AND "
                    ), p
        unpinned = (
            connection.execute(
                text(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s"
                    " AND p.prosecdef AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) g WHERE g LIKE 'search_path=%')"
                ),
                {"s": db.schema},
            )
            .scalars()
            .all()
        )
        assert unpinned == []
        public_definers = (
            connection.execute(
                text(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s"
                    " AND p.prosecdef AND has_function_privilege('public', p.oid, 'EXECUTE')"
                ),
                {"s": db.schema},
            )
            .scalars()
            .all()
        )
        assert public_definers == []
        owner_views = (
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = :s AND c.relkind = 'v'"
                    " AND NOT COALESCE('security_invoker=true' = ANY(c.reloptions), false)"
                ),
                {"s": db.schema},
            )
            .scalars()
            .all()
        )
        assert owner_views == []
        # no policy admits a row when its context is missing: no "IS NULL OR" disjunct, no bare current_setting
        lax = connection.execute(
            text(
                "SELECT tablename, policyname FROM pg_policies WHERE schemaname = :s"
                " AND (qual ILIKE '%is null or%' OR qual ILIKE '%current_setting%'"
                " OR with_check ILIKE '%is null or%' OR with_check ILIKE '%current_setting%')"
            ),
            {"s": db.schema},
        ).all()
        assert lax == []


# --- fail closed --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", [None, "", "not-a-uuid", str(uuid.uuid4())])
def test_without_a_valid_active_actor_every_table_is_empty(world: World, setting: str | None, policies: str) -> None:
    populated(world)
    db = database(world)
    roles: list[Role | None] = list(Role) if policies == "per role" else [None]
    for table, role in ((t, r) for t in tables(db) for r in roles):
        if table == "alembic_version":
            continue
        with as_runtime_role(db, setting, role) as connection:
            if setting == "not-a-uuid":  # a malformed id raises (22P02) where a policy looks: never "no filter"
                try:
                    count = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                except DBAPIError as error:
                    assert "invalid input syntax for type uuid" in str(error)  # noqa: PT017 - either outcome is right
                    continue
            else:
                count = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            assert count == 0, (table, setting, role)


def test_an_inactive_user_or_a_suspended_provider_reads_and_does_nothing(world: World, policies: str) -> None:
    ap, _, learner = populated(world)
    db = database(world)
    with as_runtime_role(db, str(ap.user_id), role_for(policies, ap)) as connection:
        assert connection.execute(text("SELECT count(*) FROM training_sessions")).scalar_one() == 1
    _suspend(db, ap.provider_id)
    with as_runtime_role(db, str(ap.user_id), role_for(policies, ap)) as connection:
        assert connection.execute(text("SELECT count(*) FROM training_sessions")).scalar_one() == 0
    refused = world.container.resolve_actor()(ap.user_id)
    assert isinstance(refused, Failure)
    assert isinstance(refused.failure(), Forbidden)
    session = world.container.read_models().sessions(world.admin)[0]  # type: ignore[arg-type]
    # an Actor resolved before the suspension acts no more, and reads no more
    cancelled = world.container.cancel_session()(ap, c.CancelSession(session.id, "weather"))
    assert isinstance(cancelled.failure(), Forbidden)
    with pytest.raises(ActorNotPermitted):
        world.container.read_models().sessions(ap)
    # the learner: an inactive profile
    with db.owner_engine().begin() as owner:
        owner.execute(
            text(f"UPDATE \"{db.schema}\".profiles SET status = 'inactive' WHERE id = :p"), {"p": learner.user_id}
        )
    with as_runtime_role(db, str(learner.user_id), role_for(policies, learner)) as connection:
        assert connection.execute(text("SELECT count(*) FROM certificates")).scalar_one() == 0
    with pytest.raises(ActorNotPermitted):
        world.container.read_models().certificates(learner, world.clock.now().date())


def test_the_standing_in_one_call_answers_as_the_four_helpers(world: World) -> None:
    """``arccm_standing()`` (migration 0021), which every actor's first statement asks, says what ``arccm_uid()``,
    ``arccm_role()``, ``arccm_provider()`` and ``arccm_locations()`` say — for active users of every kind, an
    inactive one, a suspended provider's AP, an unknown id and no id at all."""
    ap, ic, learner = populated(world)
    assert world.admin is not None
    wide = world.user(Role.AP, world.provider(locations=3))
    suspended = world.user(Role.AP, world.provider(locations=1))
    inactive = world.user(Role.IT)
    db = database(world)
    _suspend(db, suspended.provider_id)
    with db.owner_engine().begin() as owner:
        owner.execute(
            text(f"UPDATE \"{db.schema}\".profiles SET status = 'inactive' WHERE id = :p"), {"p": inactive.user_id}
        )
    users = [world.admin, ap, wide, ic, learner, suspended, inactive]
    ids: list[str | None] = [*(str(u.user_id) for u in users), str(uuid.uuid4()), "", None]
    answered = set()
    for user_id in ids:
        with as_runtime_role(db, user_id) as connection:
            row = connection.execute(
                text("SELECT arccm_standing(), arccm_uid(), arccm_role(), arccm_provider(), arccm_locations()")
            ).one()
        standing, uid, role, provider, locations = row
        if standing is None:
            assert (uid, role, provider, locations) == (None, None, None, []), user_id
        else:
            assert standing["uid"] == str(uid) == user_id
            assert standing["role"] == role
            assert standing["provider"] == (str(provider) if provider else None)
            assert standing["locations"] == [str(location) for location in locations]
        answered.add(standing is not None)
    assert answered == {True, False}


def test_an_ap_claiming_a_provider_or_locations_not_its_own_sees_nothing(world: World) -> None:
    """An AP's role policies read its provider and locations from the transaction (migration 0015); its guard
    admits them only when they are the AP's own, so a forged, stale or missing claim reads nothing anywhere."""
    ap, _, _ = populated(world)
    db = database(world)
    other = world.provider(locations=1)
    own = sorted(str(location) for location in ap.location_ids)
    foreign = str(next(iter(other.location_ids)))
    forged = [
        (str(other.id), "{" + foreign + "}"),  # another provider's claims
        (str(ap.provider_id), "{" + ",".join([*own, foreign]) + "}"),  # one location more
        (str(ap.provider_id), "{}"),  # fewer
        ("", "{" + ",".join(own) + "}"),  # no provider
        (str(ap.provider_id), None),  # locations not claimed at all
    ]
    with as_runtime_role(db, str(ap.user_id), Role.AP) as connection:  # its true claims: it reads its session
        assert connection.execute(text("SELECT count(*) FROM training_sessions")).scalar_one() == 1
    for provider, locations in forged:
        for table in tables(db):
            if table == "alembic_version":
                continue
            with as_runtime_role(db, str(ap.user_id), Role.AP) as connection:
                connection.execute(
                    text("SELECT set_config('arccm.provider', :p, true), set_config('arccm.locations', :l, true)"),
                    {"p": provider, "l": locations if locations is not None else ""},
                )
                if locations is None:
                    connection.execute(text("RESET arccm.locations"))
                count = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                assert count == 0, (provider, locations, table)


def _sessions(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM training_sessions")).scalar_one())


def _suspend(db: Database, provider: uuid.UUID | None) -> None:
    with db.owner_engine().begin() as owner:
        owner.execute(
            text(f"UPDATE \"{db.schema}\".authorized_providers SET status = 'suspended' WHERE id = :p"), {"p": provider}
        )


def test_the_standing_proven_at_the_first_statement_holds_only_for_those_claims_in_that_transaction(
    world: World,
) -> None:
    """``arccm_standing()`` leaves ``arccm.proof`` when the claims are the truth (migration 0023) and the guards then
    answer without a query: a claim changed after it, a proof carried into another transaction, or one the caller
    makes up is no proof — the guard asks the database, as for a caller that never asked for its standing."""
    ap, _, _ = populated(world)
    db = database(world)
    own = "{" + ",".join(sorted(str(location) for location in ap.location_ids)) + "}"
    with db.transaction(ap) as connection:
        proof = connection.execute(text("SELECT current_setting('arccm.proof')")).scalar_one()
        assert len(proof) == 64, proof
        assert _sessions(connection) == 1
        helpers = text("SELECT arccm_uid(), arccm_role(), arccm_provider(), arccm_locations()")
        truth = (ap.user_id, "AP", ap.provider_id, sorted(ap.location_ids))
        assert tuple(connection.execute(helpers).one()) == truth  # the claims, proven
        foreign = "{" + ",".join([own[1:-1], str(uuid.uuid4())]) + "}"
        for setting, value in (("arccm.locations", foreign), ("arccm.provider", str(uuid.uuid4()))):
            connection.execute(text("SELECT set_config(:n, :v, true)"), {"n": setting, "v": value})
            assert _sessions(connection) == 0, setting  # the proof no longer fits the claims; the check refuses
            assert tuple(connection.execute(helpers).one()) == truth  # the helpers ask the database, not the claims
            connection.execute(
                text("SELECT set_config(:n, :v, true)"),
                {"n": setting, "v": own if setting == "arccm.locations" else str(ap.provider_id)},
            )
            assert _sessions(connection) == 1
    # the key is the owner's, and set (a key of NULLs would make every proof one anybody can compute) ...
    with db.owner_engine().connect() as owner:
        halves = owner.execute(
            text("SELECT pg_sequence_last_value(:a), pg_sequence_last_value(:b)"),
            {"a": f'"{db.schema}".arccm_guard_key_a', "b": f'"{db.schema}".arccm_guard_key_b'},
        ).one()
    assert None not in halves, halves
    # ... and no actor role, nor the runtime role, reads it: PostgreSQL 15 refuses, 18 answers NULL
    for role in [None, *Role]:
        for key in ("arccm_guard_key_a", "arccm_guard_key_b"):
            with as_runtime_role(db, str(ap.user_id), role) as connection:
                try:
                    seen = connection.execute(text(f"SELECT pg_sequence_last_value('{key}')")).scalar_one()
                except DBAPIError as error:
                    assert isinstance(error.orig, psycopg.errors.InsufficientPrivilege), (role, key)  # noqa: PT017
                else:
                    assert seen is None, (role, key)
            with as_runtime_role(db, str(ap.user_id), role) as connection, pytest.raises(DBAPIError) as refused:
                connection.execute(text(f"SELECT last_value FROM {key}"))
            assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), (role, key)
    _suspend(db, ap.provider_id)
    # the old proof, or any made-up one, in a transaction of its own: the suspended AP reads nothing
    for forged in (proof, "0" * 64, ""):
        with as_runtime_role(db, str(ap.user_id), Role.AP) as connection:
            connection.execute(
                text(
                    "SELECT set_config('arccm.role', 'AP', true), set_config('arccm.provider', :p, true),"
                    " set_config('arccm.locations', :l, true), set_config('arccm.proof', :proof, true)"
                ),
                {"p": str(ap.provider_id), "l": own, "proof": forged},
            )
            assert _sessions(connection) == 0, forged
            assert connection.execute(text("SELECT arccm_uid()")).scalar_one() is None
    with pytest.raises(ActorNotPermitted):
        world.container.read_models().sessions(ap)


def test_a_key_that_reads_null_makes_no_proof(world: World) -> None:
    """A key half that reads NULL (its sequence reset) must not make the proof a hash of the claims alone, which
    anybody could compute: the proof is then empty, and every guard asks the database."""
    ap, _, _ = populated(world)
    db = database(world)
    key = f'"{db.schema}".arccm_guard_key_b'
    with db.owner_engine().begin() as owner:
        owner.execute(text("SELECT setval(:k, 1, false)"), {"k": key})
    try:
        with db.transaction(ap) as connection:
            assert connection.execute(text("SELECT current_setting('arccm.proof')")).scalar_one() == ""
            assert _sessions(connection) == 1
        _suspend(db, ap.provider_id)
        with as_runtime_role(db, str(ap.user_id), Role.AP) as connection:
            claims = "SELECT set_config('arccm.role', 'AP', true), set_config('arccm.proof', '', true)"
            connection.execute(text(claims))
            assert _sessions(connection) == 0
    finally:  # a new key for the tests after this one (the schema is the module's)
        db.rotate_guard_key()


def test_a_suspension_reaches_a_transaction_at_its_next_statement_only_if_it_never_proved_its_standing(
    world: World,
) -> None:
    """The rule docs/access.md states: a unit of work whose first statement proved the actor's standing keeps it to
    its end (the next one is refused); a caller that set its claims by hand is checked again at every statement."""
    ap, _, _ = populated(world)
    db = database(world)
    with db.transaction(ap) as proven, as_runtime_role(db, str(ap.user_id), Role.AP) as by_hand:
        assert _sessions(proven) == 1
        assert _sessions(by_hand) == 1
        _suspend(db, ap.provider_id)
        assert _sessions(proven) == 1
        assert _sessions(by_hand) == 0
    with pytest.raises(ActorNotPermitted), db.transaction(ap):
        pass


def test_rotating_the_key_ends_every_proof_so_a_suspension_reaches_running_work_at_once(world: World) -> None:
    """``Database.rotate_guard_key()`` (``arccm db rotate-key``): a transaction that proved its standing before the
    rotation is checked against the database at its next statement, as one that never proved it; the next
    transaction proves its standing under the new key."""
    ap, _, learner = populated(world)
    admin = world.admin
    assert admin is not None
    db = database(world)
    with db.transaction(admin) as other:
        with db.transaction(ap) as proven:
            assert _sessions(proven) == 1
            _suspend(db, ap.provider_id)
            assert _sessions(proven) == 1  # the proof holds to the transaction's end …
            db.rotate_guard_key()
            assert _sessions(proven) == 0  # … unless the key changed: the guard asked, and the AP is suspended
            assert proven.execute(text("SELECT arccm_uid()")).scalar_one() is None
        assert _sessions(other) > 0  # an active user's guard asks the database too, which still says yes
    with db.transaction(learner) as again:  # proven under the new key, so it holds past a deactivation
        seen = _sessions(again)
        assert seen > 0
        with db.owner_engine().begin() as owner:
            owner.execute(
                text(f"UPDATE \"{db.schema}\".profiles SET status = 'inactive' WHERE id = :p"), {"p": learner.user_id}
            )
        assert _sessions(again) == seen
    with pytest.raises(ActorNotPermitted), db.transaction(ap):
        pass


def test_a_role_changed_since_the_actor_was_resolved_is_refused(world: World) -> None:
    _, ic, _ = populated(world)
    assert world.admin is not None
    ok(world.container.change_user_role()(world.admin, c.ChangeUserRole(ic.user_id, Role.IP)))
    with pytest.raises(ActorNotPermitted):
        world.container.read_models().enrollments(ic)  # the stale IC actor
    fresh = ok(world.container.resolve_actor()(ic.user_id))
    assert fresh.role is Role.IP
    assert world.container.read_models().enrollments(fresh)


def test_switching_to_a_role_the_actor_does_not_hold_gains_nothing(world: World) -> None:
    """The runtime role may switch to any actor role; each role's policies first ask the database for the actor's
    role, so a caller that sets a learner's id and switches to the administrators' role sees and changes nothing."""
    ap, ic, learner = populated(world)
    db = database(world)
    for user in (ap, ic, learner):
        for role in (r for r in Role if r is not user.role):
            for table in tables(db):
                if table == "alembic_version":
                    continue
                with as_runtime_role(db, str(user.user_id), role) as connection:
                    assert connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one() == 0, (
                        user.role,
                        role,
                        table,
                    )
            with as_runtime_role(db, str(user.user_id), role) as connection:
                assert connection.execute(text("UPDATE training_sessions SET title = title")).rowcount == 0
            with as_runtime_role(db, str(user.user_id), role) as connection, pytest.raises(DBAPIError) as refused:
                connection.execute(
                    text(
                        "INSERT INTO teams (id, name, provider_id, created_by) VALUES (gen_random_uuid(), 'x', :p, :u)"
                    ),
                    {"p": ap.provider_id, "u": user.user_id},
                )
            assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), refused.value


# --- writes -------------------------------------------------------------------------------------------------


def test_writes_outside_the_rules_are_refused_or_filtered(world: World, policies: str) -> None:
    ap, ic, learner = populated(world)
    other = world.user(Role.AP, world.provider(locations=1))
    db = database(world)

    def attempt(user: Actor, sql: str, params: dict[str, Any] | None = None) -> int | str:
        with as_runtime_role(db, str(user.user_id), role_for(policies, user)) as connection:
            try:
                return connection.execute(text(sql), params or {}).rowcount
            except DBAPIError as error:
                if not isinstance(error.orig, psycopg.errors.InsufficientPrivilege):
                    raise
                return "refused"

    # USING filters: another provider's AP, an instructor, a learner change nothing
    for user in (other, learner):
        assert attempt(user, "UPDATE training_sessions SET title = 'x'") == 0
    assert attempt(learner, "UPDATE certificates SET course_name = 'x'") == 0
    assert attempt(other, "UPDATE session_enrollments SET attendance_status = 'absent'") == 0
    # WITH CHECK refuses: a learner may not write the change log as someone else, nor queue a session
    assert (
        attempt(
            learner,
            "INSERT INTO change_log (topic, event, payload, occurred_at, kind, actor_id)"
            " VALUES ('x', 'x', '{}', now(), 'session', :a)",
            {"a": ap.user_id},
        )
        == "refused"
    )
    assert attempt(other, "UPDATE profiles SET role = 'SA' WHERE id = :me", {"me": other.user_id}) == 0  # USING
    assert attempt(ap, "UPDATE profiles SET role = 'SA' WHERE id = :ic", {"ic": ic.user_id}) == "refused"  # CHECK
    assert attempt(ap, "UPDATE profiles SET role = 'IP' WHERE id = :ic", {"ic": ic.user_id}) == 1
    # no grant at all: the audit log, deleting certificates
    assert attempt(world.admin, "DELETE FROM audit_log") == "refused"  # type: ignore[arg-type]
    assert attempt(world.admin, "UPDATE audit_log SET actor_id = NULL") == "refused"  # type: ignore[arg-type]
    assert attempt(world.admin, "TRUNCATE audit_log") == "refused"  # type: ignore[arg-type]
    # and the AP of the session may change it
    assert attempt(ap, "UPDATE training_sessions SET description = 'room 4'") == 1


def test_an_enrollment_carries_its_sessions_scope_whatever_a_statement_writes(world: World, policies: str) -> None:
    """An AP reads an enrollment by its session's location and provider, which the enrollment carries (migration
    0025): set from the session at every insert, put back by any statement that writes them, and moved with the
    session in the same statement — so the AP's policy on enrollments agrees with its policy on sessions."""
    db = database(world)
    assert world.admin is not None
    mine, theirs = world.provider(locations=2), world.provider(locations=1)
    ap, other = world.user(Role.AP, mine), world.user(Role.AP, theirs)
    here = next(location for location in world.locations if location.id in mine.location_ids)
    there = next(location for location in world.locations if location.id in theirs.location_ids)
    session = world.session(world.admin, world.user(Role.IC, mine), location=here)  # type: ignore[arg-type]
    learner = world.user(Role.IN)
    enrolled = ok(world.container.enroll_learner()(world.admin, c.EnrollLearner(session.id, learner.user_id)))

    def carried() -> tuple[Any, ...]:
        with db.owner_engine().connect() as owner:
            return tuple(
                owner.execute(
                    text(
                        f'SELECT session_location_id, session_provider_id FROM "{db.schema}".session_enrollments'
                        " WHERE id = :e"
                    ),
                    {"e": enrolled.id},
                ).one()
            )

    def reads(user: Actor) -> int:
        with as_runtime_role(db, str(user.user_id), role_for(policies, user)) as connection:
            return int(connection.execute(text("SELECT count(*) FROM session_enrollments")).scalar_one())

    assert carried() == (here.id, mine.id)
    assert (reads(ap), reads(other)) == (1, 0)
    # a statement that writes the columns (the owner's, which no policy limits) gets the session's values back
    with db.owner_engine().begin() as owner:
        owner.execute(
            text(
                f'UPDATE "{db.schema}".session_enrollments SET session_location_id = :l, session_provider_id = :p'
                " WHERE id = :e"
            ),
            {"l": there.id, "p": theirs.id, "e": enrolled.id},
        )
    assert carried() == (here.id, mine.id)
    assert (reads(ap), reads(other)) == (1, 0)
    # the session moves to the other provider (an administrator's SQL as the runtime role): its enrollment follows
    with as_runtime_role(db, str(world.admin.user_id), role_for(policies, world.admin)) as connection:
        moved = connection.execute(
            text("UPDATE training_sessions SET location_id = :l, provider_id = :p WHERE id = :s"),
            {"l": there.id, "p": theirs.id, "s": session.id},
        )
        assert moved.rowcount == 1
        assert connection.execute(
            text("SELECT session_location_id, session_provider_id FROM session_enrollments WHERE id = :e"),
            {"e": enrolled.id},
        ).one() == (there.id, theirs.id)
        connection.commit()
    assert carried() == (there.id, theirs.id)
    assert (reads(ap), reads(other)) == (0, 1)
    # no read policy on enrollments looks at another table any more
    with db.owner_engine().connect() as owner:
        quals = owner.execute(
            text(
                "SELECT policyname, qual FROM pg_policies WHERE schemaname = :s AND tablename = 'session_enrollments'"
                " AND cmd = 'SELECT'"
            ),
            {"s": db.schema},
        ).all()
    assert quals
    assert [name for name, qual in quals if "training_sessions" in qual] == []


def test_an_enrollment_written_while_its_session_moves_carries_the_new_place(world: World) -> None:
    """A session moved by one transaction while another enrolls into it: the enrollment's trigger waits for the
    move's row lock and reads the session as moved — without that lock it read the place the move was leaving,
    and the move's own trigger, run before the enrollment existed, could not carry it (migration 0025)."""
    db = database(world)
    mine, theirs = world.provider(locations=1), world.provider(locations=1)
    here = next(location for location in world.locations if location.id in mine.location_ids)
    there = next(location for location in world.locations if location.id in theirs.location_ids)
    session = world.session(world.admin, world.user(Role.IC, mine), location=here)  # type: ignore[arg-type]
    learner, enrollment, schema = world.user(Role.IN), uuid.uuid4(), f'"{db.schema}"'
    engine = db.owner_engine()
    with engine.connect() as mover, engine.connect() as writer, engine.connect() as watcher:
        mover.execute(
            text(f"UPDATE {schema}.training_sessions SET location_id = :l, provider_id = :p WHERE id = :s"),
            {"l": there.id, "p": theirs.id, "s": session.id},
        )  # not committed yet
        pid = writer.execute(text("SELECT pg_backend_pid()")).scalar_one()
        writer.commit()

        def enroll() -> None:  # a host service's SQL, as the owner: no policy in the way
            writer.execute(
                text(
                    f"INSERT INTO {schema}.session_enrollments (id, session_id, learner_id, status, enrolled_at)"
                    " VALUES (:e, :s, :l, 'enrolled', now())"
                ),
                {"e": enrollment, "s": session.id, "l": learner.user_id},
            )
            writer.commit()

        with ThreadPoolExecutor(1) as pool:
            enrolled = pool.submit(enroll)
            deadline = time.monotonic() + 60
            while (
                watcher.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
                ).scalar()
                != "Lock"
            ):  # polling the server until the enrollment waits for the session's row
                watcher.rollback()
                assert not enrolled.done(), enrolled.result()
                assert time.monotonic() < deadline, "the enrollment never waited for the session"
                watcher.execute(text("SELECT pg_sleep(0.05)"))
            watcher.rollback()
            mover.commit()
            enrolled.result(timeout=60)
        carried = watcher.execute(
            text(f"SELECT session_location_id, session_provider_id FROM {schema}.session_enrollments WHERE id = :e"),
            {"e": enrollment},
        ).one()
    assert tuple(carried) == (there.id, theirs.id)


# --- differential property test ------------------------------------------------------------------------------


CASES: list[int] = []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=organizations)
def test_raw_reads_under_rls_equal_the_oracle_and_the_domain(pg_schema: PgSchema, spec: dict) -> None:  # type: ignore[type-arg]
    def fresh() -> Container:
        pg_schema.close_containers()
        pg_schema.truncate()
        return pg_schema.container()

    world, actors, facts = build(fresh, spec)
    db = database(world)
    assert world.admin is not None
    with db.owner_engine().connect() as owner:
        written = owner.execute(text(f'SELECT count(*) FROM "{db.schema}".change_log')).scalar_one()
    # the feed releases a change once no transaction that may precede it is running; on a busy server that can
    # lag the commit by a moment (database.feed_horizon), so read until it has caught up with what was written
    everything = world.container.change_feed().read(world.admin, Cursor.origin(), 100_000).changes
    for _ in range(10_000):
        if len(everything) == written:
            break
        everything = world.container.change_feed().read(world.admin, Cursor.origin(), 100_000).changes
    assert len(everything) == written
    for actor in actors:
        visible = {ch.cursor.id for ch in everything if can_read(actor, ch.event.scope)}
        # as arccm reads (the actor's own database role), and as a host service's SQL (the generic policies)
        with db.transaction(actor) as mine, as_runtime_role(db, str(actor.user_id)) as generic:
            for connection in (mine, generic):

                def ids(sql: str, connection: Connection = connection) -> set[Any]:
                    return set(connection.execute(text(sql)).scalars())

                assert ids("SELECT id FROM training_sessions") == expected_sessions(actor, facts), actor.role
                assert ids("SELECT id FROM session_enrollments") == expected_enrollments(actor, facts), actor.role
                assert ids("SELECT id FROM certificates") == expected_certificates(actor, facts), actor.role
                assert ids("SELECT id FROM change_log") == visible, actor.role
        CASES.append(1)
    # and once inactive, an actor of any role reads nothing at all
    gone = actors[1 + len(spec["sessions"]) % (len(actors) - 1)]
    with db.owner_engine().begin() as owner:
        owner.execute(
            text(f"UPDATE \"{db.schema}\".profiles SET status = 'inactive' WHERE id = :p"), {"p": gone.user_id}
        )
    with pytest.raises(ActorNotPermitted), db.transaction(gone):
        pass
    for table, role in (
        (t, r)
        for t in ("training_sessions", "session_enrollments", "certificates", "change_log", "profiles")
        for r in (None, gone.role)
    ):
        with as_runtime_role(db, str(gone.user_id), role) as connection:
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, (gone.role, table)


# --- audit trail --------------------------------------------------------------------------------------------


def test_every_committed_change_has_its_audit_rows_with_the_acting_user(world: World) -> None:
    db = database(world)
    ap, ic, learner = populated(world)
    session = world.container.read_models().sessions(ap)[0]
    enrollment = world.container.read_models().enrollments(ap)[0]
    certificate = world.container.read_models().certificates(ap, world.clock.now().date())[0]
    ok(world.container.revoke_certificate()(ap, c.RevokeCertificate(certificate.id, "issued in error")))
    assert world.admin is not None
    ok(world.container.change_user_role()(world.admin, c.ChangeUserRole(ic.user_id, Role.IP)))
    refused = world.container.cancel_session()(learner, c.CancelSession(session.id, "no"))
    assert isinstance(refused.failure(), Forbidden)
    # a rolled-back unit of work leaves nothing behind
    with db.transaction(ap, writer=True) as connection:
        connection.execute(text("UPDATE training_sessions SET description = 'never committed'"))
    trail = world.container.audit()
    by_row = {(e.table, e.row_id): e for e in trail.history(limit=100_000)}
    attendance = [e for e in trail.history("session_enrollments", str(enrollment.id)) if e.operation == "UPDATE"]
    assert world.admin is not None  # the class was run by SA (tests/world.py)
    marked = [e for e in attendance if e.new_values and "attendance_status" in e.new_values]
    assert [(e.actor_id, e.old_values, e.new_values) for e in marked] == [
        (world.admin.user_id, {"attendance_status": "registered"}, {"attendance_status": "attended"})
    ]
    revoked = [
        e
        for e in trail.history("certificates")
        if e.operation == "UPDATE" and e.new_values and "revoked_at" in e.new_values
    ]
    assert [e.actor_id for e in revoked] == [ap.user_id]
    role = trail.history("profiles", str(ic.user_id))
    assert role[-1].actor_id == world.admin.user_id
    assert role[-1].new_values == {"role": "IP"}
    assert all("never committed" not in str(e.new_values) for e in by_row.values())
    refusals = trail.history(actor_id=learner.user_id)
    assert [e.operation for e in refusals] == ["REFUSED"]
    assert refusals[0].action  # what was attempted
    assert refusals[0].reason  # and why not
    # every row written has an INSERT entry by whoever wrote it (the system for the organization's own set-up)
    with db.owner_engine().connect() as owner:
        missing = owner.execute(
            text(
                f'SELECT count(*) FROM "{db.schema}".certificates c WHERE NOT EXISTS (SELECT 1 FROM "{db.schema}".audit_log a'
                " WHERE a.table_name = 'certificates' AND a.row_id = c.id::text AND a.operation = 'INSERT')"
            )
        ).scalar_one()
    assert missing == 0


# --- Supabase -----------------------------------------------------------------------------------------------


def test_on_supabase_authenticated_reads_its_scope_from_the_jwt_and_anon_only_verifies(pg_schema: PgSchema) -> None:
    """Supabase's roles, created as Supabase creates them; the claims set as PostgREST sets them per request."""
    pg_schema.add_supabase_roles()
    pg_schema.database.upgrade()  # a database that gained Supabase's roles: the next upgrade grants them
    world = World.create(pg_schema.container())
    ap, ic, learner = populated(world)
    other = world.user(Role.IN)
    db = database(world)
    code = world.container.read_models().certificates(ap, world.clock.now().date())[0].code.replace("-", "")

    def as_supabase(role: str, sub: uuid.UUID | None, sql: str, **params: Any) -> list[Any]:
        with pg_schema.owner.connect() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{db.schema}"'))
            connection.execute(text(f"SET LOCAL ROLE {role}"))
            claims = json.dumps({"role": role, **({"sub": str(sub)} if sub else {})})
            connection.execute(text("SELECT set_config('request.jwt.claims', :c, true)"), {"c": claims})
            try:
                return list(connection.execute(text(sql), params).all())
            finally:
                connection.rollback()

    def count(role: str, sub: uuid.UUID | None, table: str) -> int:
        return int(as_supabase(role, sub, f"SELECT count(*) FROM {table}")[0][0])

    assert count("authenticated", ap.user_id, "session_enrollments") == 1
    assert count("authenticated", ic.user_id, "session_enrollments") == 1
    assert count("authenticated", learner.user_id, "certificates") == 1
    assert count("authenticated", other.user_id, "certificates") == 0
    assert count("authenticated", None, "training_sessions") == 0  # no sub: nothing
    # arccm.user_id means nothing to authenticated: the JWT decides
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{db.schema}"'))
        connection.execute(text("SET LOCAL ROLE authenticated"))
        connection.execute(text("SELECT set_config('arccm.user_id', :u, true)"), {"u": str(world.admin.user_id)})  # type: ignore[union-attr]
        assert connection.execute(text("SELECT count(*) FROM certificates")).scalar_one() == 0
        connection.rollback()
    with pytest.raises(DBAPIError, match="permission denied"):
        as_supabase("authenticated", ap.user_id, "UPDATE training_sessions SET title = 'x'")
    with pytest.raises(DBAPIError, match="permission denied"):
        as_supabase("authenticated", ic.user_id, "SELECT email FROM profiles")
    shown = as_supabase(
        "authenticated",
        ic.user_id,
        "SELECT display_name, arccm_email(id) FROM profiles WHERE id = :p",
        p=learner.user_id,
    )
    assert [tuple(r) for r in shown] == [(world.profiles[learner.user_id].display_name, "")]
    with pytest.raises(DBAPIError, match="permission denied"):
        as_supabase("anon", None, "SELECT count(*) FROM certificates")
    found = as_supabase(
        "anon",
        None,
        "SELECT status, recipient_name FROM arccm_verify(:code, :today)",
        code=code,
        today=world.clock.now().date(),
    )
    assert [row[0] for row in found] == ["active"]
    # an imported certificate's old code (migration 0019): anon may ask, and learns only the public fields
    with pg_schema.owner.begin() as owner:
        owner.execute(
            text(
                f'INSERT INTO "{pg_schema.name}".legacy_codes (code, certificate_id)'
                f" SELECT 'ABC12345XY', id FROM \"{pg_schema.name}\".certificates WHERE verification_code = :c"
            ),
            {"c": code},
        )
    old = as_supabase(
        "anon", None, "SELECT status FROM arccm_verify_legacy('abc12345xy', :today)", today=world.clock.now().date()
    )
    assert [row[0] for row in old] == ["active"]
    with pytest.raises(DBAPIError, match="permission denied"):
        as_supabase("anon", None, "SELECT count(*) FROM legacy_codes")


# --- contact details and erasure ----------------------------------------------------------------------------


def test_contact_details_are_for_the_person_admins_and_their_ap_only(world: World) -> None:
    ap, ic, learner = populated(world)
    stranger = world.user(Role.AP, world.provider(locations=1))
    db = database(world)
    email = world.profiles[learner.user_id].email
    with as_runtime_role(db, str(ic.user_id)) as connection, pytest.raises(DBAPIError, match="permission denied"):
        connection.execute(text("SELECT email FROM profiles"))
    for who, sees in ((learner, email), (ap, email), (world.admin, email), (ic, ""), (stranger, "")):
        with as_runtime_role(db, str(who.user_id)) as connection:  # type: ignore[union-attr]
            shown = connection.execute(text("SELECT arccm_email(:p), arccm_phone(:p)"), {"p": learner.user_id}).one()
        assert shown[0] == sees, who.role  # type: ignore[union-attr]
        assert (shown[1] != "") == (sees != ""), who.role  # type: ignore[union-attr]
    # the instructor loads the learner's profile in a use case: the name, not the contact details
    with world.container.unit_of_work()(ic) as uow:
        seen = uow.profiles.find(learner.user_id)
    assert seen is not None
    assert (seen.display_name, seen.email, seen.phone) == (world.profiles[learner.user_id].display_name, "", "")
    # and the notice of the certificate (queued by AP) went to the learner's stored address all the same
    with db.owner_engine().connect() as owner:
        addressed = owner.execute(
            text(f'SELECT email, email_status FROM "{db.schema}".notifications WHERE user_id = :p'),
            {"p": learner.user_id},
        ).all()
    assert addressed
    assert {tuple(row) for row in addressed} == {(email, "pending")}


def test_erasure_keeps_the_records_and_leaves_no_copy_of_the_name(world: World) -> None:
    ap, _, learner = populated(world)
    db = database(world)
    name = world.profiles[learner.user_id].display_name
    today = world.clock.now().date()
    certificate = world.container.read_models().certificates(learner, today)[0]
    sessions_before = world.container.read_models().sessions(ap)
    refused = world.container.erase_person()(ap, c.ErasePerson(learner.user_id))
    assert isinstance(refused.failure(), Forbidden)
    assert world.admin is not None
    ok(world.container.erase_person()(world.admin, c.ErasePerson(learner.user_id)))
    verified = ok(world.container.verify_certificate()(c.VerifyCertificate(certificate.code))).certificate
    assert verified.status == "active"  # still genuine; the public page shows the holder masked, as ever
    held = [x for x in world.container.read_models().certificates(world.admin, today) if x.id == certificate.id]
    assert [x.recipient_name for x in held] == ["Erased learner"]
    assert world.container.read_models().sessions(ap) == sessions_before  # counters and the rest untouched
    with db.owner_engine().connect() as owner:
        leftovers = owner.execute(
            text(
                f'SELECT count(*) FROM "{db.schema}".audit_log WHERE old_values::text LIKE :n OR new_values::text LIKE :n'
            ),
            {"n": f"%{name}%"},
        ).scalar_one()
        erased = (
            owner.execute(
                text(f"SELECT actor_id FROM \"{db.schema}\".audit_log WHERE operation = 'ERASED' AND row_id = :p"),
                {"p": str(learner.user_id)},
            )
            .scalars()
            .all()
        )
    assert leftovers == 0
    assert erased == [world.admin.user_id]
    assert isinstance(world.container.resolve_actor()(learner.user_id).failure(), Forbidden)  # erased: acts no more


# --- the matrix: role × table × command ---------------------------------------------------------------------

ALLOWED, FILTERED, REFUSED = "allowed", "filtered", "refused"
# UPDATE of every row (each column set to itself) as: SA, the session's AP, another provider's AP, the session's
# lead instructor (IC), the learner (IN); docs/access.md's write rules, cell by cell
UPDATES: dict[str, tuple[str, str, str, str, str]] = {
    "locations": (ALLOWED, FILTERED, FILTERED, FILTERED, FILTERED),
    "authorized_providers": (ALLOWED, FILTERED, FILTERED, FILTERED, FILTERED),
    "provider_locations": (ALLOWED, FILTERED, FILTERED, FILTERED, FILTERED),
    "course_templates": (ALLOWED, FILTERED, FILTERED, FILTERED, FILTERED),
    "profiles": (ALLOWED, ALLOWED, FILTERED, FILTERED, FILTERED),
    "instructor_profiles": (ALLOWED, ALLOWED, FILTERED, FILTERED, FILTERED),
    "training_sessions": (ALLOWED, ALLOWED, FILTERED, ALLOWED, FILTERED),
    "session_enrollments": (ALLOWED, ALLOWED, FILTERED, ALLOWED, FILTERED),
    "certificates": (ALLOWED, ALLOWED, FILTERED, ALLOWED, FILTERED),
    "teams": (ALLOWED, ALLOWED, FILTERED, FILTERED, FILTERED),
    "team_members": (ALLOWED, ALLOWED, FILTERED, FILTERED, FILTERED),
    "notifications": (ALLOWED, FILTERED, FILTERED, FILTERED, ALLOWED),
    "user_compliance_records": (REFUSED,) * 5,  # append-only: no UPDATE privilege at all
    "change_log": (REFUSED,) * 5,
    "audit_log": (REFUSED,) * 5,
}
DELETABLE = {"team_members": (ALLOWED, ALLOWED, FILTERED, FILTERED, FILTERED)}


def test_the_role_table_command_matrix(world: World, policies: str) -> None:
    ap, ic, learner = populated(world)
    other = world.user(Role.AP, world.provider(locations=1))
    assert world.admin is not None
    metric = uuid.uuid4()
    with database(world).owner_engine().begin() as owner:  # a compliance record, so that table has a row too
        schema = database(world).schema
        owner.execute(
            text(f"INSERT INTO \"{schema}\".compliance_metrics (id, name, weight) VALUES (:m, 'CPR', 1)"), {"m": metric}
        )
        owner.execute(
            text(
                f"INSERT INTO \"{schema}\".user_compliance_records (user_id, metric_id, status, recorded_on) VALUES (:u, :m, 'compliant', now())"
            ),
            {"u": ic.user_id, "m": metric},
        )
    db = database(world)
    actors = (world.admin, ap, other, ic, learner)

    def outcome(user: Actor, sql: str) -> str:
        with as_runtime_role(db, str(user.user_id), role_for(policies, user)) as connection:
            try:
                done = connection.execute(text(sql)).rowcount
            except DBAPIError as error:
                if not isinstance(error.orig, psycopg.errors.InsufficientPrivilege):
                    raise
                return REFUSED
        return ALLOWED if done else FILTERED

    with db.owner_engine().connect() as owner:
        columns = {
            table: owner.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"
                    " AND column_name NOT IN ('id', 'email', 'phone') AND is_generated = 'NEVER' AND identity_generation IS NULL"
                    " ORDER BY ordinal_position LIMIT 1"
                ),
                {"s": db.schema, "t": table},
            ).scalar_one()
            for table in UPDATES
        }
        for table in UPDATES:  # every table of the matrix has rows: an empty one would pass every cell
            assert owner.execute(text(f'SELECT count(*) FROM "{db.schema}"."{table}"')).scalar_one() > 0, table
    found = {
        table: tuple(outcome(user, f'UPDATE "{table}" SET {columns[table]} = {columns[table]}') for user in actors)
        for table in UPDATES
    }
    assert found == UPDATES
    deletes = {
        table: tuple(outcome(user, f'DELETE FROM "{table}"') for user in actors)
        for table in [*UPDATES, "provider_locations"]
    }
    assert deletes == {
        table: DELETABLE.get(
            table,
            (ALLOWED, FILTERED, FILTERED, FILTERED, FILTERED) if table == "provider_locations" else (REFUSED,) * 5,
        )
        for table in deletes
    }
