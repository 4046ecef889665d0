"""Rollups kept in the same transaction as the rows they count, so that a dashboard or an analytics page reads a few
hundred or thousand rows whatever the organization's size (issue 15; docs/performance.md, "Rollups").

* ``session_rollups``: sessions per (location, provider, course, UTC day of their start, status) with the sums
  analytics needs — seats taken and offered, waitlist, active enrollments, attended, completed, and the sum of
  each session's utilisation ``seats_taken / max_capacity`` in billionths, rounded down (an integer: a sum of
  floats kept by adding and subtracting would drift away from a recount; an integer sum cannot).
* ``open_session_counts``: the sessions not yet over (``scheduled``, ``in_progress``) per (location, provider) —
  the dashboard's upcoming and running sessions, seats and waitlist, without a row per day (at scale l the open
  sessions alone span 180 days × 500 locations).
* ``compliance_counts``: assessed instructors and the sum of their compliance scores per (location, provider) — the
  dashboard's average compliance score (20,000 instructors at scale l took 12 ms to average).
* ``certificate_rollups``: certificates per (location, provider, course, issue date, expiry date): all, current
  (neither revoked nor superseded), and recorded (current, the daily upkeep having recorded its expiry).  The expiry date is part of the key, so "active on day D" (current,
  expiry ≥ D) is exact for any D; a course's certificates of one day share their expiry, so the key adds almost no
  rows.  Issued within 7 days, expiring within 30, the upkeep's backlog and analytics' certificates of a quarter
  read these.

Statement-level triggers with transition tables (one event per statement, however many rows) add each statement's
net change per key, keys in a fixed order so that two writers lock the rows they share in the same order; a key
whose net change is zero is not touched (an UPDATE that changes nothing counted — a version bump — locks nothing).
The session counters that enrollments keep (migration 0003) change by an UPDATE of the session, so every
enrollment, cancellation, attendance and assessment reaches the rollups through the sessions' trigger.  A
``TRUNCATE`` empties them.  The functions are ``SECURITY DEFINER`` (the owner's): an actor may read the rollups it
is entitled to and write none.  Policies: the same as ``certificate_counts`` (migrations 0014, 0015) — SA and AD
every row, an AP the rows at its locations or of its provider; every row counted there is one the AP may read.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier

revision = "0020"
down_revision = "0019"

CURRENT = "revoked_at IS NULL AND superseded_by_id IS NULL"
# a session's utilisation in billionths, rounded down: an integer, so that sums kept by adding and subtracting are
# exact, and summed fast (a numeric sum of 24,000 quotients took half of an administrator's quarter at scale l)
UTILISATION = "seats_taken::bigint * 1000000000 / max_capacity"
DAY = "(starts_at AT TIME ZONE 'UTC')::date"
OPEN = "status IN ('scheduled', 'in_progress')"

# name: (key columns, [(sum column, expression of one row)], rows counted)
ROLLUPS: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]], str]] = {
    "session_rollups": (
        [("location_id", "location_id"), ("provider_id", "provider_id"), ("course_id", "course_id"),
         ("day", DAY), ("status", "status")],
        [("sessions", "1"), ("seats_taken", "seats_taken"), ("seats_offered", "max_capacity"),
         ("waitlisted", "waitlist_length"), ("enrollments", "active_enrollments"), ("attended", "attended_count"),
         ("completed", "completed_count"), ("utilisation", UTILISATION)],
        "TRUE",
    ),
    "open_session_counts": (
        [("location_id", "location_id"), ("provider_id", "provider_id")],
        [("upcoming", "(status = 'scheduled')::int"), ("in_progress", "(status = 'in_progress')::int"),
         ("seats_taken", "seats_taken"), ("seats_offered", "max_capacity"), ("waitlisted", "waitlist_length")],
        OPEN,
    ),
    "certificate_rollups": (
        [("location_id", "location_id"), ("provider_id", "provider_id"), ("course_id", "course_id"),
         ("issue_date", "issue_date"), ("expiry_date", "expiry_date")],
        [("certificates", "1"), ("current", f"({CURRENT})::int"),
         ("recorded", f"({CURRENT} AND expired_on IS NOT NULL)::int")],
        "TRUE",
    ),
    "compliance_counts": (
        [("location_id", "location_id"), ("provider_id", "provider_id")],
        [("assessed", "1"), ("score", "compliance_score")],
        "compliance_status <> 'unassessed'",
    ),
}  # fmt: skip
SOURCE = {"session_rollups": "training_sessions", "open_session_counts": "training_sessions"}
SOURCE |= {"certificate_rollups": "certificates", "compliance_counts": "profiles"}
NULLABLE = {name: {"provider_id"} for name in ROLLUPS} | {"compliance_counts": {"location_id", "provider_id"}}
TYPES = {"location_id": "uuid", "provider_id": "uuid", "course_id": "uuid", "day": "date", "status": "text"}
TYPES |= {"issue_date": "date", "expiry_date": "date"}


def _table(name: str) -> str:
    keys, sums, _ = ROLLUPS[name]
    columns = [f"{k} {TYPES[k]}{'' if k in NULLABLE[name] else ' NOT NULL'}" for k, _ in keys]
    columns += [f"{s} {TYPES.get(s, 'bigint')} NOT NULL" for s, _ in sums]
    key = ", ".join(k for k, _ in keys)
    # no CHECK of the sums' range: PostgreSQL checks the row an upsert proposes (a key's negative delta) before it
    # finds the conflict that turns it into an update; the tests recount instead
    return (
        f"CREATE TABLE {name} ({', '.join(columns)},"
        f" CONSTRAINT {name}_key UNIQUE NULLS NOT DISTINCT ({key}));"
        f" COMMENT ON TABLE {name} IS 'Kept by triggers on {SOURCE[name]} in the transaction that changes them"
        " (migration 0020); equal to a recount at every commit';"
    )


def _select(name: str, rows: str, term: str, grouped: bool = False) -> str:
    """The rollup's keys and each sum's ``term`` (a format of its row expression) over ``rows``."""
    keys, sums, where = ROLLUPS[name]
    group = f" GROUP BY {', '.join(e for _, e in keys)}" if grouped else ""
    return (
        "SELECT "
        + ", ".join(f"{e} AS {k}" for k, e in keys)
        + ", "
        + ", ".join(f"{term.format(e)} AS {s}" for s, e in sums)
        + f" FROM {rows} WHERE {where}{group}"
    )


def _delta(name: str, rows: str, sign: str) -> str:
    return _select(name, rows, sign + "({})")


def _apply(name: str, *deltas: str) -> str:
    """The net change of one statement per key, upserted in key order; keys whose net change is nothing skipped."""
    keys, sums, _ = ROLLUPS[name]
    key = ", ".join(k for k, _ in keys)
    order = ", ".join(f"{k}{' NULLS FIRST' if k in NULLABLE[name] else ''}" for k, _ in keys)
    union = " UNION ALL ".join(deltas)
    return f"""
        INSERT INTO {name} AS r ({key}, {", ".join(s for s, _ in sums)})
        SELECT {key}, {", ".join(f"sum({s})" for s, _ in sums)} FROM ({union}) d
        GROUP BY {key} HAVING {" OR ".join(f"sum({s}) <> 0" for s, _ in sums)}
        ORDER BY {order}
        ON CONFLICT ON CONSTRAINT {name}_key DO UPDATE
        SET {", ".join(f"{s} = r.{s} + EXCLUDED.{s}" for s, _ in sums)};"""


def _function(function: str, schema: str, names: list[str]) -> str:
    def each(*deltas: tuple[str, str]) -> str:
        return "".join(_apply(n, *(_delta(n, rows, sign) for rows, sign in deltas)) for n in names)

    return f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = "{schema}", pg_catalog AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {each(("new_rows", "+"))}
    ELSIF TG_OP = 'DELETE' THEN {each(("old_rows", "-"))}
    ELSIF TG_OP = 'UPDATE' THEN {each(("new_rows", "+"), ("old_rows", "-"))}
    ELSE
        {" ".join(f"DELETE FROM {n};" for n in names)}  -- TRUNCATE
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION {function}() FROM PUBLIC;"""


