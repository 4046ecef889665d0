"""An AP's arms of the policies test the provider before the locations.

PostgreSQL evaluates an ``OR`` in the order written and stops at the first arm that holds, per row.  The AP arms
tested ``location_id = ANY(<the AP's locations>)`` first: an array that comes from an InitPlan is taken apart again
for every row (only a constant array is hashed), and on an AP's dashboard that test ran for each of 20,000
certificates and 2,000 sessions — 2 ms of the 3.3 ms that row-level security added to it (``EXPLAIN ANALYZE``,
scale m).  ``provider_id = <the AP's provider>`` is one comparison and holds for nearly every row an AP reads (its
provider's rows at its provider's locations), so it goes first; the set of rows each policy admits is the same.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import re
from types import ModuleType

from alembic import op

from arccm.adapters.postgres.migrations import earlier
from arccm.domain.access import Role

revision = "0012"
down_revision = "0011"


def _role_policies() -> ModuleType:
    """Migration 0011: its ``specialize`` writes each role's policy, and its ``_generic()`` loads migration 0009."""
    return earlier("0011_role_policies.py")


def provider_first(expression: str, locs: str, prov: str) -> str:
    """``expression`` with every ``X = ANY(<locations>) OR Y = <provider>`` turned into ``Y = … OR X = …``."""
    pattern = re.compile(rf"([\w.]+) = ANY\({re.escape(locs)}\) OR ([\w.]+) = {re.escape(prov)}")
    return pattern.sub(lambda m: f"{m[2]} = {prov} OR {m[1]} = ANY({locs})", expression)


def _alter(forward: bool) -> None:
    """Upgrade (``forward``) or downgrade every policy whose text the reordering changes."""
    roles = _role_policies()
    generic = roles._generic()

    def reordered(expression: str | None) -> str | None:
        return provider_first(expression, generic.LOCS, generic.PROV) if expression else None

    for table, commands in generic.POLICIES.items():
        for command, (using, check) in commands.items():
            new = (reordered(using), reordered(check))
            if new == (using, check):
                continue
            use, chk = new if forward else (using, check)
            policies = [(f"actor_{command.lower()}", use, chk)] + [
                (
                    f"{role.value.lower()}_{command.lower()}",
                    roles.specialize(use, role.value) if use else None,
                    roles.specialize(chk, role.value) if chk else None,
                )
                for role in Role
            ]
            for name, policy_using, policy_check in policies:
                clauses = (f" USING ({policy_using})" if policy_using else "") + (
                    f" WITH CHECK ({policy_check})" if policy_check else ""
                )
                op.execute(f'ALTER POLICY {name} ON "{table}"{clauses}')


def upgrade() -> None:
    _alter(forward=True)


def downgrade() -> None:
    _alter(forward=False)  # back to the order of migrations 0009 and 0011
