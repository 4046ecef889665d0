"""``arccm import legacy``: read the source in one snapshot, plan every row, and — unless it is a dry run or the
plan has conflicts only the organization can settle — write it, record the quarantine, check the certificates
against the source, and store the run with its report (docs/import.md)."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from returns.result import Failure

from arccm.adapters.legacy.plan import NOT_IMPORTED, SOURCE_TABLES, Mapping_, Plan, Planner
from arccm.adapters.legacy.source import LegacySource
from arccm.adapters.legacy.target import Progress, Target, _json
from arccm.domain.access import Role
from arccm.domain.legacy import DEFAULT_VALUES, TARGETS, email_key
from arccm.domain.text import time_zone


class ImportRefused(Exception):
    """The run cannot start or cannot write: a bad mapping file, or conflicts the mapping file must settle."""

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.report = report


SECTIONS = {"location_owners", "time_zones", "values", "courses", "course_validity", "defaults"}


def read_mapping(path: Path | None) -> Mapping_:  # noqa: PLR0912 - one check per key
    """The mapping file (TOML), checked whole before anything is read from the source: every error names its
    key and what it must be."""
    if path is None:
        return Mapping_()
    shown = _short(str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ImportRefused(f"--mapping: cannot read {shown}: {error.strerror or type(error).__name__}") from None
    except UnicodeDecodeError:
        raise ImportRefused(f"--mapping: {shown} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ImportRefused(f"--mapping: {shown} is not TOML: {_short(str(error))}") from None
    unknown = sorted(set(data) - SECTIONS)
    if unknown:
        raise ImportRefused(f"--mapping: unknown section [{unknown[0]}]; known: {', '.join(sorted(SECTIONS))}")

    def table(name: str, kind: type) -> dict[str, Any]:
        section = data.get(name, {})
        if not isinstance(section, dict):
            raise ImportRefused(f"--mapping: [{name}] must be a table")
        for key, value in section.items():
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ImportRefused(f"--mapping: [{name}] {key!r} must be a {kind.__name__}")
        return dict(section)

    values = data.get("values", {})
    if not isinstance(values, dict):
        raise ImportRefused("--mapping: [values] must be a table of fields")
    for field, given in values.items():
        if field not in DEFAULT_VALUES:
            raise ImportRefused(f"--mapping: [values.{field}] is no field; known: {', '.join(sorted(DEFAULT_VALUES))}")
        if not isinstance(given, dict):
            raise ImportRefused(f"--mapping: [values.{field}] must be a table of legacy value = arccm value")
        for legacy, target in given.items():
            if target not in TARGETS[field]:
                allowed = ", ".join(sorted(TARGETS[field]))
                raise ImportRefused(f"--mapping: [values.{field}] {legacy!r} = {target!r}: must be one of {allowed}")
    zones = table("time_zones", str)
    for key, zone in zones.items():
        if isinstance(time_zone(f"[time_zones] {key!r}", zone), Failure):
            raise ImportRefused(f"--mapping: [time_zones] {key!r} = {zone!r}: not an IANA time zone")
    validity = table("course_validity", int)
    for key, months in validity.items():
        if months < 1:
            raise ImportRefused(f"--mapping: [course_validity] {key!r} must be at least 1 month")
    defaults = table("defaults", object)
    role = defaults.get("instructor_role", "IP")
    if role not in {r.value for r in Role}:
        raise ImportRefused(f"--mapping: [defaults] instructor_role {role!r} must be one of SA, AD, AP, IC, IP, IT, IN")
    size = defaults.get("max_students", 12)
    if not isinstance(size, int) or size < 1:
        raise ImportRefused("--mapping: [defaults] max_students must be an integer of at least 1")
    return Mapping_(
        location_owners=table("location_owners", str),
        time_zones=zones,
        values={f: dict(v) for f, v in values.items()},
        courses=table("courses", str),
        course_validity=validity,
        instructor_role=role,
        default_max_students=size,
    )


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def checked_url(url: str) -> str:
    """The ``--from`` value as libpq takes it, or a refusal naming the option (the text is never echoed whole)."""
    given = url.replace("postgresql+psycopg://", "postgresql://", 1)
    if not given.startswith(("postgresql://", "postgres://")):
        raise ImportRefused("--from: must be a postgresql:// URL of the replaced system's database")
    try:
        psycopg.conninfo.conninfo_to_dict(given)
    except psycopg.ProgrammingError as error:
        raise ImportRefused(f"--from: not a valid PostgreSQL URL: {_short(str(error))}") from None
    return given


def plan_import(
    source: LegacySource,
    mapping: Mapping_,
    codes: Callable[[], str],
    now: datetime,
    existing: Mapping[str, tuple[uuid.UUID, str, str]] | None = None,
) -> Plan:
    planner = Planner(mapping, codes, now, existing)
    planner.locations_(source.rows("locations"))
    planner.providers_(source.rows("authorized_providers"), source.rows("provider_location_assignments"))
    planner.courses_(source.rows("courses"), source.rows("course_templates"))
    planner.people_(
        source.all("auth.users"),
        source.rows("profiles"),
        source.rows("instructor_profiles"),
        source.rows("student_enrollment_profiles"),
    )
    planner.sessions_(source.all("training_sessions"), source.all("session_enrollments"))
    planner.batches_(source.rows("rosters"))
    planner.certificates_(source.all("certificates"))
    planner.teams_(source.rows("teams"), source.rows("team_members"))
    plan = planner.finish()
    for table in NOT_IMPORTED:
        rows = source.count(table)
        if rows:
            plan.not_imported[table] = rows
    return plan


def redacted(url: str) -> str:
    """The source as stored in the run's row: no password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://", 1))
    except psycopg.ProgrammingError:
        return "(unparseable)"
    return " ".join(f"{k}={v}" for k, v in sorted(info.items()) if k != "password" and v)


