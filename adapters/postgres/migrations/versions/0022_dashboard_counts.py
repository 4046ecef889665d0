"""An administrator's or an AP's dashboard reads its session, compliance and team figures from one table reference.

Under row-level security every table reference of a statement pays its role policy's guard — ``(SELECT
arccm_acts_as(…))``, a definer call with a query, one InitPlan per reference (20–60 µs) — and its filter on each
row.  An administrator's dashboard read nine references (open-session counts, certificate counts, four ranges of
the certificate rollups, compliance counts, teams, team members), an AP's eight (teams twice: the team members'
policy asks the teams'), so the policies added 15–25 % to dashboards that take 1.3 ms (docs/performance.md,
"Issue 11").  Now:

* ``dashboard_counts`` holds, per (kind, location, provider), what ``open_session_counts`` (kind ``sessions``) and
  ``compliance_counts`` (kind ``compliance``) held, and the teams and their members (kind ``teams``, by the team's
  location and provider).  One scan reads them all; each source writes only the rows of its own kind, so an
  enrollment never waits for a compliance update or a new team member, nor they for it.  The two tables it
  replaces are dropped.
* Kept as the rollups of migration 0020 are: statement-level triggers with transition tables add each statement's
  net change per key, keys in a fixed order, a key with no net change untouched.  The sessions' and the profiles'
  trigger functions now write here.  A team member counts at its team's location and provider: the members'
  trigger takes a share lock on the teams it counts at (a team moved meanwhile is then waited for and read as
  moved), and a team's move carries its members' count from the old key to the new.  ``TRUNCATE`` of a source
  empties its kind.
* Policies: the same as ``certificate_counts`` (migrations 0014, 0015), copied: SA and AD every row, an AP the rows
  at its locations or of its provider — every session, person and team counted there is one the AP may read.
* ``teams_created_by_idx``: an AP's teams elsewhere (created by it, neither at its locations nor of its provider) are
  an index probe that finds nothing, so their policy's guard never runs.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from types import ModuleType

from alembic import op

from arccm.adapters.postgres.migrations import earlier
from arccm.adapters.postgres.roles import actor_group

revision = "0022"
down_revision = "0021"

OPEN = "r.status IN ('scheduled', 'in_progress')"
SUMS = [
    "upcoming", "in_progress", "seats_taken", "seats_offered", "waitlisted", "assessed", "score", "teams",
    "team_members",
]  # fmt: skip
MEMBERS = "(SELECT count(*) FROM team_members m WHERE m.team_id = r.id)"
# kind: (source table, rows counted, {sum: expression of one row ``r``}); every other sum is 0
KINDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "sessions": ("training_sessions", OPEN, {
        "upcoming": "(r.status = 'scheduled')::int", "in_progress": "(r.status = 'in_progress')::int",
        "seats_taken": "r.seats_taken", "seats_offered": "r.max_capacity", "waitlisted": "r.waitlist_length",
    }),
    "compliance": ("profiles", "r.compliance_status <> 'unassessed'", {"assessed": "1", "score": "r.compliance_score"}),
    # a team with the members it has now: a team moved carries them from its old key to its new one
    "teams": ("teams", "TRUE", {"teams": "1", "team_members": MEMBERS}),
}  # fmt: skip
KEY = "kind, location_id, provider_id, slot"
ORDER = "kind, location_id NULLS FIRST, provider_id NULLS FIRST"  # one slot a statement
# the row a transaction counts in: one shared row per key for the sessions and the people (as the tables it replaces
# had), and a row of its own for the teams — creating teams never waits for another transaction creating teams
# (a unit of work holding a new team open would hold every other one back); ``arccm db prune-rollups`` folds the
# teams' rows of committed transactions into slot 0
SLOTS = {"sessions": "0", "compliance": "0", "teams": "txid_current()"}


def _delta(kind: str, rows: str, sign: str) -> str:
    """One statement's rows of a source as signed sums of ``kind``."""
    _, where, sums = KINDS[kind]
    terms = ", ".join(f"{sign}({sums[s]}) AS {s}" if s in sums else f"0 AS {s}" for s in SUMS)
    return f"SELECT '{kind}'::text AS kind, r.location_id, r.provider_id, {terms} FROM {rows} r WHERE {where}"


