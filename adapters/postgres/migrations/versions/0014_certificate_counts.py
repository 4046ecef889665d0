"""Certificate counts per location and provider, kept in the same transaction as the certificates they count.

A dashboard of an administrator or an AP counted its certificates by reading every one it may see: 200,000 for an
administrator at scale m (52 ms), 19,751 for an AP — and under row-level security the AP's policy ran on each of
them (about 80 ns a row: 2.5 ms of its 10 ms, ``--rls both``).  The counts that do not depend on the day now come
from ``certificate_counts``, one row per (location, provider) pair that holds certificates (50 at scale m):

* ``certificates``: every certificate of the pair;
* ``live_unrecorded``: those neither revoked nor superseded whose expiry the daily upkeep has not recorded
  (``expired_on IS NULL``).

The active count of a day is then ``live_unrecorded`` less the live certificates whose expiry date has passed but is
not yet recorded (the upkeep's backlog: an index range, ``certificates_unrecorded_expiry_idx``), plus the live ones
whose expiry was recorded although the day asked about is not past it (a day before the upkeep's: a range of the
new ``certificates_recorded_expiry_idx``).  Certificates expiring within 30 days and issued within 7 are date
ranges of covering indexes (``certificates_live_expiry_idx`` replaces ``certificates_expiry_idx``, whose every
reader wanted live certificates only).  Every figure stays exact for any day, however far behind the upkeep is; only
its cost depends on the backlog.

Three statement-level triggers (``INSERT``, ``UPDATE``, ``DELETE``; a trigger with transition tables has one event)
add each statement's net change per pair, pairs in a fixed order so that two writers lock them in the same order;
a ``TRUNCATE`` of the certificates empties the counts.  The function is ``SECURITY DEFINER`` (the owner's): an
actor's role may read the counts it is entitled to and write none.  Policies: the runtime role's generic one and
one per role, SA and AD all pairs, an AP the pairs at its locations or of its provider — every certificate counted
in such a row is one the AP may read itself.  No other role has a policy (nothing to read).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier
from arccm.adapters.postgres.roles import actor_role

revision = "0014"
down_revision = "0013"

LIVE = "revoked_at IS NULL AND superseded_by_id IS NULL"
# the columns an AP's certificate policy reads (location, provider, issuer, holder): counts by date stay index-only
POLICY_COLUMNS = "location_id, provider_id, issued_by, recipient_user_id, recipient_student_id"
ISSUED_COVER_0003 = "location_id, provider_id, course_id, expiry_date, revoked_at, superseded_by_id, issued_by"
ISSUED_COVER = f"{ISSUED_COVER_0003}, recipient_user_id, recipient_student_id"


def _delta(rows: str, sign: str) -> str:
    return (
        f"SELECT location_id, provider_id, {sign}1 AS certificates,"
        f" {sign}(({LIVE} AND expired_on IS NULL)::int) AS live_unrecorded FROM {rows}"
    )


def _apply(*deltas: str) -> str:
    union = " UNION ALL ".join(deltas)
    return f"""
        INSERT INTO certificate_counts AS k (location_id, provider_id, certificates, live_unrecorded)
        SELECT location_id, provider_id, sum(certificates), sum(live_unrecorded) FROM ({union}) d
        GROUP BY location_id, provider_id HAVING sum(certificates) <> 0 OR sum(live_unrecorded) <> 0
        ORDER BY location_id, provider_id NULLS FIRST
        ON CONFLICT (location_id, provider_id) DO UPDATE
        SET certificates = k.certificates + EXCLUDED.certificates,
            live_unrecorded = k.live_unrecorded + EXCLUDED.live_unrecorded;"""


def _function(schema: str) -> str:
    return f"""
CREATE FUNCTION arccm_count_certificates() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = "{schema}", pg_catalog AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {_apply(_delta("new_rows", "+"))}
    ELSIF TG_OP = 'DELETE' THEN {_apply(_delta("old_rows", "-"))}
    ELSIF TG_OP = 'UPDATE' THEN {_apply(_delta("new_rows", "+"), _delta("old_rows", "-"))}
    ELSE
        DELETE FROM certificate_counts;  -- TRUNCATE
    END IF;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION arccm_count_certificates() FROM PUBLIC;