def run_import(
    connection: psycopg.Connection[Any],
    schema: str,
    source_url: str,
    mapping: Mapping_,
    codes: Callable[[], str],
    dry_run: bool = False,
    progress: Progress | None = None,
    chunk: int = 2_000,
) -> dict[str, Any]:
    """One run; its outcome: the reconciliation ``report`` (the same for a dry run, a real one and every rerun of
    the same source and mapping), what this run ``written``, and the certificates' ``content_check``."""
    now = datetime.now(UTC)
    url = checked_url(source_url)
    try:
        with LegacySource(url) as source:  # both plans read the same snapshot
            plan = plan_import(source, mapping, codes, now)
            existing = existing_people(connection, schema, plan)
            if existing:
                plan = plan_import(source, mapping, codes, now, existing)
    except psycopg.OperationalError as error:
        raise ImportRefused(f"--from: cannot read the source database: {_short(str(error), 200)}") from None
    report = plan.report()
    assert report["balanced"], report["tables"]
    outcome: dict[str, Any] = {"dry_run": dry_run, "report": report, "written": {}, "content_check": None}
    if dry_run:
        return outcome
    if plan.conflicts:
        raise ImportRefused(f"{len(plan.conflicts)} conflict(s) stop the run: " + "; ".join(plan.conflicts), outcome)
    target = Target(connection, schema)
    run_id = uuid.uuid4()
    with connection.transaction():
        connection.execute(
            f'INSERT INTO "{schema}".import_runs (id, source, dry_run) VALUES (%s, %s, false)',
            (run_id, redacted(url)),
        )
    outcome["written"] = target.write(plan, run_id, chunk, progress)
    with connection.transaction():
        quarantined = [
            {"source_table": q.source_table, "source_id": q.source_id, "reason": q.reason, "detail": q.detail,
             "raw": q.raw, "run_id": run_id}
            for q in plan.quarantine
        ]  # fmt: skip
        connection.execute(
            f'DELETE FROM "{schema}".import_quarantine q USING "{schema}".import_records r'
            " WHERE r.source_table = q.source_table AND r.source_id = q.source_id"
        )
        connection.execute(
            f'INSERT INTO "{schema}".import_quarantine (source_table, source_id, reason, detail, raw, run_id)'
            " SELECT source_table, source_id, reason, detail, raw, run_id FROM jsonb_to_recordset(%s::jsonb)"
            " AS r(source_table text, source_id text, reason text, detail text, raw jsonb, run_id uuid)"
            " ON CONFLICT (source_table, source_id) DO UPDATE SET reason = excluded.reason, detail = excluded.detail,"
            " raw = excluded.raw, run_id = excluded.run_id",
            (_json(quarantined),),
        )
    outcome["content_check"] = content_check(connection, schema, plan)
    with connection.transaction():
        connection.execute(
            f'UPDATE "{schema}".import_runs SET finished_at = now(), report = %s::jsonb WHERE id = %s',
            (_json([outcome])[1:-1], run_id),
        )
    return outcome


def existing_people(
    connection: psycopg.Connection[Any], schema: str, plan: Plan
) -> dict[str, tuple[uuid.UUID, str, str]]:
    """People arccm already has (an administrator made before the import, say) whom one source person matches by
    e-mail: that source person is merged into them, not made again.  Not the importer's own rows (the plan's
    ids), and never when two source people or two arccm people share the address — duplicates are reported, not
    merged (docs/import.md)."""
    planned: dict[str, list[uuid.UUID]] = {}
    for pid, item in plan.people.items():
        key = email_key(item.row.get("email"))
        if key:
            planned.setdefault(key, []).append(pid)
    exists = connection.execute("SELECT to_regclass(%s)", (f'"{schema}".profiles',)).fetchone()
    connection.commit()
    if not planned or exists is None or exists[0] is None:  # a dry run before arccm's schema exists: nobody yet
        return {}
    rows = connection.execute(
        f'SELECT id, display_name, email FROM "{schema}".profiles'
        " WHERE email <> '' AND lower(btrim(email)) = ANY(%s)",
        ([k.lower() for k in planned],),
    ).fetchall()
    connection.commit()
    found: dict[str, list[tuple[uuid.UUID, str, str]]] = {}
    for pid, name, email in rows:
        key = email_key(email)
        if key in planned and pid not in plan.people:
            found.setdefault(key, []).append((pid, name, email))
    return {key: people[0] for key, people in found.items() if len(people) == 1 and len(planned[key]) == 1}


def content_check(connection: psycopg.Connection[Any], schema: str, plan: Plan) -> dict[str, Any]:
    """The imported certificates as arccm holds them against the source's after normalization: holder, course,
    issue and expiry date."""
    ids = list(plan.expected)
    found = connection.execute(
        f'SELECT id, recipient_name, course_name, issue_date, expiry_date FROM "{schema}".certificates'
        " WHERE id = ANY(%s)",
        (ids,),
    ).fetchall()
    connection.commit()
    mismatches = [str(row[0]) for row in found if tuple(row[1:]) != plan.expected[row[0]]]
    return {"compared": len(found), "missing": len(ids) - len(found), "mismatches": mismatches}


def summary(report: Mapping[str, Any]) -> list[tuple[str, int, int, int, int]]:
    return [
        (t, c["source"], c["imported"], c["merged"], c["quarantined"])
        for t in SOURCE_TABLES
        if (c := report["tables"][t])["source"]
    ]