def _members(rows: str, sign: str) -> str:
    """Team members as signed counts at their team's key (the team locked beforehand by the trigger)."""
    terms = ", ".join(f"{sign}1 AS {s}" if s == "team_members" else f"0 AS {s}" for s in SUMS)
    return f"SELECT 'teams'::text AS kind, t.location_id, t.provider_id, {terms} FROM {rows} r JOIN teams t ON t.id = r.team_id"


def apply(kind: str, *deltas: str) -> str:
    """The net change of one statement per key, upserted in key order; keys whose net change is nothing skipped."""
    union = " UNION ALL ".join(deltas)
    return f"""
        INSERT INTO dashboard_counts AS k ({KEY}, {", ".join(SUMS)})
        SELECT kind, location_id, provider_id, {SLOTS[kind]}, {", ".join(f"sum({s})" for s in SUMS)} FROM ({union}) d
        GROUP BY kind, location_id, provider_id HAVING {" OR ".join(f"sum({s}) <> 0" for s in SUMS)}
        ORDER BY {ORDER}
        ON CONFLICT ON CONSTRAINT dashboard_counts_key DO UPDATE
        SET {", ".join(f"{s} = k.{s} + EXCLUDED.{s}" for s in SUMS)};"""


def recount() -> str:
    """The table's rows, one per (kind, location, provider), as a recount of its sources (the backfill; the tests
    compare it with the kept rows summed over their slots)."""
    parts = [
        f"SELECT '{kind}'::text AS kind, r.location_id, r.provider_id, "
        + ", ".join(f"sum({sums[s]}) AS {s}" if s in sums else f"0 AS {s}" for s in SUMS)
        + f" FROM {source} r WHERE {where} GROUP BY r.location_id, r.provider_id"
        for kind, (source, where, sums) in KINDS.items()
    ]
    return " UNION ALL ".join(parts)


