"""``arccm import legacy`` against the replaced system's schema and its dirty-data generator (issue 14).

For seeds 7 and 11: the dry run and the real run report the same; every fault the generator's manifest lists is
accounted for under its own reason or note; a second run imports nothing; the source is byte-for-byte unchanged
and ``public.users`` (plaintext passwords) is never read (the
importer reads as a role the server would refuse it to); every unique legacy code verifies to its certificate
and the duplicated one verifies neither.
"""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from returns.result import Failure, Success
from sqlalchemy import text
from sqlalchemy.engine import make_url

from arccm.adapters.legacy.plan import Mapping_
from arccm.adapters.legacy.run import ImportRefused, read_mapping, run_import
from arccm.adapters.system import SecureCodes
from arccm.application import commands
from arccm.domain.legacy import derived_id, legacy_code
from benchmarks.legacy_volume import legacy_schema_sql
from tests.conftest import PgSchema, SchemaPool

pytestmark = pytest.mark.needs_postgres

LEGACY = Path(__file__).parents[1] / "legacy"
MAPPING = """
[location_owners]
"Toronto Training Centre" = "Provider A Safety Inc."
"Montréal Training Centre" = "Provider C Safety Inc."

[values.session_status]
ACTIVE = "in_progress"
DRAFT = "cancelled"

[values.attendance]
late = "attended"
excused = "absent"

[values.team_role]
admin = "lead"

[values.certificate_status]
ARCHIVED = "active"
"""


