"""Change-log retention: old rows may be pruned by the owner; the highest pruned cursor is kept, so a
reader whose cursor is older learns it must resync instead of silently missing changes.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"


def _app_role() -> str:
    config = op.get_context().config
    return str(config.attributes.get("app_role", "arccm_app")) if config is not None else "arccm_app"


def upgrade() -> None:
    op.execute(
        f"""
        DROP TRIGGER change_log_never_deleted ON change_log;
        CREATE TABLE change_log_watermark (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            txid xid8 NOT NULL,
            id bigint NOT NULL,
            pruned_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX change_log_recorded_idx ON change_log (recorded_at);
        GRANT SELECT ON change_log_watermark TO "{_app_role()}";  -- the configured runtime role, not always arccm_app
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX change_log_recorded_idx;
        DROP TABLE change_log_watermark;
        CREATE TRIGGER change_log_never_deleted BEFORE DELETE ON change_log
            FOR EACH ROW EXECUTE FUNCTION arccm_refuse_delete();
        """
    )
