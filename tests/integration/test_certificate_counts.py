"""``certificate_counts`` (migration 0014) equals a recount of the certificates after any workload — generated
statements over many rows, rolled-back transactions, concurrent writers — and the dashboards that read it equal a
recount for any day, however far behind or ahead of that day the upkeep recorded expiries."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Success
from sqlalchemy import text

from arccm.application import commands as c
from arccm.domain.access import Actor, Role
from arccm.domain.certificate import CompletionKind
from tests.conftest import PgSchema
from tests.integration.test_concurrency import learners, run_concurrently
from tests.world import World, ok

pytestmark = pytest.mark.needs_postgres

FIGURES = ("certificates_total", "certificates_active", "certificates_expiring_30d", "certificates_issued_7d")


def counts_drift(pg_schema: PgSchema) -> dict[tuple[Any, Any], tuple[Any, Any]]:
    """Each (location, provider) whose kept counts differ from a recount: kept, recounted."""
    live = "revoked_at IS NULL AND superseded_by_id IS NULL AND expired_on IS NULL"
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{pg_schema.name}"'))
        kept = {
            (r[0], r[1]): (r[2], r[3])
            for r in connection.execute(
                text("SELECT location_id, provider_id, certificates, live_unrecorded FROM certificate_counts")
            )
        }
        recount = {
            (r[0], r[1]): (r[2], r[3])
            for r in connection.execute(
                text(
                    "SELECT location_id, provider_id, count(*), count(*) FILTER (WHERE " + live + ")"
                    " FROM certificates GROUP BY 1, 2"
                )
            )
        }
    pairs = set(kept) | set(recount)
    return {
        pair: (kept.get(pair), recount.get(pair))
        for pair in pairs
        if kept.get(pair, (0, 0)) != recount.get(pair, (0, 0))
    }


class Organization:
    """Two providers (two locations and one), a class of four at each location, every learner certified."""

    def __init__(self, pg_schema: PgSchema) -> None:
        self.pg_schema = pg_schema
        self.world = World.create(pg_schema.container())
        first, second = self.world.provider(locations=2), self.world.provider(locations=1)
        self.aps = [self.world.user(Role.AP, first), self.world.user(Role.AP, second)]
        for ap, location in zip((self.aps[0], self.aps[0], self.aps[1]), self.world.locations, strict=True):
            lead = self.world.user(Role.IC, first if ap is self.aps[0] else second)
            session = self.world.session(ap, lead, capacity=4, location=location)
            seats = [
                ok(self.world.container.enroll_learner()(ap, c.EnrollLearner(session.id, person)))
                for person in learners(self.world, 4)
            ]
            self.world.run_class(session, {seat.id: (95, 95) for seat in seats})
            batch = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session.id)
            ok(self.world.container.batch_issue_certificates()(ap, batch))
        assert self.world.admin is not None
        self.admin: Actor = self.world.admin
        self.snapshot = self.rows()
        self.ids = sorted(r["id"] for r in self.snapshot)
        self.today = self.world.clock.now().date()

    def owner(self) -> Any:
        return self.pg_schema.owner.begin()

    def rows(self) -> list[dict[str, Any]]:
        with self.pg_schema.owner.connect() as connection:
            connection.execute(text(f'SET search_path TO "{self.pg_schema.name}"'))
            return [dict(r) for r in connection.execute(text("SELECT * FROM certificates ORDER BY id")).mappings()]

    def restore(self) -> None:
        """The certificates as issued, in one statement (certificates are never deleted: a trigger refuses)."""
        with self.owner() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{self.pg_schema.name}"'))
            connection.execute(
                text(
                    "UPDATE certificates c SET revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL,"
                    " superseded_by_id = NULL, expired_on = NULL, expiry_date = s.expiry_date,"
                    " location_id = s.location_id, provider_id = s.provider_id"
                    " FROM unnest(CAST(:ids AS uuid[]), CAST(:expiry AS date[]), CAST(:loc AS uuid[]),"
                    " CAST(:prov AS uuid[])) AS s(id, expiry_date, location_id, provider_id) WHERE c.id = s.id"
                ),
                {
                    "ids": [r["id"] for r in self.snapshot],
                    "expiry": [r["expiry_date"] for r in self.snapshot],
                    "loc": [r["location_id"] for r in self.snapshot],
                    "prov": [r["provider_id"] for r in self.snapshot],
                },
            )

    def expected(self, actor: Actor, day: date) -> dict[str, int]:
        """The dashboard's certificate figures, recounted in Python from every certificate (docs/access.md)."""
        rows = [
            r
            for r in self.rows()
            if actor.role is not Role.AP
            or r["location_id"] in actor.location_ids
            or (r["provider_id"] is not None and r["provider_id"] == actor.provider_id)
            or r["issued_by"] == actor.user_id
        ]
        active = [
            r for r in rows if r["revoked_at"] is None and r["superseded_by_id"] is None and r["expiry_date"] >= day
        ]
        return {
            "certificates_total": len(rows),
            "certificates_active": len(active),
            "certificates_expiring_30d": sum(r["expiry_date"] <= day + timedelta(days=30) for r in active),
            "certificates_issued_7d": sum(r["issue_date"] > day - timedelta(days=7) for r in rows),
        }

    def figures(self, actor: Actor, day: date) -> dict[str, int]:
        board = self.world.container.read_models().dashboard(actor, day)
        return {name: getattr(board, name) for name in FIGURES}


