"""On a Supabase database, publish the change log to Supabase Realtime (its ``supabase_realtime`` publication),
so that inserts reach the Supabase adapter's subscribers as wake-ups. Elsewhere nothing changes.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime')
               AND NOT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = 'supabase_realtime'
                               AND schemaname = current_schema() AND tablename = 'change_log') THEN
                EXECUTE format('ALTER PUBLICATION supabase_realtime ADD TABLE %I.change_log', current_schema());
            END IF;
        END $$;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = 'supabase_realtime'
                       AND schemaname = current_schema() AND tablename = 'change_log') THEN
                EXECUTE format('ALTER PUBLICATION supabase_realtime DROP TABLE %I.change_log', current_schema());
            END IF;
        END $$;
        """
    )
