"""The people related to an actor are a hashed set its profile policies build only for a row the other arms refuse.

Every read policy on ``profiles`` ends ``OR id = ANY((SELECT arccm_related_people()))`` (migration 0009): the people
of the actor's sessions, rosters and classes.  For an AP that set is everyone enrolled in its sessions — 39,517
people at scale m, 100 ms and more to build — and PostgreSQL reads an ``= ANY`` of an InitPlan as an index condition:
it planned an AP's people search (``strpos(name, …)`` over the profiles at its locations or of its provider) as a
bitmap AND of the read model's scope and the policy, building the whole set to look 39,517 ids up in the primary
key for a search of ten thousand rows that the policy's earlier arms already admitted: 63 ms, against 8 ms without
row-level security.

Now the arm is ``id IN (SELECT unnest((SELECT arccm_related_people())))``: a hashed SubPlan, which is no index
condition, so it is a filter tested after the arms before it, and built (once per statement) only when a row
reaches it.  The array stays an InitPlan inside the SubPlan: ``unnest(arccm_related_people())`` would let the
planner call the function to estimate how many rows ``unnest`` returns — at every planning, as migration 0009 found
when it made an AP's calendar 40× slower; an InitPlan's value is not known when planning, so it is not called then.
The rows every policy admits are the same (``id`` is never NULL; an empty set admits nobody either way).

The policies are changed from their own text in the catalog (every ``SELECT`` policy on ``profiles``: the runtime
role's, Supabase's, each actor role's), and the migration refuses a schema where the arm is not as migration 0009
wrote it.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import re

from arccm.adapters.postgres.migrations import earlier, rewrite_read_policies

revision = "0026"
down_revision = "0025"

QUALIFIED = r"(?P<schema>(?:[\w\"]+\.)?)"
AS_ARRAY = re.compile(
    rf"\(id = ANY \(\( SELECT {QUALIFIED}arccm_related_people\(\) AS arccm_related_people\)::uuid\[\]\)\)"
)
AS_SET = re.compile(
    rf"\(id IN \( SELECT unnest\(\( SELECT {QUALIFIED}arccm_related_people\(\) AS arccm_related_people\)\)"
    r" AS unnest\)\)"
)
TO_SET = r"(id IN (SELECT unnest((SELECT \g<schema>arccm_related_people()))))"
TO_ARRAY = r"(id = ANY (CAST((SELECT \g<schema>arccm_related_people()) AS uuid[])))"


def upgrade() -> None:
    rewrite_read_policies(
        earlier("0011_role_policies.py")._config("schema", "public"), "profiles", AS_ARRAY, TO_SET, "0009"
    )


def downgrade() -> None:
    rewrite_read_policies(
        earlier("0011_role_policies.py")._config("schema", "public"), "profiles", AS_SET, TO_ARRAY, "0026"
    )