def _function(name: str, schema: str, body: dict[str, str]) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = "{schema}", pg_catalog AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {body["INSERT"]}
    ELSIF TG_OP = 'DELETE' THEN {body["DELETE"]}
    ELSIF TG_OP = 'UPDATE' THEN {body["UPDATE"]}
    ELSE {body["TRUNCATE"]}
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION {name}() FROM PUBLIC;"""


def _source_body(kind: str, before: dict[str, str] | None = None) -> dict[str, str]:
    """A source's trigger body for ``kind`` after ``before`` (another table's upkeep in the same function)."""
    before = before or {"INSERT": "", "DELETE": "", "UPDATE": "", "TRUNCATE": ""}
    return {
        "INSERT": before["INSERT"] + apply(kind, _delta(kind, "new_rows", "+")),
        "DELETE": before["DELETE"] + apply(kind, _delta(kind, "old_rows", "-")),
        "UPDATE": before["UPDATE"] + apply(kind, _delta(kind, "new_rows", "+"), _delta(kind, "old_rows", "-")),
        "TRUNCATE": before["TRUNCATE"] + f"DELETE FROM dashboard_counts WHERE kind = '{kind}';",
    }


# the members' teams, share-locked in id order: a concurrent move of one of them (an UPDATE) is waited for, and the
# count below then reads the team where the move left it
LOCK = "PERFORM FROM teams WHERE id IN (SELECT team_id FROM {rows}) ORDER BY id FOR SHARE;"
MEMBER_BODY = {
    "INSERT": LOCK.format(rows="new_rows") + apply("teams", _members("new_rows", "+")),
    "DELETE": LOCK.format(rows="old_rows") + apply("teams", _members("old_rows", "-")),
    "UPDATE": LOCK.format(rows="new_rows") + LOCK.format(rows="old_rows")
    + apply("teams", _members("new_rows", "+"), _members("old_rows", "-")),
    "TRUNCATE": "UPDATE dashboard_counts SET team_members = 0 WHERE kind = 'teams' AND team_members <> 0;",
}  # fmt: skip
TRANSITIONS = (
    ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ("TRUNCATE", ""),
)
NEW_TRIGGERS = {"teams": "arccm_count_teams", "team_members": "arccm_count_team_members"}


def _sessions_body(rollups: ModuleType) -> dict[str, str]:
    """The sessions' trigger: migration 0020's session rollups, then the dashboard's session counts."""
    name = "session_rollups"
    plus, minus = rollups._delta(name, "new_rows", "+"), rollups._delta(name, "old_rows", "-")
    before = {
        "INSERT": rollups._apply(name, plus),
        "DELETE": rollups._apply(name, minus),
        "UPDATE": rollups._apply(name, plus, minus),
        "TRUNCATE": f"DELETE FROM {name};",
    }
    return _source_body("sessions", before)


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    rollups = earlier("0020_rollups.py")
    op.execute(
        "CREATE TABLE dashboard_counts (kind text NOT NULL, location_id uuid, provider_id uuid, slot bigint NOT NULL, "
        + ", ".join(f"{s} bigint NOT NULL" for s in SUMS)
        + f", CONSTRAINT dashboard_counts_key UNIQUE NULLS NOT DISTINCT ({KEY}),"
        " CONSTRAINT dashboard_counts_kind_check CHECK (kind IN ('sessions', 'compliance', 'teams')));"
        " COMMENT ON TABLE dashboard_counts IS 'Kept by triggers on training_sessions, profiles, teams and"
        " team_members in the transaction that changes them (migration 0022); equal to a recount at every commit'"
    )
    # the triggers first, the backfill after, all in this transaction: the sources are not written meanwhile
    op.execute(_function("arccm_roll_up_sessions", schema, _sessions_body(rollups)))
    op.execute(_function("arccm_roll_up_compliance", schema, _source_body("compliance")))
    op.execute(_function(NEW_TRIGGERS["teams"], schema, _source_body("teams")))
    op.execute(_function(NEW_TRIGGERS["team_members"], schema, MEMBER_BODY))
    for source, function in NEW_TRIGGERS.items():
        for operation, rows in TRANSITIONS:
            op.execute(
                f"CREATE TRIGGER count_{operation.lower()} AFTER {operation} ON {source} {rows}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    sums = ", ".join(f"r.{s}" for s in SUMS)
    op.execute(
        f"INSERT INTO dashboard_counts ({KEY}, {', '.join(SUMS)}) SELECT r.kind, r.location_id, r.provider_id, 0,"
        f" {sums} FROM ({recount()}) r"
    )
    op.execute(rollups._copy_policies("dashboard_counts"))
    op.execute(f'GRANT SELECT ON dashboard_counts TO "{app_role}"')
    op.execute("DROP TABLE open_session_counts; DROP TABLE compliance_counts")
    op.execute("CREATE INDEX teams_created_by_idx ON teams (created_by)")


def downgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    rollups = earlier("0020_rollups.py")
    op.execute("DROP INDEX teams_created_by_idx")
    for source, function in NEW_TRIGGERS.items():
        for operation, _ in TRANSITIONS:
            op.execute(f"DROP TRIGGER count_{operation.lower()} ON {source}")
        op.execute(f"DROP FUNCTION {function}()")
    for source, (function, names) in rollups.TRIGGERS.items():
        if source != "certificates":
            op.execute(f"DROP FUNCTION {function}() CASCADE")  # its triggers with it; made again below
            op.execute(rollups._function(function, schema, names))
            for operation, rows in TRANSITIONS:
                op.execute(
                    f"CREATE TRIGGER roll_up_{operation.lower()} AFTER {operation} ON {source} {rows}"
                    f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                )
    for name in ("open_session_counts", "compliance_counts"):
        keys, sums, _ = rollups.ROLLUPS[name]
        op.execute(rollups._table(name))
        columns = ", ".join([k for k, _ in keys] + [s for s, _ in sums])
        op.execute(f"INSERT INTO {name} ({columns}) {rollups.recount(name)}")
        op.execute(rollups._copy_policies(name))
        # the actor roles' group too: an upgrade copies the runtime role's privileges to it, a downgrade does not
        op.execute(f'GRANT SELECT ON {name} TO "{app_role}", "{actor_group(app_role)}"')
    op.execute("DROP TABLE dashboard_counts")
