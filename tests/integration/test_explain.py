"""The instructor's and the learner's dashboards and the verification lookup use indexes — run as the runtime role
under row-level security, where the actor helper is evaluated once per statement (an InitPlan), never per row.

Scale s in CI; ``ARCCM_EXPLAIN_SCALE=m`` runs the same at scale m (≈500k enrollments; a few minutes to seed)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Connection, text

from arccm.adapters.postgres.read_models import dashboard_query, lookup_query, profile_scope, scope_params
from arccm.adapters.postgres.roles import actor_role
from arccm.adapters.postgres.seed import seed
from arccm.domain.access import Actor, Role
from arccm.domain.verification_code import VerificationCode
from tests.conftest import PgSchema
from tests.integration.test_row_level_security import CLAIMS

pytestmark = pytest.mark.needs_postgres
COUNTERS_DISAGREE = """
    SELECT count(*) FROM training_sessions s CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE e.status = 'enrolled') AS seats,
               count(*) FILTER (WHERE e.status = 'waitlisted') AS waiting,
               count(*) FILTER (WHERE e.status <> 'cancelled') AS active,
               count(*) FILTER (WHERE e.status = 'enrolled' AND e.attendance_status = 'attended') AS attended,
               count(*) FILTER (WHERE e.status = 'enrolled' AND e.completion_status = 'completed') AS completed,
               count(*) FILTER (WHERE e.status = 'enrolled' AND e.completion_status = 'failed') AS failed
        FROM session_enrollments e WHERE e.session_id = s.id) c
    WHERE (s.seats_taken, s.waitlist_length, s.active_enrollments, s.attended_count, s.completed_count, s.failed_count)
       <> (c.seats, c.waiting, c.active, c.attended, c.completed, c.failed)
"""
# an InitPlan's value in a plan: "$3" up to PostgreSQL 16, "(InitPlan 3).col1" from 17 (the embedded server's)
INIT_PLAN_VALUE = r"(?:\$\d+|\(InitPlan \d+\)\.col\d+)"
BIG_TABLES = re.compile(r"Seq Scan on (\S+\.)?(training_sessions|session_enrollments|certificates)\b")
TODAY = date(2026, 11, 30)
SCALE = os.environ.get("ARCCM_EXPLAIN_SCALE", "s")


@pytest.fixture(scope="module")
def seeded(pg_url: str) -> Any:
    schema = PgSchema(pg_url)
    seed(schema.owner, schema.name, SCALE, 1, TODAY)
    yield schema
    schema.drop()


@contextmanager
def acting(
    schema: PgSchema, actor: Actor | None = None, policies: str = "per role", first: str | None = None
) -> Iterator[Connection]:
    """A transaction as the owner, or (with ``actor``) as the runtime role acting as that user: under the actor's own
    role's policies as arccm runs (migration 0011), or under the generic ones as a host service's SQL would.
    ``first``: a statement run as the owner before anything else."""
    with schema.owner.begin() as connection:
        if first is not None:
            connection.execute(text(first))
        connection.execute(text(f'SET LOCAL search_path TO "{schema.name}"'))
        if actor is not None:
            connection.execute(text(f'SET LOCAL ROLE "{schema.database.app_role}"'))
            if policies == "per role":
                connection.execute(text(f'SET LOCAL ROLE "{actor_role(schema.database.app_role, actor.role.value)}"'))
            connection.execute(text("SELECT set_config('arccm.user_id', :u, true)"), {"u": str(actor.user_id)})
            connection.execute(text(CLAIMS))
        yield connection


def plan(
    schema: PgSchema, sql: str, params: dict[str, Any], actor: Actor | None = None, policies: str = "per role"
) -> list[str]:
    """The plan as the owner or as the runtime role acting as ``actor`` (``acting``)."""
    with acting(schema, actor, policies) as connection:
        return list(connection.execute(text("EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) " + sql), params).scalars())


def positional(sql: str, params: dict[str, Any]) -> tuple[str, str]:
    """``sql`` with its named parameters numbered ($1, $2 …) for PREPARE, and their values written out for EXECUTE
    (bound, the server could not tell their types)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"(?<![:\w]):(\w+)", number, sql)
    values = ", ".join(
        "NULL" if params[name] is None
        else f"'{{{','.join(str(v) for v in params[name])}}}'" if isinstance(params[name], list)
        else repr(str(params[name])) if isinstance(params[name], str | date | UUID)
        else str(params[name])
        for name in names
    )  # fmt: skip
    return prepared, values


