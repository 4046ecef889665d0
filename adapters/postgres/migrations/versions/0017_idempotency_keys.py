"""Idempotency keys for the HTTP API: a replayed non-idempotent request returns the response stored for its key.

One row per (user, key) — a key is the client's and means something only to the user who sent it, so two users'
equal keys never meet.  ``fingerprint`` is a digest of the method, the route and the body: the same key with
another request is refused, never answered with the first one's response.  ``state`` is ``running`` while the
first request is in flight (a second one with that key gets 409) and ``done`` once its response is stored;
``locked_until`` frees a key whose process died mid-request, and ``expires_at`` ends the key's life (the draft's
"idempotency-key expiry"; 24 hours by default, adapters/http/idempotency.py).

Forced row-level security like every table (docs/access.md): a user reads and writes their own keys only — the
generic policy (the runtime role, and Supabase's ``authenticated`` once ``db upgrade`` adds it) and one per actor
role behind its guard.  The table holds no business data, so it has no audit trigger.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier
from arccm.adapters.postgres.roles import actor_role
from arccm.domain.access import Role

revision = "0017"
down_revision = "0016"

TABLE = """
CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL,
    key text NOT NULL CONSTRAINT idempotency_keys_key_length CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint text NOT NULL,
    state text NOT NULL CONSTRAINT idempotency_keys_state CHECK (state IN ('running', 'done')),
    status smallint,
    media_type text,
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, key),
    CONSTRAINT idempotency_keys_done CHECK ((state = 'done') = (status IS NOT NULL AND body IS NOT NULL))
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);
COMMENT ON TABLE idempotency_keys IS
    'Responses stored for the HTTP API''s Idempotency-Key header, per user; expire (migration 0017)';
"""


def _policies(owner: str, app_role: str) -> list[str]:
    own = "user_id = (SELECT arccm_uid())"
    out = [
        "ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
        f'CREATE POLICY owner_all ON idempotency_keys TO "{owner}" USING (true) WITH CHECK (true)',
        f'CREATE POLICY actor_all ON idempotency_keys TO "{app_role}" USING ({own}) WITH CHECK ({own})',
    ]
    for role in Role:
        mine = f"((SELECT arccm_acts_as('{role.value}')) AND (user_id = (SELECT arccm_setting_uid())))"
        out.append(
            f'CREATE POLICY {role.value.lower()}_all ON idempotency_keys TO "{actor_role(app_role, role.value)}"'
            f" USING ({mine}) WITH CHECK ({mine})"
        )
    return out


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    app_role = config._config("app_role", "arccm_app")
    owner = op.get_bind().exec_driver_sql("SELECT current_user").scalar_one()
    op.execute(TABLE)
    for statement in _policies(owner, app_role):
        op.execute(statement)
    # the actor roles' group gets the same, from access_grants on every upgrade
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO "{app_role}"')


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_keys")