def _dsn(url: str, database: str, user: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=[7, 11])
def legacy(
    request: pytest.FixtureRequest, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A database shaped like the replaced system's, with the generator's dirty rows for the seed, and its
    manifest — built as shared/legacy/load.sh builds it, without psql."""
    seed = request.param
    name = f"legacy_{seed}_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(_dsn(pg_url, "postgres"), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(_dsn(pg_url, name), autocommit=True) as connection:
            for role in ("anon", "authenticated", "service_role"):
                connection.execute(
                    f"DO $$BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$"
                )
            connection.execute(legacy_schema_sql(connection))  # type: ignore[call-overload]
            out = tmp_path_factory.mktemp(f"legacy{seed}")
            subprocess.run(
                [sys.executable, str(LEGACY / "gen_dirty_legacy.py"), "--seed", str(seed), "--sql",
                 str(out / "data.sql"), "--manifest", str(out / "manifest.json")],
                check=True, capture_output=True,
            )  # fmt: skip
            connection.execute((out / "data.sql").read_text())  # type: ignore[call-overload]
            manifest = json.loads((out / "manifest.json").read_text())
            # the importer reads as a role that may not read public.users at all: were it to touch the passwords,
            # the server would refuse it
            connection.execute(f'CREATE ROLE "{name}" LOGIN BYPASSRLS')  # its policies recurse (docs/import.md)
            connection.execute(f'GRANT USAGE ON SCHEMA public, auth TO "{name}"')
            connection.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public, auth TO "{name}"')
            connection.execute(f'REVOKE SELECT ON public.users FROM "{name}"')
        yield _dsn(pg_url, name, user=name), manifest
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()


def _owner(dsn: str) -> str:
    """The source as its owner (the reader may not read public.users, which the checksum covers too)."""
    parsed = make_url(dsn)
    return parsed.set(username="postgres").render_as_string(hide_password=False)


def checksum(dsn: str) -> dict[str, str]:
    """Every table of the source, as an md5 of its rows in a fixed order."""
    with psycopg.connect(dsn) as connection:
        tables = connection.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        ).fetchall()
        return {
            t: connection.execute(
                f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"
            ).fetchone()[0]  # type: ignore[index]
            for (t,) in tables
        }


def run(schema: PgSchema, dsn: str, mapping: Mapping_, dry_run: bool = False) -> dict[str, Any]:
    codes = SecureCodes()
    raw = schema.database.owner_engine().raw_connection()
    try:
        return run_import(
            raw.driver_connection,  # type: ignore[arg-type]
            schema.name, dsn, mapping, lambda: codes.new_code().canonical, dry_run=dry_run, chunk=50,
        )  # fmt: skip
    finally:
        raw.close()


def _mapping(tmp_path: Path) -> Mapping_:
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING)
    return read_mapping(path)


def test_the_dirty_legacy_database_imports_accounted_for_and_idempotent(
    legacy: tuple[str, dict[str, Any]], pg_schema: PgSchema, tmp_path: Path
) -> None:
    dsn, manifest = legacy
    before = checksum(_owner(dsn))
    mapping = _mapping(tmp_path)
    without = run(pg_schema, dsn, Mapping_(), dry_run=True)["report"]
    assert len(without["conflicts"]) == manifest["dirt"]["location.shared_by_two_providers"]
    with pytest.raises(ImportRefused):  # conflicts stop a real run before it writes anything
        run(pg_schema, dsn, Mapping_())
    dry = run(pg_schema, dsn, mapping, dry_run=True)
    first = run(pg_schema, dsn, mapping)
    second = run(pg_schema, dsn, mapping)
    assert first["report"] == dry["report"] == second["report"]
    assert sum(first["written"].values()) > 0
    assert sum(second["written"].values()) == 0
    assert first["content_check"] == {"compared": first["report"]["tables"]["certificates"]["imported"],
                                      "missing": 0, "mismatches": []}  # fmt: skip
    report = first["report"]
    assert report["balanced"]
    assert not report["unmapped"]
    assert not report["conflicts"]
    for table, counted in report["tables"].items():
        assert counted["source"] == counted["imported"] + counted["merged"] + counted["quarantined"], table
        assert counted["source"] == manifest["rows"].get(table, 0), table
    assert_manifest(report, manifest["dirt"])
    with pg_schema.owner.connect() as connection:
        quarantined = connection.exec_driver_sql(f'SELECT count(*) FROM "{pg_schema.name}".import_quarantine').scalar()
        recorded = connection.exec_driver_sql(f'SELECT count(*) FROM "{pg_schema.name}".import_records').scalar()
        sessions = connection.exec_driver_sql(
            f'SELECT count(*) FROM "{pg_schema.name}".training_sessions WHERE seats_taken > max_capacity'
        ).scalar()
    assert report["not_imported"] == {"certificate_requests": manifest["rows"]["certificate_requests"]}
    with pg_schema.owner.connect() as connection:  # each raise is in the audit trail: from the old capacity up
        raises = connection.exec_driver_sql(
            f"SELECT count(*) FROM \"{pg_schema.name}\".audit_log WHERE table_name = 'training_sessions'"
            " AND operation = 'UPDATE' AND (new_values ->> 'max_capacity')::int > (old_values ->> 'max_capacity')::int"
        ).scalar()
    assert raises == manifest["dirt"]["session.overbooked"]
    assert quarantined == report["totals"]["quarantined"]
    assert recorded == report["totals"]["imported"] + report["totals"]["merged"]
    assert sessions == 0
    assert checksum(_owner(dsn)) == before


def assert_manifest(report: dict[str, Any], dirt: dict[str, int]) -> None:
    t, values = report["tables"], report["values"]

    def note(table: str, name: str) -> int:
        return int(t[table]["notes"].get(name, 0))

    def reason(table: str, name: str) -> int:
        return int(t[table]["reasons"].get(name, 0))

    found = {
        "certificate.total": t["certificates"]["source"],
        "certificate.code_8char": values["legacy_code_shape"].get("eight", 0),
        "certificate.code_10char": values["legacy_code_shape"].get("ten", 0),
        "certificate.duplicate_code_pairs": len(report["duplicate_legacy_codes"]),
        "certificate.expiry_empty": reason("certificates", "expiry_date_missing"),
        "certificate.expiry_equals_issue": reason("certificates", "expiry_not_after_issue"),
        "certificate.no_issuer": note("certificates", "issuer_unknown"),
        "certificate.no_location": note("certificates", "location_from_batch"),
        "certificate.no_request_no_batch": note("certificates", "no_batch"),
        "certificate.status_not_ACTIVE": sum(values["certificate_status"].values())
        - values["certificate_status"].get("ACTIVE", 0),
        "certificate.course_name_case_only": note("certificates", "course_name_normalized"),
        "certificate.course_name_unknown": reason("certificates", "unknown_course"),
        "enrollment.score_out_of_range": note("session_enrollments", "score_out_of_range"),
        "enrollment.status_not_canonical": sum(
            n for v, n in values["attendance"].items() if v not in ("registered", "attended", "partial", "absent")
        ),
        "instructor.without_profile": note("instructor_profiles", "profile_created"),
        "location.shared_by_two_providers": reason("provider_location_assignments", "location_has_another_owner"),
        "location.status_variant": sum(values["location_status"].values()) - values["location_status"].get("ACTIVE", 0),
        "location.without_provider": note("locations", "without_provider"),
        "person.profile_and_external_learner": t["student_enrollment_profiles"]["merged"],
        "profile.blank_display_name": note("profiles", "display_name_from_login"),
        "profile.duplicate_email_pairs": len(report["duplicate_emails"]),
        "profile.no_email": note("profiles", "no_email") + note("profiles", "email_from_login"),
        "session.ends_before_start": reason("training_sessions", "ends_before_start"),
        "session.no_instructor": reason("training_sessions", "no_instructor"),
        "session.null_capacity": note("training_sessions", "capacity_from_course"),
        "session.overbooked": note("training_sessions", "capacity_raised"),
        "session.overbooked_excess_seats": note("training_sessions", "seats_added_by_raise"),
        "session.status_not_canonical": sum(
            n
            for v, n in values["session_status"].items()
            if v not in ("scheduled", "in_progress", "completed", "cancelled")
        ),
        "session.unknown_course": reason("training_sessions", "unknown_course"),
        "team_member.role_not_canonical": sum(values["team_role"].values()),
        # public.users is never read: its passwords stay where they are (checked by the statistics above)
        "public_users.rows_with_password": dirt["public_users.rows_with_password"],
    }
    formats = {
        f"certificate.issue_date_format.{kind}": n for kind, n in values["certificate_issue_date_format"].items()
    }
    found.update(formats)
    # an ambiguous date is settled by another date on the row, or quarantined: never guessed
    found["certificate.issue_date_format.slash_ambiguous"] = reason("certificates", "issue_date_ambiguous") + note(
        "certificates", "issue_date_settled_by_row"
    )
    assert {k: found.get(k) for k in dirt} == dirt


def test_legacy_codes_verify_their_own_certificate_and_a_shared_one_verifies_neither(
    legacy: tuple[str, dict[str, Any]], pg_schema: PgSchema, tmp_path: Path
) -> None:
    dsn, _ = legacy
    outcome = run(pg_schema, dsn, _mapping(tmp_path))
    quarantined = {(q["table"], q["id"]) for q in outcome["report"]["quarantine"]}
    with psycopg.connect(dsn) as connection:
        source = connection.execute(
            "SELECT id::text, verification_code, recipient_name FROM certificates ORDER BY id"
        ).fetchall()
    shared = set(outcome["report"]["duplicate_legacy_codes"])
    assert len(shared) == 1
    verify = pg_schema.container().verify_certificate()
    verified = 0
    for cid, code, name in source:
        answer = verify(commands.VerifyCertificate(f" {code.lower()} ", name))  # as someone might type it
        if ("certificates", cid) in quarantined or legacy_code(code) in shared:
            assert isinstance(answer, Failure), (cid, code)
            assert answer.failure().code == "unknown_code", (cid, code)
            continue
        assert isinstance(answer, Success), (cid, code)
        assert answer.unwrap().name_confirmed is True, (cid, code)
        verified += 1
    with pg_schema.owner.connect() as connection:  # each code beside the very certificate its source row became
        held = connection.exec_driver_sql(f'SELECT code, certificate_id FROM "{pg_schema.name}".legacy_codes').all()
    by_code: dict[str, set[uuid.UUID]] = {}
    for code, certificate in held:
        by_code.setdefault(code, set()).add(certificate)
    for cid, code, _ in source:
        if ("certificates", cid) not in quarantined:
            assert derived_id("certificates", cid) in by_code[legacy_code(code) or ""], (cid, code)
    assert all(len(ids) == 1 for code, ids in by_code.items() if code not in shared)
    imported_shared = sum(
        1 for cid, code, _ in source if legacy_code(code) in shared and ("certificates", cid) not in quarantined
    )
    assert verified == outcome["report"]["tables"]["certificates"]["imported"] - imported_shared
    assert imported_shared >= 1


ARCCM = str(Path(sys.executable).parent / "arccm")
COMPARED = (
    "locations", "authorized_providers", "provider_locations", "course_templates", "profiles", "instructor_profiles",
    "training_sessions", "session_enrollments", "rosters", "certificates", "teams", "team_members", "legacy_codes",
    "import_records", "import_quarantine",
)  # fmt: skip
# what differs between two runs by design: new codes are random, clocks move, each run has its own id
VOLATILE = " - 'created_at' - 'updated_at' - 'verification_code' - 'run_id' - 'added_at' - 'certificate_id'"


def state(schema: PgSchema) -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of its rows without what differs between runs by design."""
    found = {}
    with schema.owner.connect() as connection:
        for table in COMPARED:
            row = connection.exec_driver_sql(
                f"SELECT count(*), md5(coalesce(string_agg((to_jsonb(t){VOLATILE})::text, '|'"
                f' ORDER BY (to_jsonb(t){VOLATILE})::text), \'\')) FROM "{schema.name}"."{table}" t'
            ).one()
            found[table] = (int(row[0]), str(row[1]))
    return found


def cli(schema: PgSchema, dsn: str, mapping: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ARCCM_DATABASE_URL": schema.url, "ARCCM_DB_SCHEMA": schema.name}
    command = [ARCCM, "-q", "import", "legacy", "--from", dsn, "--mapping", str(mapping), "--json", *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_run_killed_with_sigkill_is_finished_by_the_next_as_if_never_interrupted(
    legacy: tuple[str, dict[str, Any]], pg_schema: PgSchema, schema_pool: SchemaPool, tmp_path: Path
) -> None:
    dsn, _ = legacy
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING)
    # an uncommitted session under each id the import will give one: the run blocks at its first session, with
    # the people, places and courses committed (foreign keys off in this transaction: it is never committed)
    with psycopg.connect(_owner(dsn)) as source:
        ids = [derived_id("training_sessions", r[0]) for r in source.execute("SELECT id FROM training_sessions")]
    holder = pg_schema.owner.connect()
    holder.exec_driver_sql("BEGIN")
    holder.exec_driver_sql("SET LOCAL session_replication_role = replica")
    holder.execute(
        text(
            f'INSERT INTO "{pg_schema.name}".training_sessions (id, course_id, title, location_id,'
            " lead_instructor_id, starts_at, ends_at, max_capacity) SELECT i, i, 'held', i, i, now(),"
            " now() + interval '1 hour', 1 FROM unnest(CAST(:ids AS uuid[])) AS i"
        ),
        {"ids": ids},
    )
    worker = cli(pg_schema, dsn, mapping, "--chunk", "7")
    try:
        deadline = time.monotonic() + 120
        watcher = pg_schema.owner.connect()  # its own connection: a transaction sees one snapshot of the activity
        watcher.exec_driver_sql("SET application_name = 'watcher'")
        while not watcher.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            f' AND starts_with(query, \'INSERT INTO "{pg_schema.name}"."training_sessions"\')'
        ).scalar():
            watcher.rollback()
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the import never reached the sessions"
            watcher.exec_driver_sql("SELECT pg_sleep(0.05)")  # polling the server for the blocked insert
            watcher.rollback()
        watcher.close()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        holder.exec_driver_sql("ROLLBACK")
        holder.close()
    assert worker.returncode == -signal.SIGKILL
    partial = state(pg_schema)
    assert partial["profiles"][0] > 0
    assert partial["training_sessions"][0] == 0  # the blocked chunk died with its process
    assert partial["certificates"][0] == 0

    rerun = cli(pg_schema, dsn, mapping, "--chunk", "7")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    resumed = json.loads(out)
    other = schema_pool.take()
    try:
        whole = cli(other, dsn, mapping)
        out, err = whole.communicate(timeout=300)
        assert whole.returncode == 0, err
        uninterrupted = json.loads(out)
        assert resumed["report"] == uninterrupted["report"]
        assert state(pg_schema) == state(other)
        assert resumed["content_check"]["mismatches"] == []
    finally:
        schema_pool.give_back(other)


def test_the_imported_organization_works_in_arccm(
    legacy: tuple[str, dict[str, Any]], pg_schema: PgSchema, tmp_path: Path
) -> None:
    """Every imported session and certificate loads as a domain aggregate whose invariants hold; an administrator
    sees them on the dashboard; an imported certificate is revoked through the use case and its old code then
    says so — through the library and over HTTP."""
    from fastapi.testclient import TestClient

    from arccm.adapters.http.app import create_app

    dsn, _ = legacy
    run(pg_schema, dsn, _mapping(tmp_path))
    container = pg_schema.container()
    with pg_schema.owner.connect() as connection:
        sessions = connection.exec_driver_sql(f'SELECT id FROM "{pg_schema.name}".training_sessions').scalars().all()
        certificates = connection.exec_driver_sql(
            f'SELECT c.id, k.code FROM "{pg_schema.name}".certificates c JOIN "{pg_schema.name}".legacy_codes k'
            " ON k.certificate_id = c.id WHERE c.revoked_at IS NULL AND c.superseded_by_id IS NULL"
            f' AND k.code NOT IN (SELECT code FROM "{pg_schema.name}".legacy_codes GROUP BY code HAVING count(*) > 1)'
            " ORDER BY c.id"
        ).all()
        admin = connection.exec_driver_sql(
            f"SELECT id FROM \"{pg_schema.name}\".profiles WHERE role = 'SA' AND status = 'active' ORDER BY id LIMIT 1"
        ).scalar_one()
    with container.unit_of_work()(None) as uow:
        for session_id in sessions:
            session = uow.sessions.get_for_update(session_id)
            assert session is not None
            assert 0 <= session.seats_taken <= session.max_capacity, session_id
        loaded = [uow.certificates.get_for_update(cid) for cid, _ in certificates]
        assert all(c is not None and c.completion.kind.value == "legacy_import" for c in loaded)
    actor = container.resolve_actor()(admin).unwrap()
    board = container.read_models().dashboard(actor, container.clock().now().date())
    assert board.certificates_total >= len(certificates)
    certificate_id, code = certificates[0]
    revoked = container.revoke_certificate()(actor, commands.RevokeCertificate(certificate_id, "imported in error"))
    assert isinstance(revoked, Success), revoked
    with TestClient(create_app(container, "a-test-secret-of-at-least-thirty-two-characters")) as client:
        answer = client.get(f"/v1/verify/{code.lower()}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "revoked"
        page = client.get(f"/verify/{code}")
        assert page.status_code == 200
        assert html.escape(answer.json()["course_name"]) in page.text
        shared = outcome_shared(pg_schema)
        assert client.get(f"/v1/verify/{shared}").status_code == 404


def outcome_shared(schema: PgSchema) -> str:
    with schema.owner.connect() as connection:
        return str(
            connection.exec_driver_sql(
                f'SELECT code FROM "{schema.name}".legacy_codes GROUP BY code HAVING count(*) > 1 LIMIT 1'
            ).scalar_one()
        )


def test_a_row_quarantined_first_and_imported_by_a_later_run_ends_as_if_imported_at_once(
    legacy: tuple[str, dict[str, Any]], pg_schema: PgSchema, schema_pool: SchemaPool, tmp_path: Path
) -> None:
    """The first run lacks the meaning of ``ARCHIVED`` (its certificate is quarantined), the second has it: the
    certificate comes across, the holder's other certificate of that course is linked to it, and the state is
    that of one run with the whole mapping."""
    dsn, _ = legacy
    partial = tmp_path / "partial.toml"
    partial.write_text(MAPPING.split("[values.certificate_status]", maxsplit=1)[0])
    whole = tmp_path / "mapping.toml"
    whole.write_text(MAPPING)
    first = run(pg_schema, dsn, read_mapping(partial))
    assert first["report"]["tables"]["certificates"]["reasons"]["unmapped_value"] >= 1
    second = run(pg_schema, dsn, read_mapping(whole))
    assert second["report"]["tables"]["certificates"]["reasons"].get("unmapped_value") is None
    assert second["written"]["certificates"] >= 1
    other = schema_pool.take()
    try:
        once = run(other, dsn, read_mapping(whole))
        assert second["report"] == once["report"]
        assert state(pg_schema) == state(other)
    finally:
        schema_pool.give_back(other)


def test_a_person_arccm_already_has_is_merged_into_not_made_twice(
    legacy: tuple[str, dict[str, Any]], pg_schema: PgSchema, tmp_path: Path
) -> None:
    """The administrator set up before the import (bootstrap) is the replaced system's SA with the same e-mail:
    one person, whose arccm row is kept; the source profile is counted as merged.  A rerun changes nothing."""
    dsn, _ = legacy
    with psycopg.connect(_owner(dsn)) as source:
        legacy_id, email = source.execute(
            "SELECT id::text, email FROM profiles WHERE role = 'SA' AND email IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    admin = uuid.uuid4()
    with pg_schema.owner.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO \"{pg_schema.name}\".profiles (id, display_name, role, email) VALUES (:i, 'Ada', 'SA', :e)"
            ),
            {"i": admin, "e": f" {email.upper()} "},
        )
    first = run(pg_schema, dsn, _mapping(tmp_path))
    second = run(pg_schema, dsn, _mapping(tmp_path))
    assert first["report"] == second["report"]
    assert sum(second["written"].values()) == 0
    profiles = first["report"]["tables"]["profiles"]
    assert profiles["notes"]["merged_into_existing_person"] == 1
    with pg_schema.owner.connect() as connection:
        target, outcome = connection.execute(
            text(
                f'SELECT target_id, outcome FROM "{pg_schema.name}".import_records'
                " WHERE source_table = 'profiles' AND source_id = :s"
            ),
            {"s": legacy_id},
        ).one()
        same = connection.execute(
            text(f'SELECT count(*) FROM "{pg_schema.name}".profiles WHERE lower(btrim(email)) = lower(:e)'),
            {"e": email},
        ).scalar_one()
        name = connection.execute(
            text(f'SELECT display_name FROM "{pg_schema.name}".profiles WHERE id = :i'), {"i": admin}
        ).scalar_one()
    assert (target, outcome, same, name) == (admin, "merged", 1, "Ada")


def test_the_command_dry_runs_before_arccm_exists_stops_on_conflicts_and_writes_its_report(
    legacy: tuple[str, dict[str, Any]], pg_schema: PgSchema, tmp_path: Path
) -> None:
    dsn, manifest = legacy
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING)
    fresh = f"t_never_{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "ARCCM_DATABASE_URL": pg_schema.url, "ARCCM_DB_SCHEMA": fresh}
    dry = subprocess.run(
        [ARCCM, "import", "legacy", "--from", dsn, "--dry-run", "--json"], env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert len(json.loads(dry.stdout)["report"]["conflicts"]) == manifest["dirt"]["location.shared_by_two_providers"]
    with pg_schema.owner.connect() as connection:  # a dry run writes nothing: not even arccm's schema
        assert connection.execute(text("SELECT to_regnamespace(:s)"), {"s": fresh}).scalar() is None
    stopped = cli(pg_schema, dsn, tmp_path / "missing.toml")
    _, err = stopped.communicate(timeout=300)
    assert stopped.returncode == 2  # the mapping file named does not exist: refused before anything is read
    assert err.count("\n") == 1
    assert "--mapping" in err
    env = {**os.environ, "ARCCM_DATABASE_URL": pg_schema.url, "ARCCM_DB_SCHEMA": pg_schema.name}
    conflicted = subprocess.run(
        [ARCCM, "-q", "import", "legacy", "--from", dsn], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert conflicted.returncode == 1
    assert "conflict" in conflicted.stderr
    assert state(pg_schema)["certificates"][0] == 0  # conflicts stop the run before it writes
    report = tmp_path / "report.json"
    done = cli(pg_schema, dsn, mapping, "--report", str(report))
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert json.loads(report.read_text())["report"] == json.loads(out)["report"]
