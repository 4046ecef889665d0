"""The standing checked at a transaction's first statement holds for the rest of it: a proof the guards check.

Every role policy is guarded by ``(SELECT arccm_acts_as(role))``, an InitPlan per table reference of a statement.
The guard asked the database again each time whether the claimed user is active, holds the role and (an AP) has
the claimed provider and locations: one or two queries, 19 µs a call for an SA's and 30 µs for an AP's, 64 µs for
the first of a transaction (scale m, docs/performance.md, "Issue 11, ninth session").  Yet arccm's first statement
of every actor's transaction has just asked the same (``arccm_standing()``, migration 0021), and the library
refuses the unit of work unless the answer is the actor's.

Now ``arccm_standing()``, when the transaction's claims (``arccm.user_id``, ``arccm.role``, ``arccm.provider``,
``arccm.locations``) are the truth — the user active under an active provider or none, with that role, provider
and set of locations — leaves a proof in the transaction setting ``arccm.proof``: SHA-256 of a key, the backend,
the transaction's start, the database role the transaction runs as and the four claims.  The key is 124 random
bits in two sequences only the owner may read (``arccm_guard_key_a``, ``_b``, drawn from ``gen_random_uuid()`` at
this migration), so the runtime role, which can set any setting, cannot make a proof: only the definer functions
can.  ``arccm_acts_as(role)``, ``arccm_uid()``, ``arccm_role()``, ``arccm_provider()`` and ``arccm_locations()``
first compute the proof of the settings as they are now; equal to ``arccm.proof`` (and, for the guard, the claimed
role the wanted one), the claims were verified in this transaction and the answer — the guard's yes, the helpers'
claim — needs no query (6 µs a call; the helpers serve the generic policies and the cross-table helpers such as
``arccm_related_people()``).  Otherwise — no proof, a claim or the role changed since, another backend's or another
transaction's proof — they ask the database as before.

What this changes: a user deactivated, a provider suspended or a role changed while a transaction runs is seen
from that transaction's end (the next one is refused at its first statement), no longer from its next statement
— the rule the library's own check already followed (docs/access.md, "When a change takes effect").  A caller
that never asks ``arccm_standing()`` (a host service setting the claims by hand) is checked at every statement, as
before.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier

revision = "0023"
down_revision = "0022"

KEYS = ("arccm_guard_key_a", "arccm_guard_key_b")

# the proof of the transaction's settings as they are now: the key at both ends, every claim quoted (%L: no two
# different sets of settings give the same text), the epoch of the transaction's start (whatever the time zone).
# The key's halves are joined with || so that a half that reads NULL (a sequence reset) makes the proof NULL —
# no proof — rather than a hash anybody could compute
KEY = "pg_catalog.pg_sequence_last_value('{}')::pg_catalog.text"
PROOF = f"""pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to({KEY.format(KEYS[0])} OPERATOR(pg_catalog.||)
        pg_catalog.format(' %s %s %L %L %L %L %L ', pg_catalog.pg_backend_pid(),
        pg_catalog.date_part('epoch', pg_catalog.transaction_timestamp()), pg_catalog.current_setting('role'),
        pg_catalog.current_setting('arccm.user_id', true), pg_catalog.current_setting('arccm.role', true),
        pg_catalog.current_setting('arccm.provider', true), pg_catalog.current_setting('arccm.locations', true))
        OPERATOR(pg_catalog.||) {KEY.format(KEYS[1])}, 'UTF8')), 'hex')"""
PROVEN = f"pg_catalog.current_setting('arccm.proof', true) OPERATOR(pg_catalog.=) {PROOF}"
ACTIVE = "p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active')"


def _path(schema: str) -> str:
    return f'SET search_path = "{schema}", pg_catalog'


def _keys() -> str:
    # 62 random bits from each of two version-4 UUIDs (the last 16 hex digits: all random but the variant's two)
    return ";\n".join(
        f"CREATE SEQUENCE {key} AS bigint MINVALUE -9223372036854775808 NO CYCLE;\n"
        f"REVOKE ALL ON SEQUENCE {key} FROM PUBLIC;\n"
        f"SELECT setval('{key}', ('x' || right(replace(gen_random_uuid()::text, '-', ''), 16))::bit(64)::bigint);\n"
        f"COMMENT ON SEQUENCE {key} IS 'Half the key of arccm.proof (migration 0023): only the owner reads it'"
        for key in KEYS
    )


def _standing(schema: str) -> str:
    # migration 0021's answer (the same jsonb, NULL for no active user), and the proof when the claims are it
    return f"""
CREATE OR REPLACE FUNCTION arccm_standing() RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER
{_path(schema)} AS $$
DECLARE
    uid uuid;
    role text;
    provider uuid;
    locations uuid[];