def generic_plan(schema: PgSchema, sql: str, params: dict[str, Any], actor: Actor) -> list[str]:
    """The plan a read model runs on — its generic plan (``database.transaction(…, generic_plans=True)``), made
    for any value of its parameters — as the runtime role acting as ``actor`` under its role's policies."""
    prepared, values = positional(sql, params)
    with acting(schema, actor) as connection:
        connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        connection.execute(text(f"PREPARE read_model AS {prepared}"))
        lines = list(connection.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) EXECUTE read_model({values})")).scalars())
        connection.execute(text("DEALLOCATE read_model"))
        return lines


def one(schema: PgSchema, sql: str) -> Any:
    with schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{schema.name}"'))
        return connection.execute(text(sql)).scalar_one()


@pytest.mark.parametrize("policies", ["per role", "generic"])
@pytest.mark.parametrize(
    ("role", "busiest"),
    [
        (Role.IC, "SELECT lead_instructor_id FROM training_sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"),
        (Role.IT, "SELECT learner_id FROM session_enrollments GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"),
    ],
)
def test_small_scopes_use_index_scans(seeded: PgSchema, role: Role, busiest: str, policies: str) -> None:
    actor = Actor(one(seeded, busiest), role)
    lines = plan(seeded, *dashboard_query(actor, TODAY), actor=actor, policies=policies)
    shown = "\n".join(lines)
    big = [line for line in lines if BIG_TABLES.search(line)]
    if role is Role.IC and policies == "generic":
        # An instructor's certificates are found by instructor_ids, through the GIN index that the per-role policy
        # (under which arccm reads: database.transaction) drives.  Under the generic policy — an OR over every
        # role's arms, which no index serves — the read model's own test (array containment, not leakproof) may
        # not run before it, so that one count scans the table: what a host service's SQL as the bare runtime
        # role would get.  Nothing else may.
        big = [line for line in big if not re.search(r"Seq Scan on (\S+\.)?certificates c\b", line)]
    assert not big, shown
    assert any("Index" in line for line in lines), shown
    # the policy's session set is a hashed filter, never a second array on the index the query's own array drives:
    # PostgreSQL 15 walks two arrays on one column as every pair of their elements (migration 0013)
    assert not [line for line in lines if re.search(r"Index Cond: \(\(([\w.]+) = ANY .*\bAND \(\1 = ANY", line)], shown
    # the policies' helpers run once per statement: each call sits under an InitPlan, and never in a filter
    assert any(line.strip().startswith("InitPlan") for line in lines), shown
    helpers = ("arccm_uid()", "arccm_role()", "arccm_acts_as(", "arccm_my_sessions()", "arccm_attended_sessions()")
    helpers += ("current_setting('arccm.",)
    calls = [i for i, line in enumerate(lines) if any(helper in line for helper in helpers)]
    assert calls, shown
    assert not [lines[i] for i in calls if "Filter:" in lines[i] and not re.search(INIT_PLAN_VALUE, lines[i])], shown


def test_an_administrators_policy_is_one_comparison(seeded: PgSchema) -> None:
    """Under the administrators' own policies the other roles' arms are gone (folded away when planned): each table
    is filtered by nothing but "is the actor an SA?", an InitPlan's boolean that reads no column — so a covering
    index can serve the count (which one the planner takes is its choice, by the statistics)."""
    actor = Actor(one(seeded, "SELECT id FROM profiles WHERE role = 'SA' ORDER BY id LIMIT 1"), Role.SA)
    lines = [line.strip() for line in plan(seeded, *dashboard_query(actor, TODAY), actor=actor)]
    shown = "\n".join(lines)
    # the certificate figures come from the counts and the rollups (migrations 0014, 0020), no certificate read
    counted = r"Scan .*on (\S+\.)?(certificates|certificate_counts|certificate_rollups)\b"
    scans = [i for i, line in enumerate(lines) if re.search(counted, line)]
    assert scans, shown
    for i in scans:
        filters = [line for line in lines[i + 1 : i + 4] if line.startswith("Filter:")]
        assert filters, shown
        # the guard's InitPlan (a boolean), then at most the query's own condition (the policy columns: none, below)
        assert re.fullmatch(rf"Filter: (?:{INIT_PLAN_VALUE}|\({INIT_PLAN_VALUE} AND .*\))", filters[0]), shown
    policy_filters = [line for line in lines if re.fullmatch(rf"Filter: .*{INIT_PLAN_VALUE}\)?", line)]
    # a guard per table reference, six of them: the dashboard's counts (sessions, compliance, teams: migration 0022),
    # the certificate counts and four date ranges of the certificate rollups (their guards run where a row is found)
    assert len(policy_filters) == 6, shown
    conditions = "\n".join(line for line in lines if line.startswith(("Filter:", "Index Cond:", "Recheck Cond:")))
    for name in ("instructor_ids", "recipient_user_id", "location_id", "provider_id", "arccm_", "'AP'", "'IC'"):
        assert name not in conditions, shown


