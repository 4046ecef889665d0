"""Wake listeners when changes commit: NOTIFY from the writing transaction, one per statement."""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION arccm_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('arccm_changes', TG_TABLE_SCHEMA);  -- delivered only if and when the writer commits
            RETURN NULL;
        END $$;
        CREATE TRIGGER change_log_notify AFTER INSERT ON change_log
            FOR EACH STATEMENT EXECUTE FUNCTION arccm_notify_changes();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER change_log_notify ON change_log; DROP FUNCTION arccm_notify_changes()")