BEGIN
    SELECT p.id, p.role, p.provider_id, COALESCE((SELECT array_agg(l.location_id ORDER BY l.location_id)
                                                  FROM provider_locations l WHERE l.provider_id = p.provider_id), '{{}}')
    INTO uid, role, provider, locations
    FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id
    WHERE p.id = arccm_claimed_user() AND {ACTIVE};
    IF NOT FOUND THEN
        PERFORM pg_catalog.set_config('arccm.proof', '', true);
        RETURN NULL;
    END IF;
    IF uid = arccm_setting_uid() AND role = pg_catalog.current_setting('arccm.role', true)
       AND provider IS NOT DISTINCT FROM arccm_setting_provider()
       AND locations <@ arccm_setting_locations() AND locations @> arccm_setting_locations() THEN
        PERFORM pg_catalog.set_config('arccm.proof', COALESCE({PROOF}, ''), true);
    ELSE
        PERFORM pg_catalog.set_config('arccm.proof', '', true);
    END IF;
    RETURN jsonb_build_object('uid', uid, 'role', role, 'provider', provider, 'locations', locations);
END $$;
COMMENT ON FUNCTION arccm_standing() IS
    'Who the database says the actor is, as jsonb (NULL for no active user), and arccm.proof when the claims are that (migrations 0021, 0023)'"""


# the helpers that say who the actor is (migrations 0009, 0011): name -> (type, answer under a proof, the query)
HELPERS = {
    "arccm_uid": ("uuid", "arccm_setting_uid()", f"""(SELECT p.id FROM profiles p
            LEFT JOIN authorized_providers ap ON ap.id = p.provider_id WHERE p.id = arccm_claimed_user() AND {ACTIVE})"""),
    "arccm_role": ("text", "pg_catalog.current_setting('arccm.role', true)", f"""(SELECT p.role FROM profiles p
            LEFT JOIN authorized_providers ap ON ap.id = p.provider_id WHERE p.id = arccm_claimed_user() AND {ACTIVE})"""),
    "arccm_provider": ("uuid", "arccm_setting_provider()", "(SELECT provider_id FROM profiles WHERE id = arccm_uid())"),
    "arccm_locations": ("uuid[]", "arccm_setting_locations()", """COALESCE((SELECT array_agg(l.location_id ORDER BY
            l.location_id) FROM profiles p JOIN provider_locations l ON l.provider_id = p.provider_id
            WHERE p.id = arccm_uid()), '{}')"""),
}  # fmt: skip


def _helpers(schema: str, proven: bool) -> str:
    """``arccm_uid()`` … ``arccm_locations()``, each answering from the claims under a proof (or as before)."""
    out = []
    for name, (returns, claimed, query) in HELPERS.items():
        fast = f"    IF {PROVEN} THEN\n        RETURN {claimed};  -- verified in this transaction\n    END IF;\n"
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS {returns} LANGUAGE plpgsql STABLE SECURITY DEFINER"
            f" {_path(schema)} AS $$\nBEGIN\n{fast if proven else ''}    RETURN {query};\nEND $$"
        )
    return ";\n".join(out)


def _guard(schema: str) -> str:
    # migration 0015's guard, behind the proof
    guard = str(earlier("0015_guarded_claims.py")._acts_as(schema, claims=True))
    head = "DECLARE\n    provider uuid;\n    locations uuid[];\nBEGIN\n"
    assert head in guard, guard
    fast = (
        f"{head}    IF pg_catalog.current_setting('arccm.role', true) OPERATOR(pg_catalog.=) wanted AND {PROVEN} THEN\n"
        "        RETURN true;  -- the claims were verified in this transaction (arccm_standing)\n    END IF;\n"
    )
    return guard.replace(head, fast)


def upgrade() -> None:
    schema = earlier("0011_role_policies.py")._config("schema", "public")
    op.execute(_keys())
    # CREATE OR REPLACE keeps every grant the functions have (the runtime role's, the actor roles' group's)
    op.execute(_standing(schema))
    op.execute(_guard(schema))
    op.execute(_helpers(schema, proven=True))


def downgrade() -> None:
    schema = earlier("0011_role_policies.py")._config("schema", "public")
    op.execute(_helpers(schema, proven=False))
    op.execute(str(earlier("0015_guarded_claims.py")._acts_as(schema, claims=True)))
    standing = str(earlier("0021_standing_in_one_call.py").standing(schema))
    op.execute(standing.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").split("REVOKE EXECUTE")[0])
    op.execute(f"DROP SEQUENCE {KEYS[0]}, {KEYS[1]}")