def _statement(org: Organization, kind: str, chosen: list[uuid.UUID], arg: int) -> tuple[str, dict[str, Any]]:
    """One statement of a workload over the ``chosen`` certificates."""
    locations = [loc.id for loc in org.world.locations]
    providers: list[uuid.UUID | None] = [p.id for p in org.world.providers] + [None]
    ids = {"ids": chosen}
    if kind == "revoke":
        return (
            "UPDATE certificates SET revoked_at = now(), revoked_by = :by, revocation_reason = 'test'"
            " WHERE id = ANY(:ids) AND revoked_at IS NULL",
            {**ids, "by": org.admin.user_id},
        )
    if kind == "reinstate":
        return (
            "UPDATE certificates SET revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL WHERE id = ANY(:ids)",
            ids,
        )
    if kind == "supersede":  # superseded by any other certificate (the foreign key is all that is checked here)
        return "UPDATE certificates SET superseded_by_id = :other WHERE id = ANY(:ids)", {**ids, "other": org.ids[0]}
    if kind == "current":
        return "UPDATE certificates SET superseded_by_id = NULL WHERE id = ANY(:ids)", ids
    if kind == "record":  # the upkeep's record, on any day around the expiry
        return "UPDATE certificates SET expired_on = expiry_date + :days WHERE id = ANY(:ids)", {**ids, "days": arg}
    if kind == "unrecord":
        return "UPDATE certificates SET expired_on = NULL WHERE id = ANY(:ids)", ids
    if kind == "expiry":
        return (
            "UPDATE certificates SET expiry_date = greatest(issue_date + 1, expiry_date + :days) WHERE id = ANY(:ids)",
            {**ids, "days": arg},
        )
    if kind == "move":  # a correction that moves certificates to another location and provider (or none)
        return (
            "UPDATE certificates SET location_id = :loc, provider_id = :prov WHERE id = ANY(:ids)",
            {**ids, "loc": locations[arg % len(locations)], "prov": providers[arg % len(providers)]},
        )
    assert kind == "touch"  # changes nothing that is counted
    return "UPDATE certificates SET instructor_name = instructor_name || '' WHERE id = ANY(:ids)", ids


KINDS = ["revoke", "reinstate", "supersede", "current", "record", "unrecord", "expiry", "move", "touch"]
step = st.tuples(st.sampled_from(KINDS), st.lists(st.booleans(), min_size=12, max_size=12), st.integers(-40, 40))
transaction = st.tuples(st.lists(step, min_size=1, max_size=3), st.booleans())  # statements, committed