def recount(name: str) -> str:
    """The rollup's rows as a recount of its source table (the backfill; the tests compare with it)."""
    return _select(name, SOURCE[name], "sum({})", grouped=True)


SESSION_COVER = "location_id, provider_id, course_id, status, sessions, seats_taken, enrollments, attended, completed"
ISSUE_COVER = "location_id, provider_id, course_id, expiry_date, certificates, current"
INDEXES = [
    # analytics: a window of days, read from the index alone (an AP's at its locations: the key's own index)
    f"CREATE INDEX session_rollups_day_idx ON session_rollups (day) INCLUDE ({SESSION_COVER}, utilisation)",
    f"CREATE INDEX session_rollups_provider_idx ON session_rollups (provider_id, day) INCLUDE ({SESSION_COVER})",
    f"CREATE INDEX certificate_rollups_issue_idx ON certificate_rollups (issue_date) INCLUDE ({ISSUE_COVER})",
    f"CREATE INDEX certificate_rollups_provider_idx ON certificate_rollups (provider_id, issue_date)"
    f" INCLUDE ({ISSUE_COVER})",
    # expiring within 30 days: current certificates by expiry
    "CREATE INDEX certificate_rollups_expiry_idx ON certificate_rollups (expiry_date)"
    " INCLUDE (location_id, provider_id, current) WHERE current > 0",
    # the daily upkeep's backlog (current, expiry not recorded, already past) and a day before the upkeep's (current,
    # expiry recorded, not yet past): both a handful of rows whenever the upkeep runs daily
    "CREATE INDEX certificate_rollups_unrecorded_idx ON certificate_rollups (expiry_date)"
    " INCLUDE (location_id, provider_id, current, recorded) WHERE current > recorded",
    "CREATE INDEX certificate_rollups_recorded_idx ON certificate_rollups (expiry_date)"
    " INCLUDE (location_id, provider_id, recorded) WHERE recorded > 0",
]

