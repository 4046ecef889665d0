"""Each domain role reads and writes under its own policies, as its own database role.

The generic policies of migration 0009 hold an arm per role, and PostgreSQL evaluates them per row: an
administrator's dashboard paid for the arms of every other role on 200,000 certificates and lost its covering
indexes (the arms name columns the indexes lack) — 24 % slower than without row-level security, the analytics 70 %.

* Seven ``NOLOGIN`` roles, one per domain role (``arccm_app_sa`` … ``arccm_app_in``, see ``roles.py``); the runtime
  role may switch to them and, being ``NOINHERIT``, does not hold their policies.  An actor's transaction switches
  (``set_config('role', …, true)``, transaction-local) in its first statement.
* For every generic policy, each role gets the same policy with that role put in for ``(SELECT arccm_role())`` —
  ``('SA' IN ('SA','AD') OR …)`` folds to ``true`` when PostgreSQL plans it — and guarded by the database's own
  answer, ``(SELECT arccm_acts_as('SA'))``: switching to a role the actor does not hold shows nothing.  The guard
  is a boolean InitPlan, not a comparison: PostgreSQL evaluates a row-level security qual per row even when it
  reads no column, and estimates ``$1 = 'SA'`` to keep 0.5 % of the rows (an administrator's analytics were
  planned as sort-and-group for a few hundred rows and got 33,000), a bare boolean 50 %.
* ``arccm_role()`` answers in one query instead of two (it was ``arccm_uid()``'s query and then its own).
* The set helpers (``arccm_taught_sessions`` …) are PL/pgSQL, like the scalar ones: a SQL function that is not
  inlined (none with SECURITY DEFINER is) is planned again at every call, and a policy calls them once per
  statement and table reference — a learner's dashboard spent 0.9 of its 1.4 ms planning them.
* The generic policies now apply to the runtime role alone (and to Supabase's ``authenticated``, which
  ``arccm db upgrade`` adds): a host service writing SQL as the runtime role reads under them as before.
* The actor roles hold exactly the runtime role's privileges, inherited from one group role that has a copy of
  them (``roles.copy_privileges``, again at every upgrade).
* The covering indexes of the certificate counts also hold the columns an AP's certificate policy reads (issuer,
  holder), so an AP's dashboard keeps its index-only scans under the policy.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from types import ModuleType

from alembic import op

from arccm.adapters.postgres.migrations import earlier
from arccm.adapters.postgres.roles import (
    actor_group,
    actor_role,
    actor_roles,
    copy_privileges,
    ensure_actor_roles,
    revoke_all,
)
from arccm.domain.access import Role

revision = "0011"
down_revision = "0010"

ROLE_OF_ACTOR = "(SELECT arccm_role())"


def _generic() -> ModuleType:
    """Migration 0009, whose policies these specialize."""
    return earlier("0009_row_level_security.py")


def _config(name: str, default: str) -> str:
    config = op.get_context().config
    return str(config.attributes.get(name, default)) if config is not None else default


def specialize(expression: str, role: str) -> str:
    """The policy ``expression`` for an actor of ``role``: the role put in, and the database's word required."""
    assert role.isalpha()
    put_in = expression.replace(ROLE_OF_ACTOR, f"'{role}'::text")
    return f"((SELECT arccm_acts_as('{role}')) AND ({put_in}))"


def role_policies(app_role: str) -> list[str]:
    out = []
    for table, commands in _generic().POLICIES.items():
        for command, (using, check) in commands.items():
            for role in Role:
                clauses = (f" USING {specialize(using, role.value)}" if using else "") + (
                    f" WITH CHECK {specialize(check, role.value)}" if check else ""
                )
                out.append(
                    f'CREATE POLICY {role.value.lower()}_{command.lower()} ON "{table}" FOR {command}'
                    f' TO "{actor_role(app_role, role.value)}"{clauses}'
                )
    return out


def _claimed_user(schema: str, users: list[str]) -> str:
    """``arccm_claimed_user`` of migration 0009, also answering to the actor roles when ``users`` holds them."""
    names = ", ".join(f"'{name}'" for name in users)
    return f"""
CREATE OR REPLACE FUNCTION arccm_claimed_user() RETURNS uuid LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = "{schema}", pg_catalog AS $$
BEGIN
    IF current_setting('role') IN ('authenticated', 'anon') THEN
        RETURN nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid;
    END IF;
    IF session_user = '{users[0]}' OR current_setting('role') IN ({names}) THEN
        RETURN nullif(current_setting('arccm.user_id', true), '')::uuid;
    END IF;
    RETURN NULL;
END $$"""


# an AP's certificate policy: location, provider, issuer or holder — all in the index, as well as the counted fields
COVERED = "issue_date, expiry_date, revoked_at, superseded_by_id, issued_by, recipient_user_id, recipient_student_id"
INDEXES = {
    "certificates_dashboard_idx": ("location_id, provider_id", COVERED),
    "certificates_provider_cover_idx": ("provider_id, location_id", COVERED),
}
INDEXES_0003 = {
    "certificates_dashboard_idx": ("location_id, provider_id", "issue_date, expiry_date, revoked_at, superseded_by_id, issued_by"),
    "certificates_provider_cover_idx": ("provider_id, location_id", "issue_date, expiry_date, revoked_at, superseded_by_id"),
}  # fmt: skip


