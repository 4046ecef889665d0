"""The role policies on sessions build only the set their other arms do not already give: the sessions attended.

Each role's read policy on ``training_sessions`` admits a row by ``lead_instructor_id = me OR assistant_ids @>
ARRAY[me] OR id IN (SELECT unnest(arccm_my_sessions()))`` (migration 0013).  ``arccm_my_sessions()`` is the union
of the sessions the actor leads, assists and is enrolled in — three index scans and a hash to merge them, 59 µs a
call (scale m, an IT) — though the first two arms already admit every session it leads or assists.  The set the
third arm needs is the sessions the actor attends, ``arccm_attended_sessions()``: one index scan, 33 µs.  Every
policy admits the same rows; a learner's or an instructor's read of sessions costs 26 µs less under row-level
security (the read models' own ``id = ANY(arccm_my_sessions())`` is unchanged, and so is the runtime role's and
Supabase's generic policy, which has no such arms before it).

The policies are changed from their own text in the catalog (the role policies of migrations 0011–0015, whatever
role), and the migration refuses a schema where the set's arm is not behind the two others.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text

from arccm.adapters.postgres.migrations import earlier

revision = "0024"
down_revision = "0023"

MINE, ATTENDED = "arccm_my_sessions()", "arccm_attended_sessions()"
# the arms before the set, as pg_get_expr prints them: a session the actor leads or assists
TEACHES = re.compile(r"\(lead_instructor_id = .*\) OR \(assistant_ids @> ARRAY\[.*\]\) OR \(id IN \( SELECT unnest\(")


def _function(schema: str) -> str:
    return f"""
CREATE FUNCTION arccm_attended_sessions() RETURNS uuid[] LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = "{schema}", pg_catalog AS $$
DECLARE
    me uuid := arccm_uid();
BEGIN
    RETURN (SELECT COALESCE(array_agg(session_id), '{{}}') FROM session_enrollments
            WHERE learner_id = me AND status <> 'cancelled');
END $$;
COMMENT ON FUNCTION arccm_attended_sessions() IS
    'The sessions the actor is enrolled in and not cancelled: the role policies set behind leads-or-assists (migration 0024)';
REVOKE EXECUTE ON FUNCTION arccm_attended_sessions() FROM PUBLIC"""


def _swap(schema: str, old: str, new: str) -> None:
    """Every role policy on sessions that calls ``old``, calling ``new`` instead (the generic one is left)."""
    found = (
        op.get_bind()
        .execute(
            text(
                "SELECT policyname, qual FROM pg_policies WHERE schemaname = :s AND tablename = 'training_sessions'"
                " AND policyname <> 'actor_select' AND qual LIKE :old ORDER BY policyname"
            ),
            {"s": schema, "old": f"%{old}%"},
        )
        .all()
    )
    for name, qual in found:
        if not TEACHES.search(qual) or qual.count(old) != 1:
            raise RuntimeError(f"policy {name} on training_sessions is not as migration 0013 wrote it: {qual}")
        op.execute(f'ALTER POLICY "{name}" ON training_sessions USING ({qual.replace(old, new)})')


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    op.execute(_function(schema))
    # the actor roles get it through their group at every upgrade (roles.copy_privileges)
    op.execute(f'GRANT EXECUTE ON FUNCTION arccm_attended_sessions() TO "{app_role}"')
    _swap(schema, MINE, ATTENDED)


def downgrade() -> None:
    schema = earlier("0011_role_policies.py")._config("schema", "public")
    _swap(schema, ATTENDED, MINE)
    op.execute("DROP FUNCTION arccm_attended_sessions()")