"""


TABLE = """
CREATE TABLE certificate_counts (
    location_id uuid NOT NULL,
    provider_id uuid,
    certificates bigint NOT NULL,
    live_unrecorded bigint NOT NULL,
    -- no CHECK of the counts' range: PostgreSQL checks the row an upsert proposes (a pair's negative delta) before
    -- it finds the conflict that turns it into an update; the tests recount instead
    CONSTRAINT certificate_counts_pair UNIQUE NULLS NOT DISTINCT (location_id, provider_id)
);
COMMENT ON TABLE certificate_counts IS
    'Certificates per (location, provider): all, and live with no expiry recorded; kept by triggers (migration 0014)';
"""


def _policies(owner: str, app_role: str) -> list[str]:
    generic = earlier("0009_row_level_security.py")
    pairs = f"(provider_id = {generic.PROV} OR location_id = ANY({generic.LOCS}))"
    out = [
        "ALTER TABLE certificate_counts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
        f'CREATE POLICY owner_all ON certificate_counts TO "{owner}" USING (true) WITH CHECK (true)',
        f'CREATE POLICY actor_select ON certificate_counts FOR SELECT TO "{app_role}"'
        f" USING ({generic.ADMIN} OR ({generic.IS_AP} AND {pairs}))",
    ]
    for role, using in (("SA", "true"), ("AD", "true"), ("AP", pairs)):
        out.append(
            f"CREATE POLICY {role.lower()}_select ON certificate_counts FOR SELECT"
            f" TO \"{actor_role(app_role, role)}\" USING ((SELECT arccm_acts_as('{role}')) AND ({using}))"
        )
    return out


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    owner = op.get_bind().exec_driver_sql("SELECT current_user").scalar_one()
    op.execute(TABLE)
    op.execute(_function(schema))
    # the triggers first: from here until this migration commits, certificates are not written (CREATE TRIGGER holds
    # a lock that excludes writers), and the counts below are read in this same transaction
    for operation, rows in (
        ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
        ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
        ("TRUNCATE", ""),
    ):
        op.execute(
            f"CREATE TRIGGER count_{operation.lower()} AFTER {operation} ON certificates {rows}"
            " FOR EACH STATEMENT EXECUTE FUNCTION arccm_count_certificates()"
        )
    op.execute(
        "INSERT INTO certificate_counts (location_id, provider_id, certificates, live_unrecorded)"
        f" SELECT location_id, provider_id, count(*), count(*) FILTER (WHERE {LIVE} AND expired_on IS NULL)"
        " FROM certificates GROUP BY location_id, provider_id"
    )
    for statement in _policies(owner, app_role):
        op.execute(statement)
    op.execute(f'GRANT SELECT ON certificate_counts TO "{app_role}"')
    op.execute(
        "DROP INDEX certificates_expiry_idx;"
        f" CREATE INDEX certificates_live_expiry_idx ON certificates (expiry_date) INCLUDE ({POLICY_COLUMNS})"
        f" WHERE {LIVE};"
        f" CREATE INDEX certificates_recorded_expiry_idx ON certificates (expiry_date) INCLUDE ({POLICY_COLUMNS})"
        f" WHERE expired_on IS NOT NULL AND {LIVE};"
        f" DROP INDEX certificates_issued_cover_idx;"
        f" CREATE INDEX certificates_issued_cover_idx ON certificates (issue_date) INCLUDE ({ISSUED_COVER})"
    )


def downgrade() -> None:
    op.execute(
        "DROP INDEX certificates_issued_cover_idx;"
        f" CREATE INDEX certificates_issued_cover_idx ON certificates (issue_date) INCLUDE ({ISSUED_COVER_0003});"
        " DROP INDEX certificates_recorded_expiry_idx; DROP INDEX certificates_live_expiry_idx;"
        " CREATE INDEX certificates_expiry_idx ON certificates (expiry_date)"
    )
    for operation in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER count_{operation} ON certificates")
    op.execute("DROP FUNCTION arccm_count_certificates(); DROP TABLE certificate_counts")