def _indexes(definitions: dict[str, tuple[str, str]]) -> None:
    for name, (keys, included) in definitions.items():
        op.execute(f"DROP INDEX {name}; CREATE INDEX {name} ON certificates ({keys}) INCLUDE ({included})")


def _standing_functions(schema: str) -> str:
    path = f'SET search_path = "{schema}", pg_catalog'
    active = "p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active')"
    return f"""
-- the actor's role while allowed to act (as arccm_uid(): active, under no provider or an active one), in one query
CREATE OR REPLACE FUNCTION arccm_role() RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    me uuid := arccm_claimed_user();
    found text;
BEGIN
    SELECT p.role INTO found FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id
    WHERE p.id = me AND {active};
    RETURN found;
END $$;
-- whether the actor may act and holds this role: each role's policies are guarded by it
{acts_as(schema)};
REVOKE EXECUTE ON FUNCTION arccm_acts_as(text) FROM PUBLIC;
"""


def acts_as(schema: str, replace: bool = False) -> str:
    """The guard of every role's policies, as this migration creates it (migration 0015 restores it on the way
    down)."""
    path = f'SET search_path = "{schema}", pg_catalog'
    active = "p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active')"
    return f"""CREATE {"OR REPLACE " if replace else ""}FUNCTION arccm_acts_as(wanted text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    me uuid := arccm_claimed_user();
BEGIN
    RETURN EXISTS (SELECT FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id
                   WHERE p.id = me AND p.role = wanted AND {active});
END $$"""


# the set helpers of migration 0009, each now the same query in PL/pgSQL (its plan kept for the session)
SET_HELPERS = {
    "arccm_taught_sessions": """
        SELECT COALESCE(array_agg(id), '{}') FROM (
            SELECT id FROM training_sessions WHERE lead_instructor_id = me
            UNION SELECT id FROM training_sessions WHERE assistant_ids @> ARRAY[me]
        ) s""",
    "arccm_taught_certificates": """
        SELECT COALESCE(array_agg(id), '{}') FROM certificates WHERE instructor_ids @> ARRAY[me]""",
    "arccm_my_sessions": """
        SELECT COALESCE(array_agg(id), '{}') FROM (
            SELECT id FROM training_sessions WHERE lead_instructor_id = me
            UNION SELECT id FROM training_sessions WHERE assistant_ids @> ARRAY[me]
            UNION SELECT session_id FROM session_enrollments WHERE learner_id = me AND status <> 'cancelled'
        ) s""",
    "arccm_roster_students": """
        SELECT COALESCE(array_agg(DISTINCT m.student_profile_id), '{}') FROM student_rosters r
        JOIN student_roster_members m ON m.roster_id = r.id
        WHERE r.instructor_id = me OR (arccm_role() = 'AP' AND r.location_id = ANY(arccm_locations()))""",
}


def _set_helpers(schema: str, language: str) -> str:
    path = f'SET search_path = "{schema}", pg_catalog'
    out = []
    for name, query in SET_HELPERS.items():
        if language == "plpgsql":
            body = f"DECLARE\n    me uuid := arccm_uid();\nBEGIN\n    RETURN ({query.strip()});\nEND"
        else:  # migration 0009's form
            body = query.replace("= me", "= arccm_uid()").replace("ARRAY[me]", "ARRAY[arccm_uid()]")
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS uuid[] LANGUAGE {language} STABLE SECURITY DEFINER {path}"
            f" AS $$ {body} $$"
        )
    return ";\n".join(out)


ROLE_0009 = """
CREATE OR REPLACE FUNCTION arccm_role() RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    RETURN (SELECT role FROM profiles WHERE id = arccm_uid());
END $$;
DROP FUNCTION arccm_acts_as(text);
"""


def upgrade() -> None:
    schema, app_role = _config("schema", "public"), _config("app_role", "arccm_app")
    op.execute(_standing_functions(schema))
    op.execute(_set_helpers(schema, "plpgsql"))
    op.execute(f'GRANT EXECUTE ON FUNCTION arccm_acts_as(text) TO "{app_role}"')
    op.execute(ensure_actor_roles(app_role))
    op.execute(copy_privileges(schema, app_role, actor_group(app_role)))
    op.execute(_claimed_user(schema, [app_role, *actor_roles(app_role)]))
    for table, commands in _generic().POLICIES.items():
        for command in commands:
            op.execute(f'ALTER POLICY actor_{command.lower()} ON "{table}" TO "{app_role}"')
    for statement in role_policies(app_role):
        op.execute(statement)
    _indexes(INDEXES)


def downgrade() -> None:
    schema, app_role = _config("schema", "public"), _config("app_role", "arccm_app")
    for table, commands in _generic().POLICIES.items():
        for command in commands:
            op.execute(f'ALTER POLICY actor_{command.lower()} ON "{table}" TO PUBLIC')
            for role in Role:
                op.execute(f'DROP POLICY {role.value.lower()}_{command.lower()} ON "{table}"')
    op.execute(_claimed_user(schema, [app_role]))
    _indexes(INDEXES_0003)
    op.execute(ROLE_0009.replace("{path}", f'SET search_path = "{schema}", pg_catalog'))
    op.execute(_set_helpers(schema, "sql"))
    op.execute(revoke_all(schema, actor_group(app_role)))  # the roles stay: other schemas may use them
