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
policies read neither).  An administrator's policy on team and roster members no longer probes the team's (the
roster's) own policy for each member: it admits every row, so the probe is always true.  The generic policies (the runtime role, Supabase's ``authenticated``) are unchanged.

The guard itself reads the claimed user with ``arccm_setting_uid()`` rather than calling ``arccm_claimed_user()``
(a second definer call, with its own ``search_path`` switch, at every guard): the guard runs only in the actor
roles' policies, and only the runtime role and the actor roles may execute it — callers whose claim is
``arccm.user_id`` by definition (Supabase's roles have no role policies and no ``EXECUTE`` on it).

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
    if not claims:  # migration 0011's
        return str(earlier("0011_role_policies.py").acts_as(schema, replace=True))
    # an AP's claims must be its own: its provider, and the same set of locations (contained both ways)
    return f"""
CREATE OR REPLACE FUNCTION arccm_acts_as(wanted text) RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER
{path} AS $$
DECLARE
    provider uuid;
    locations uuid[];
BEGIN
    SELECT p.provider_id INTO provider FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id
    WHERE p.id = arccm_setting_uid() AND p.role = wanted AND {active};
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF wanted <> 'AP' THEN
        RETURN true;
    END IF;
    IF provider IS DISTINCT FROM arccm_setting_provider() THEN
        RETURN false;
    END IF;
    locations := ARRAY(SELECT l.location_id FROM provider_locations l WHERE l.provider_id = provider);
    RETURN COALESCE(locations <@ arccm_setting_locations() AND locations @> arccm_setting_locations(), false);
END $$;
"""


def _role_policies(role: str) -> list[tuple[str, str, str | None, str | None]]:
    """Every policy of ``role`` as migration 0014 left it: (table, name, USING, WITH CHECK)."""
    guarded = earlier("0013_guarded_user.py")
    order = earlier("0012_policy_test_order.py")
    roles = order._role_policies()
    generic = roles._generic()
    out: list[tuple[str, str, str | None, str | None]] = []
    for table, commands in generic.POLICIES.items():
        for command, (using, check) in commands.items():
            texts = [
                guarded.guarded(
                    str(roles.specialize(order.provider_first(e, generic.LOCS, generic.PROV), role)), table, i == 0
                )
                if e
                else None
                for i, e in enumerate((using, check))
            ]
            out.append((table, f"{role.lower()}_{command.lower()}", texts[0], texts[1]))
    if role == "AP":
        pairs = f"(provider_id = {generic.PROV} OR location_id = ANY({generic.LOCS}))"
        out.append(("certificate_counts", "ap_select", f"((SELECT arccm_acts_as('AP')) AND ({pairs}))", None))
    return out


# An administrator reads every team and roster, so "the team's (roster's) own policy decides" — an EXISTS over it,
# probed for each member row — is true for every member (a foreign key holds the team or roster there).
OWN_POLICY_DECIDES = {("team_members", "SELECT"), ("student_roster_members", "SELECT")}


def _changed(forward: bool) -> list[tuple[str, str, str | None, str | None]]:
    """The policies this migration changes, as it leaves them (``forward``) or as it found them."""
    out = []
    for role in ("AP", "SA", "AD"):
        for table, name, using, check in _role_policies(role):
            if role == "AP":
                texts = [using, check]
                if forward:
                    for verified, claimed in VERIFIED.items():
                        texts = [t.replace(verified, claimed) if t else None for t in texts]
                out.append((table, name, texts[0], texts[1]))
            elif (table, name.split("_")[-1].upper()) in OWN_POLICY_DECIDES:
                out.append((table, name, f"((SELECT arccm_acts_as('{role}')) AND (true))" if forward else using, check))
    return out


def _alter(forward: bool) -> None:
    for table, name, using, check in _changed(forward):
        clauses = (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else "")
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
