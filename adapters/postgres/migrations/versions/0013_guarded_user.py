"""Behind its role's guard, a policy reads the acting user from the setting instead of asking again who it is.

Every role policy of migration 0011 is ``(SELECT arccm_acts_as('<role>')) AND (…)``: the guard holds only when the
user the transaction claims (``arccm.user_id`` — the actor roles are never Supabase's) is active, under no
provider or an active one, and holds that role.  Inside the ``AND``, ``(SELECT arccm_uid())`` asked the same
question again — a ``SECURITY DEFINER`` call reading ``profiles`` and ``authorized_providers`` (18 µs) — for each of
its references: two to four per policy, each its own InitPlan, in every statement and table reference (a learner's
certificates, an instructor's profile).  Wherever the guard holds, ``arccm_uid()`` equals the claimed user, and
wherever it does not, the policy admits nothing whatever the rest says; so the role policies now read
``(SELECT arccm_setting_uid())``, the claimed user straight from the setting: a ``SQL`` function, inlined, no call at
all.  The generic policies (the runtime role itself, Supabase's ``authenticated``) have no guard and keep
``arccm_uid()``.

The same policies test a session set (an instructor's or learner's sessions, a lead's taught sessions) as
``id IN (SELECT unnest(arccm_my_sessions()))`` — a hashed SubPlan, built once per statement and probed per row —
instead of ``id = ANY(<the array>)``.  The read models find those sessions by ``id = ANY(<the same array>)``
themselves (their own scope, which must hold with row-level security off too), and PostgreSQL 15 made both arrays
conditions of one primary-key scan, which it walks as every pair of their elements: an instructor with 490
sessions cost the dashboard 240,100 index descents, 9–18 ms where RLS off took 1 (``EXPLAIN ANALYZE``, scale m;
PostgreSQL 17 merges the two arrays).  As a hashed filter the policy's set costs one probe per row the query's own
index scan found.  In ``USING``, on a session's own row the policy first tests whether the actor leads or assists it (two
columns; ``arccm_taught_sessions()`` is exactly those), so the set — all of an instructor's sessions, of every year
— is built only when a row is not one the actor teaches: for an instructor it usually never is.  Every policy
admits exactly the rows it admitted before.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import re

from alembic import op

from arccm.adapters.postgres.migrations import earlier
from arccm.domain.access import Role

revision = "0013"
down_revision = "0012"

VERIFIED_USER = "(SELECT arccm_uid())"
CLAIMED_USER = "(SELECT arccm_setting_uid())"

# Every name qualified, the operator too (``nullif`` would look ``=`` up): the function is inlined into the caller's
# statement and parsed under the caller's search_path, which names no schema of ours when the caller chooses.
SETTING_UID = """
CREATE FUNCTION arccm_setting_uid() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pg_catalog.current_setting('arccm.user_id', true) OPERATOR(pg_catalog.=) '' THEN NULL
                ELSE pg_catalog.current_setting('arccm.user_id', true)::pg_catalog.uuid END
$$;
REVOKE EXECUTE ON FUNCTION arccm_setting_uid() FROM PUBLIC;
COMMENT ON FUNCTION arccm_setting_uid() IS
    'The user the transaction claims, unverified: only for policies behind arccm_acts_as (migration 0013).'
"""


# a session set tested as an array: ``id = ANY(CAST((SELECT arccm_my_sessions()) AS uuid[]))``
SESSION_SET = re.compile(r"(\w+) = ANY\(CAST\(\(SELECT (arccm_my_sessions|arccm_taught_sessions)\(\)\) AS uuid\[\]\)\)")


# On a session's own row, "the actor leads or assists it" is two column tests; only attending needs the set.
TEACHES = f"lead_instructor_id = {CLAIMED_USER} OR assistant_ids @> ARRAY[{CLAIMED_USER}]"
SESSION_ROWS = {
    "id = ANY(CAST((SELECT arccm_taught_sessions()) AS uuid[]))": f"({TEACHES})",
    "id = ANY(CAST((SELECT arccm_my_sessions()) AS uuid[]))": f"({TEACHES} OR id IN (SELECT unnest(arccm_my_sessions())))",
}


def guarded(policy: str, table: str, using: bool) -> str:
    """A role policy (guard first) with the claimed user for the verified one — the guard already verified it — and
    its session sets probed in a hash instead of searched as arrays.  In ``USING`` on a session's own row, the
    sessions an instructor teaches are its lead and assistant columns (``arccm_taught_sessions()`` is exactly those,
    in the same snapshot); a ``WITH CHECK`` keeps the set, which holds what the actor taught before the change."""
    assert policy.startswith("((SELECT arccm_acts_as('"), policy
    policy = policy.replace(VERIFIED_USER, CLAIMED_USER)
    if table == "training_sessions" and using:
        for array_test, row_test in SESSION_ROWS.items():
            policy = policy.replace(array_test, row_test)
    return SESSION_SET.sub(r"\1 IN (SELECT unnest(\2()))", policy)


def _alter(forward: bool) -> None:
    """Each role policy as migration 0012 left it (``forward``: with the claimed user)."""
    order = earlier("0012_policy_test_order.py")
    roles = order._role_policies()
    generic = roles._generic()

    def as_0012(expression: str, role: Role) -> str:
        return str(roles.specialize(order.provider_first(expression, generic.LOCS, generic.PROV), role.value))

    for table, commands in generic.POLICIES.items():
        for command, (using, check) in commands.items():
            for role in Role:
                texts = [as_0012(e, role) if e else None for e in (using, check)]
                if forward:
                    texts = [guarded(t, table, i == 0) if t else None for i, t in enumerate(texts)]
                policy_using, policy_check = texts
                clauses = (f" USING ({policy_using})" if policy_using else "") + (
                    f" WITH CHECK ({policy_check})" if policy_check else ""
                )
                op.execute(f'ALTER POLICY {role.value.lower()}_{command.lower()} ON "{table}"{clauses}')


def upgrade() -> None:
    app_role = earlier("0011_role_policies.py")._config("app_role", "arccm_app")
    op.execute(SETTING_UID)
    op.execute(f'GRANT EXECUTE ON FUNCTION arccm_setting_uid() TO "{app_role}"')
    _alter(forward=True)


def downgrade() -> None:
    _alter(forward=False)
    op.execute("DROP FUNCTION arccm_setting_uid()")
