"""An enrollment carries its session's location and provider, so an AP's read policy tests the row's own columns.

An AP reads an enrollment when it enrolled it or when the enrollment's session is at one of the AP's locations or
of its provider.  Migration 0009 asked the second question as ``EXISTS (SELECT 1 FROM training_sessions s WHERE
s.id = session_id AND (…))``: a correlated SubPlan, an index scan of ``training_sessions`` under the sessions' own
policy, once per enrollment row.  An AP's list of its enrollments (scale m: 2,000 sessions, 50,000 enrollments) took
430 ms under row-level security against 163 ms without (docs/performance.md, "Issue 11, tenth session").  Hashing
the AP's session set instead made the list 106 ms but a read of one enrollment 17× slower (the whole set is built
for one row), and enrolling, cancelling and marking attendance read one enrollment each.

* ``session_enrollments.session_location_id`` and ``session_provider_id``: the session's ``location_id`` and
  ``provider_id``, set by a ``BEFORE INSERT OR UPDATE`` trigger from the session itself (whatever a statement
  says — a caller cannot put an enrollment in another scope), and carried to every enrollment of a session whose
  location or provider changes, in the same transaction, by an ``AFTER UPDATE`` trigger on ``training_sessions``.
  Both functions are ``SECURITY DEFINER`` with a pinned ``search_path``: the session is read whatever the actor's
  read scope.  The first locks the session's row (``FOR NO KEY UPDATE``, as the seat counters' update of that row
  does later in the same statement), so an enrollment written while its session moves carries the new place: it
  waits for the move to commit, or the move waits for it and then carries it.
* Every ``SELECT`` policy on ``session_enrollments`` (the runtime role's, Supabase's and each actor role's) tests
  ``session_provider_id = provider OR session_location_id = ANY(locations)`` instead of the subquery — the same
  rows, since the columns equal the session's at every commit.  The policies are changed from their own text in
  the catalog, and the migration refuses a schema where that arm is not as migration 0009 wrote it.  The write
  policies (one row each) are unchanged.
* The backfill is not written to the audit trail (no business fact changed; the trail's ``UPDATE`` trigger is off
  for that one statement, inside this migration's transaction, which holds the table's lock throughout).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import re

from alembic import op

from arccm.adapters.postgres.migrations import earlier, rewrite_read_policies

revision = "0025"
down_revision = "0024"

# a helper's InitPlan as pg_get_expr prints it: "( SELECT schema.arccm_provider() AS arccm_provider)"
HELPER = r"\( SELECT [\w.\"]+\(\) AS \w+\)"
# migration 0009's arm, as the catalog prints it (the provider's test first)
SUBQUERY = re.compile(
    r"EXISTS \( SELECT 1\s+FROM (?:[\w\"]+\.)?training_sessions s\s+"
    r"WHERE \(\(s\.id = session_enrollments\.session_id\) AND "
    rf"\(\(s\.provider_id = (?P<provider>{HELPER})\) OR "
    rf"\(s\.location_id = ANY \((?P<locations>{HELPER}::uuid\[\])\)\)\)\)\)"
)
COLUMNS = re.compile(
    rf"\(\(session_provider_id = (?P<provider>{HELPER})\) OR "
    rf"\(session_location_id = ANY \((?P<locations>{HELPER}::uuid\[\])\)\)\)"
)
ON_COLUMNS = r"((session_provider_id = \g<provider>) OR (session_location_id = ANY (\g<locations>)))"
ON_SESSION = (
    r"EXISTS (SELECT 1 FROM training_sessions s WHERE s.id = session_enrollments.session_id"
    r" AND ((s.provider_id = \g<provider>) OR (s.location_id = ANY (\g<locations>))))"
)


def _functions(schema: str) -> str:
    pinned = f'SECURITY DEFINER SET search_path = "{schema}", pg_catalog'
    return f"""
CREATE FUNCTION arccm_enrollment_scope() RETURNS trigger LANGUAGE plpgsql {pinned} AS $$
BEGIN
    -- the session's row lock, which the seat counters take anyway (AFTER INSERT): a move of the session not yet
    -- committed is waited for and read as moved, and a move after this enrollment waits for it and carries it
    SELECT s.location_id, s.provider_id INTO NEW.session_location_id, NEW.session_provider_id
      FROM training_sessions s WHERE s.id = NEW.session_id FOR NO KEY UPDATE;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION arccm_enrollment_scope() IS
    'An enrollment''s session_location_id and session_provider_id, from its session, whatever was written (0025)';
REVOKE EXECUTE ON FUNCTION arccm_enrollment_scope() FROM PUBLIC;
CREATE FUNCTION arccm_session_moved() RETURNS trigger LANGUAGE plpgsql {pinned} AS $$
BEGIN
    UPDATE session_enrollments SET session_location_id = NEW.location_id, session_provider_id = NEW.provider_id
     WHERE session_id = NEW.id;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION arccm_session_moved() IS
    'A session''s new location or provider, carried to its enrollments in the same transaction (0025)';
REVOKE EXECUTE ON FUNCTION arccm_session_moved() FROM PUBLIC"""


def upgrade() -> None:
    schema = earlier("0011_role_policies.py")._config("schema", "public")
    op.execute(
        "ALTER TABLE session_enrollments ADD COLUMN session_location_id uuid, ADD COLUMN session_provider_id uuid"
    )
    op.execute("ALTER TABLE session_enrollments DISABLE TRIGGER audit_update")
    op.execute(
        "UPDATE session_enrollments e SET session_location_id = s.location_id, session_provider_id = s.provider_id"
        " FROM training_sessions s WHERE s.id = e.session_id"
    )
    op.execute("ALTER TABLE session_enrollments ENABLE TRIGGER audit_update")
    op.execute("ALTER TABLE session_enrollments ALTER COLUMN session_location_id SET NOT NULL")
    op.execute(_functions(schema))
    op.execute(
        "CREATE TRIGGER enrollment_scope BEFORE INSERT OR UPDATE OF session_id, session_location_id,"
        " session_provider_id ON session_enrollments FOR EACH ROW EXECUTE FUNCTION arccm_enrollment_scope()"
    )
    op.execute(
        "CREATE TRIGGER session_moved AFTER UPDATE OF location_id, provider_id ON training_sessions FOR EACH ROW"
        " WHEN (OLD.location_id IS DISTINCT FROM NEW.location_id OR OLD.provider_id IS DISTINCT FROM NEW.provider_id)"
        " EXECUTE FUNCTION arccm_session_moved()"
    )
    rewrite_read_policies(schema, "session_enrollments", SUBQUERY, ON_COLUMNS, "0009")


def downgrade() -> None:
    schema = earlier("0011_role_policies.py")._config("schema", "public")
    rewrite_read_policies(schema, "session_enrollments", COLUMNS, ON_SESSION, "0025")
    op.execute("DROP TRIGGER session_moved ON training_sessions; DROP TRIGGER enrollment_scope ON session_enrollments")
    op.execute("DROP FUNCTION arccm_session_moved(); DROP FUNCTION arccm_enrollment_scope()")
    op.execute("ALTER TABLE session_enrollments DROP COLUMN session_location_id, DROP COLUMN session_provider_id")