@pytest.fixture
def org(pg_schema: PgSchema) -> Organization:
    return Organization(pg_schema)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transactions=st.lists(transaction, min_size=1, max_size=6), offsets=st.lists(st.integers(-45, 45), max_size=3))
def test_the_counts_equal_a_recount_and_so_do_the_dashboards_for_any_day(
    org: Organization, transactions: list[tuple[list[tuple[str, list[bool], int]], bool]], offsets: list[int]
) -> None:
    org.restore()
    assert counts_drift(org.pg_schema) == {}
    for statements, committed in transactions:
        with org.pg_schema.owner.connect() as connection:
            connection.execute(text(f'SET search_path TO "{org.pg_schema.name}"'))
            for kind, mask, arg in statements:
                sql, params = _statement(org, kind, [i for i, keep in zip(org.ids, mask, strict=True) if keep], arg)
                connection.execute(text(sql), params)
            if committed:
                connection.commit()
            else:
                connection.rollback()
    assert counts_drift(org.pg_schema) == {}
    expiries = {r["expiry_date"] for r in org.rows()}
    days = {org.today, *(org.today + timedelta(days=o) for o in offsets)}
    days |= {e + timedelta(days=d) for e in sorted(expiries)[:2] for d in (-1, 0, 1)}
    for actor in (org.admin, *org.aps):
        for day in sorted(days):
            assert org.figures(actor, day) == org.expected(actor, day), (actor.role, day)


def test_concurrent_writers_at_the_same_pairs_leave_exact_counts(org: Organization) -> None:
    """Eight writers at once, each on its own certificates but all at the same few pairs: inserts (a batch per
    session), revocations, expiry records and moves between pairs, each its own transaction."""
    world = org.world
    more = []
    for ap, location in zip((org.aps[0], org.aps[1]), (world.locations[0], world.locations[2]), strict=True):
        lead = world.user(Role.IC, world.providers[0] if ap is org.aps[0] else world.providers[1])
        session = world.session(ap, lead, capacity=12, location=location)
        seats = [ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, p))) for p in learners(world, 12)]
        world.run_class(session, {seat.id: (95, 95) for seat in seats})
        more.append((ap, session.id))
    shares = [org.ids[i::6] for i in range(6)]

    def writer(mine: list[uuid.UUID], seed: int) -> Any:
        rng = random.Random(seed)
        for _ in range(15):
            kind = rng.choice(["revoke", "reinstate", "record", "unrecord", "move", "expiry"])
            chosen = [i for i in mine if rng.random() < 0.6]
            sql, params = _statement(org, kind, chosen, rng.randint(-3, 3))
            with org.owner() as connection:
                connection.execute(text(f'SET LOCAL search_path TO "{org.pg_schema.name}"'))
                connection.execute(text(sql), params)
        return None

    def issue(ap: Actor, session_id: uuid.UUID) -> Any:
        batch = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session_id, chunk_size=3)
        return world.container.batch_issue_certificates()(ap, batch)

    jobs = [lambda mine=mine, n=n: writer(mine, n) for n, mine in enumerate(shares)]
    jobs += [lambda ap=ap, sid=sid: issue(ap, sid) for ap, sid in more]
    outcomes = run_concurrently(jobs, threads=len(jobs))
    reports = [o for o in outcomes if o is not None]
    assert all(isinstance(o, Success) for o in reports), reports
    assert sorted(o.unwrap().issued for o in reports) == [12, 12]
    assert len(org.rows()) == len(org.ids) + 24
    assert counts_drift(org.pg_schema) == {}
    for actor in (org.admin, *org.aps):
        assert org.figures(actor, org.today) == org.expected(actor, org.today)


def test_truncating_the_certificates_empties_the_counts(org: Organization) -> None:
    with org.owner() as connection:
        connection.execute(text(f'TRUNCATE "{org.pg_schema.name}".certificates CASCADE'))
    assert counts_drift(org.pg_schema) == {}
    with org.pg_schema.owner.connect() as connection:
        assert connection.execute(text(f'SELECT count(*) FROM "{org.pg_schema.name}".certificate_counts')).scalar() == 0