def test_an_administrators_dashboard_on_its_generic_plan_reads_the_rollups_by_their_indexes(seeded: PgSchema) -> None:
    """The read models run on generic plans, which rate ``issue_date > $n`` alone at a third of the rows: the week's
    issues were counted by scanning every rollup row (0.55 of the dashboard's 0.68 ms of execution at scale m, with
    the guard's filter on each of its ten thousand rows).  Each of the four date ranges now reads an index."""
    actor = Actor(one(seeded, "SELECT id FROM profiles WHERE role = 'SA' ORDER BY id LIMIT 1"), Role.SA)
    lines = generic_plan(seeded, *dashboard_query(actor, TODAY), actor=actor)
    shown = "\n".join(lines)
    rollups = [line for line in lines if re.search(r"Scan .*on (\S+\.)?certificate_rollups\b", line)]
    assert len(rollups) == 4, shown
    assert all("Index" in line for line in rollups), shown


@pytest.mark.parametrize("policies", ["per role", "generic"])
def test_an_aps_enrollments_are_read_without_a_look_at_their_sessions(seeded: PgSchema, policies: str) -> None:
    """An AP's read policy on enrollments tested each row's session by a subquery, an index scan of the sessions
    per enrollment (an AP's list: 430 ms against 163 without row-level security, scale m); the enrollment now
    carries its session's location and provider (migration 0025), and the policy reads only the row."""
    ap = one(seeded, "SELECT id FROM profiles WHERE role = 'AP' ORDER BY display_name LIMIT 1")
    provider = one(seeded, f"SELECT provider_id FROM profiles WHERE id = '{ap}'")
    actor = Actor(ap, Role.AP)  # its provider and locations are claimed from the database (CLAIMS)
    lines = plan(seeded, "SELECT count(*) FROM session_enrollments", {}, actor=actor, policies=policies)
    shown = "\n".join(lines)
    assert not [line for line in lines if re.search(r" on (\S+\.)?training_sessions\b", line)], shown
    expected = one(
        seeded,
        "SELECT count(*) FROM session_enrollments e JOIN training_sessions s ON s.id = e.session_id"
        f" WHERE s.provider_id = '{provider}' OR s.location_id = ANY(ARRAY(SELECT location_id FROM provider_locations"
        f" WHERE provider_id = '{provider}')) OR e.enrolled_by = '{ap}'",
    )
    assert expected > 0
    with acting(seeded, actor, policies) as connection:
        assert connection.execute(text("SELECT count(*) FROM session_enrollments")).scalar_one() == expected


@pytest.mark.parametrize("policies", ["per role", "generic"])
def test_an_aps_people_search_never_builds_its_set_of_related_people(seeded: PgSchema, policies: str) -> None:
    """An AP's people search reads the profiles at its locations or of its provider, which its policy's earlier arms
    admit; the set of people related to it (everyone in its sessions: 39,517 at scale m, 100 ms to build) is for the
    rows they refuse.  As an ``= ANY`` of an InitPlan the planner used it as an index condition and built it for
    every search on its generic plan (63 ms against 8 ms without row-level security at scale m; 74 ms at scale s);
    as a hashed set (migration 0026) it is built only for a row that reaches it — a read of every profile, here the
    control, builds it once."""
    ap = one(seeded, "SELECT id FROM profiles WHERE role = 'AP' ORDER BY display_name LIMIT 1")
    provider = one(seeded, f"SELECT provider_id FROM profiles WHERE id = '{ap}'")
    locations = one(seeded, f"SELECT array_agg(location_id) FROM provider_locations WHERE provider_id = '{provider}'")
    actor = Actor(ap, Role.AP, provider_id=provider, location_ids=frozenset(locations))
    search = (
        f"SELECT p.id FROM profiles p WHERE {profile_scope(actor)} AND strpos(lower(p.display_name), 'learner 1') > 0"
    )
    calls = "SELECT COALESCE(pg_stat_get_xact_function_calls(CAST('arccm_related_people' AS regproc)), 0)"
    # function call counts for this transaction only (SET LOCAL: nothing is left set); the owner is a superuser here
    prepared, values = positional(search, scope_params(actor))
    with acting(seeded, actor, policies, first="SET LOCAL track_functions = 'pl'") as connection:
        connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))  # as the read models run
        connection.execute(text(f"PREPARE search AS {prepared}"))
        found = connection.execute(text(f"EXECUTE search({values})")).all()
        assert found  # the AP finds people
        assert connection.execute(text(calls)).scalar_one() == 0
        everyone = connection.execute(text("SELECT count(*) FROM profiles")).scalar_one()
        assert everyone > len(found)  # people outside its scope reached the last arm: the set was built, once
        assert connection.execute(text(calls)).scalar_one() == 1
        connection.execute(text("DEALLOCATE search"))  # the pooled connection outlives this transaction


