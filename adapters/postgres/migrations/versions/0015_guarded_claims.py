"""An AP's role policies read its provider and locations from the transaction, verified once by the guard.

Behind ``(SELECT arccm_acts_as('AP'))`` every AP policy asked again for the AP's provider and locations:
``arccm_provider()`` and ``arccm_locations()``, ``SECURITY DEFINER`` calls that verify the user again and query
(17 and 23 µs), one InitPlan each per table reference.  An AP's dashboard reads ten table references: with the
guard, about 0.5 ms of the 0.65 ms that row-level security added to it (scale m, after migration 0014).

Now arccm's transaction claims the provider and locations with the user (``arccm.provider``, ``arccm.locations``,
from the ``Actor``, in the first statement), the AP guard verifies that the claims are the truth — the user is
active under an active provider, holds the role, and the claimed provider and set of locations are its own — and
the AP policies read the claims through ``arccm_setting_provider()`` and ``arccm_setting_locations()``, ``SQL``
functions that PostgreSQL inlines (every name schema-qualified, as ``arccm_setting_uid()``).  A claim that is
missing, stale or forged fails the guard, and the policy admits nothing.  Other roles' guards are unchanged (their
policies read neither).  The generic policies (the runtime role, Supabase's ``authenticated``) are unchanged.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier

revision = "0015"
down_revision = "0014"

VERIFIED = {
    "(SELECT arccm_provider())": "(SELECT arccm_setting_provider())",
    "CAST((SELECT arccm_locations()) AS uuid[])": "CAST((SELECT arccm_setting_locations()) AS uuid[])",
}

SETTINGS = """
CREATE FUNCTION arccm_setting_provider() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pg_catalog.current_setting('arccm.provider', true) OPERATOR(pg_catalog.=) '' THEN NULL
                ELSE pg_catalog.current_setting('arccm.provider', true)::pg_catalog.uuid END
$$;
CREATE FUNCTION arccm_setting_locations() RETURNS uuid[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pg_catalog.current_setting('arccm.locations', true) OPERATOR(pg_catalog.=) '' THEN NULL
                ELSE pg_catalog.current_setting('arccm.locations', true)::pg_catalog.uuid[] END
$$;
REVOKE EXECUTE ON FUNCTION arccm_setting_provider() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION arccm_setting_locations() FROM PUBLIC;
COMMENT ON FUNCTION arccm_setting_provider() IS
    'The provider the transaction claims, unverified: only for AP policies behind arccm_acts_as (migration 0015).';
COMMENT ON FUNCTION arccm_setting_locations() IS
    'The locations the transaction claims, unverified: only for AP policies behind arccm_acts_as (migration 0015).';
"""


def _acts_as(schema: str, claims: bool) -> str:
    path = f'SET search_path = "{schema}", pg_catalog'
    active = "p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active')"
    # an AP's claims are its own: the provider, and the same set of locations (both ways contained)
    verified = (
        """
                   AND (wanted <> 'AP' OR (p.provider_id IS NOT DISTINCT FROM arccm_setting_provider()
                        AND ARRAY(SELECT l.location_id FROM provider_locations l WHERE l.provider_id = p.provider_id)
                            <@ arccm_setting_locations()
                        AND arccm_setting_locations()
                            <@ ARRAY(SELECT l.location_id FROM provider_locations l WHERE l.provider_id = p.provider_id)))"""
        if claims
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION arccm_acts_as(wanted text) RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER
{path} AS $$
DECLARE
    me uuid := arccm_claimed_user();
BEGIN
    RETURN EXISTS (SELECT FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id
                   WHERE p.id = me AND p.role = wanted AND {active}{verified});
END $$;
"""


def _ap_policies() -> list[tuple[str, str, str | None, str | None]]:
    """Every AP role policy as migration 0014 left it: (table, name, USING, WITH CHECK)."""
    guarded = earlier("0013_guarded_user.py")
    order = earlier("0012_policy_test_order.py")
    roles = order._role_policies()
    generic = roles._generic()
    out: list[tuple[str, str, str | None, str | None]] = []
    for table, commands in generic.POLICIES.items():
        for command, (using, check) in commands.items():
            texts = [
                guarded.guarded(
                    str(roles.specialize(order.provider_first(e, generic.LOCS, generic.PROV), "AP")), table, i == 0
                )
                if e
                else None
                for i, e in enumerate((using, check))
            ]
            out.append((table, f"ap_{command.lower()}", texts[0], texts[1]))
    counts = earlier("0014_certificate_counts.py")
    pairs = f"(provider_id = {generic.PROV} OR location_id = ANY({generic.LOCS}))"
    out.append(("certificate_counts", "ap_select", f"((SELECT arccm_acts_as('AP')) AND ({pairs}))", None))
    assert counts.revision == "0014"
    return out


def _alter(forward: bool) -> None:
    for table, name, using, check in _ap_policies():
        texts = [using, check]
        if forward:
            for verified, claimed in VERIFIED.items():
                texts = [t.replace(verified, claimed) if t else None for t in texts]
        clauses = (f" USING ({texts[0]})" if texts[0] else "") + (f" WITH CHECK ({texts[1]})" if texts[1] else "")
        op.execute(f'ALTER POLICY {name} ON "{table}"{clauses}')


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    op.execute(SETTINGS)
    for name in ("arccm_setting_provider", "arccm_setting_locations"):
        op.execute(f'GRANT EXECUTE ON FUNCTION {name}() TO "{app_role}"')
    op.execute(_acts_as(schema, claims=True))
    _alter(forward=True)


def downgrade() -> None:
    config = earlier("0011_role_policies.py")
    _alter(forward=False)
    op.execute(_acts_as(config._config("schema", "public"), claims=False))
    op.execute("DROP FUNCTION arccm_setting_provider(); DROP FUNCTION arccm_setting_locations()")
