"""Who the database says the actor is, in one call: ``arccm_standing()``.

The first statement of every actor's transaction asked ``arccm_uid()``, ``arccm_role()``, ``arccm_provider()`` and
``arccm_locations()`` — four ``SECURITY DEFINER`` calls, two of which call ``arccm_uid()`` again, each of those
``arccm_claimed_user()``: ten calls and six queries of the same profile.  They cost every unit of work 150 µs of a
first statement that takes 90 µs without them (scale m, the runtime role; docs/performance.md, "Sixth session").
``arccm_standing()`` answers the same four in one query, as one ``jsonb`` value (a function in the select list is
evaluated after the settings before it; a composite spread with ``.*`` would call it once per field): 80 µs.

The four functions stay: the policies call them.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier

revision = "0021"
down_revision = "0020"


def standing(schema: str) -> str:
    # the same answers as the four: a user active under an active provider (or none), else nothing at all; the
    # locations sorted, '{}' for a user without a provider
    return f"""
CREATE FUNCTION arccm_standing() RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = "{schema}", pg_catalog AS $$
BEGIN
    RETURN (SELECT jsonb_build_object('uid', p.id, 'role', p.role, 'provider', p.provider_id, 'locations',
                   COALESCE((SELECT array_agg(l.location_id ORDER BY l.location_id) FROM provider_locations l
                             WHERE l.provider_id = p.provider_id), '{{}}'))
            FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id
            WHERE p.id = arccm_claimed_user() AND p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active'));
END $$;
COMMENT ON FUNCTION arccm_standing() IS
    'arccm_uid(), arccm_role(), arccm_provider() and arccm_locations() in one call, as jsonb; NULL for no active user (migration 0021)';
REVOKE EXECUTE ON FUNCTION arccm_standing() FROM PUBLIC"""


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    op.execute(standing(schema))
    # the actor roles get it through their group at every upgrade (roles.copy_privileges)
    op.execute(f'GRANT EXECUTE ON FUNCTION arccm_standing() TO "{app_role}"')


def downgrade() -> None:
    op.execute("DROP FUNCTION arccm_standing()")