def test_verification_lookup_uses_the_code_index(seeded: PgSchema) -> None:
    code = VerificationCode(one(seeded, "SELECT verification_code FROM certificates ORDER BY id LIMIT 1"))
    assert (
        one(
            seeded,
            f"SELECT count(*) FROM ({lookup_query(code, TODAY, seeded.name)[0]}) x".replace(
                ":code", f"'{code.canonical}'"
            ).replace(":today", f"'{TODAY}'"),
        )
        == 1
    )
    # arccm_verify (a SECURITY DEFINER PL/pgSQL function, so its plan is its own): its one statement uses the index
    body = one(
        seeded,
        "SELECT prosrc FROM pg_proc WHERE proname = 'arccm_verify' AND pronamespace = current_schema()::regnamespace",
    )
    statement = body.split("RETURN QUERY", 1)[1].rsplit("END", 1)[0]
    inner = (
        statement.strip()
        .rstrip(";")
        .replace("code", ":code")
        .replace("today", ":today")
        .replace("verification_:code", "verification_code")
    )
    lines = plan(seeded, inner, {"code": code.canonical, "today": TODAY})
    assert not [line for line in lines if BIG_TABLES.search(line)], "\n".join(lines)
    assert any("certificates_verification_code_key" in line for line in lines), "\n".join(lines)


def test_the_seed_is_deterministic_and_consistent(seeded: PgSchema) -> None:
    from arccm.adapters.postgres.seed import SCALES, generate

    first, second = generate(SCALES["demo"], 5, TODAY), generate(SCALES["demo"], 5, TODAY)
    assert first == second
    assert generate(SCALES["demo"], 6, TODAY) != first
    assert one(seeded, COUNTERS_DISAGREE) == 0
    assert one(seeded, "SELECT count(*) FROM certificates") == SCALES[SCALE].certificates


def test_a_feed_page_looks_up_its_context_by_id_however_long_the_log(seeded: PgSchema) -> None:
    """A feed read is planned once for every page (a generic plan: the cursor and the page's size unknown).  With
    the context joined plainly, a long change log made it hash every profile, session and certificate at every
    read — 26–31 ms a wake-up of the change feed at scale m after a batch of 20,000 certificates.  Each change's
    context is now looked up by its id, whatever the planner thinks the page holds."""
    from arccm.adapters.postgres.database import FEED_WRITER_CLASS
    from arccm.adapters.postgres.read_models import feed_query
    from arccm.application.ports.change_feed import Cursor

    sql, params = feed_query(
        None, Cursor.origin(), 500, None, {"feed_class": FEED_WRITER_CLASS, "feed_key": 1, "today": TODAY}
    )
    prepared, values = positional(sql, params)
    with seeded.owner.begin() as connection:  # rolled back: the seed stays as it was for the other tests
        connection.execute(text(f'SET LOCAL search_path TO "{seeded.name}"'))
        connection.execute(  # a long log: enrollments and certificates that name real rows
            text(
                "INSERT INTO change_log (topic, event, payload, occurred_at, kind)"
                " SELECT 'enrollments', 'LearnerEnrolled', jsonb_build_object('fields', jsonb_build_object("
                "'session_id', e.session_id, 'learner_id', e.learner_id), 'scope', '{}'::jsonb), now(), 'enrollment'"
                " FROM session_enrollments e LIMIT 20000"
            )
        )
        connection.execute(
            text(
                "INSERT INTO change_log (topic, event, payload, occurred_at, kind)"
                " SELECT 'certificates', 'CertificateIssued', jsonb_build_object('fields', jsonb_build_object("
                "'certificate_id', c.id), 'scope', '{}'::jsonb), now(), 'certificate' FROM certificates c LIMIT 20000"
            )
        )
        connection.execute(text("ANALYZE change_log"))
        connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        connection.execute(text(f"PREPARE feed_page AS {prepared}"))
        lines = list(connection.execute(text(f"EXPLAIN (COSTS OFF) EXECUTE feed_page({values})")).scalars())
        connection.execute(text("DEALLOCATE feed_page"))
        connection.rollback()
    shown = "\n".join(lines)
    assert not [line for line in lines if "Hash" in line], shown
    assert not re.search(r"Seq Scan on (\S+\.)?(profiles|training_sessions|certificates)\b", shown), shown
    for index in ("profiles_pkey", "training_sessions_pkey", "certificates_pkey"):
        assert index in shown, shown