TRIGGERS = {"training_sessions": ("arccm_roll_up_sessions", ["session_rollups", "open_session_counts"])}
TRIGGERS["certificates"] = ("arccm_roll_up_certificates", ["certificate_rollups"])
TRIGGERS["profiles"] = ("arccm_roll_up_compliance", ["compliance_counts"])


def _copy_policies(name: str) -> str:
    """The policies of ``certificate_counts`` (the same columns, the same readers) on ``name``."""
    return f"""
    DO $$ DECLARE p record; BEGIN
        ALTER TABLE {name} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
        FOR p IN SELECT policyname, cmd, array_to_string(ARRAY(SELECT quote_ident(r) FROM unnest(roles) r), ', ')
                        AS roles, qual, with_check
                 FROM pg_policies WHERE schemaname = current_schema() AND tablename = 'certificate_counts'
        LOOP
            EXECUTE format('CREATE POLICY %I ON {name} FOR %s TO %s USING (%s)%s', p.policyname, p.cmd, p.roles,
                           p.qual, CASE WHEN p.with_check IS NULL THEN '' ELSE format(' WITH CHECK (%s)', p.with_check) END);
        END LOOP;
    END $$"""


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    for name in ROLLUPS:
        op.execute(_table(name))
    for source, (function, names) in TRIGGERS.items():
        op.execute(_function(function, schema, names))
        # the triggers first: from here until this migration commits, the source is not written (CREATE TRIGGER
        # holds a lock that excludes writers), and the rollups below are counted in this same transaction
        for operation, rows in (
            ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
            ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
            ("TRUNCATE", ""),
        ):
            op.execute(
                f"CREATE TRIGGER roll_up_{operation.lower()} AFTER {operation} ON {source} {rows}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
        for name in names:
            keys, sums, _ = ROLLUPS[name]
            columns = ", ".join([k for k, _ in keys] + [s for s, _ in sums])
            op.execute(f"INSERT INTO {name} ({columns}) {recount(name)}")
    for name in ROLLUPS:
        op.execute(_copy_policies(name))
        op.execute(f'GRANT SELECT ON {name} TO "{app_role}"')
    for index in INDEXES:
        op.execute(index)


def downgrade() -> None:
    for source, (function, _) in TRIGGERS.items():
        for operation in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER roll_up_{operation} ON {source}")
        op.execute(f"DROP FUNCTION {function}()")
    for name in ROLLUPS:
        op.execute(f"DROP TABLE {name}")
