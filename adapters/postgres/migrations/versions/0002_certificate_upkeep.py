"""Certificate batches with progress, recorded expiry, notifications with their e-mail state."""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE rosters
            ADD COLUMN provider_id uuid REFERENCES authorized_providers(id),
            ADD COLUMN total integer NOT NULL DEFAULT 0 CHECK (total >= 0),
            ADD COLUMN done integer NOT NULL DEFAULT 0 CHECK (done >= 0),
            ADD COLUMN not_eligible integer NOT NULL DEFAULT 0 CHECK (not_eligible >= 0),
            ADD CONSTRAINT batch_progress CHECK (done <= total AND certificate_count <= total);
        CREATE UNIQUE INDEX one_running_batch_per_source ON rosters (source_kind, source_id) WHERE status = 'running';
        CREATE INDEX rosters_location_idx ON rosters (location_id);

        ALTER TABLE certificates ADD COLUMN expired_on date;
        CREATE INDEX certificates_unrecorded_expiry_idx ON certificates (expiry_date)
            WHERE expired_on IS NULL AND revoked_at IS NULL AND superseded_by_id IS NULL;

        ALTER TABLE notifications
            ADD COLUMN email text NOT NULL DEFAULT '',
            ADD COLUMN email_status text NOT NULL DEFAULT 'none'
                CHECK (email_status IN ('none','pending','sending','sent','failed')),
            ADD COLUMN email_attempts integer NOT NULL DEFAULT 0 CHECK (email_attempts >= 0),
            ADD COLUMN email_error text,
            ADD COLUMN emailed_at timestamptz,
            ADD COLUMN location_id uuid REFERENCES locations(id),
            ADD CONSTRAINT sent_has_time CHECK ((email_status = 'sent') = (emailed_at IS NOT NULL));
        CREATE INDEX notifications_email_queue_idx ON notifications (id) WHERE email_status IN ('pending','failed');
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX notifications_email_queue_idx;
        ALTER TABLE notifications DROP CONSTRAINT sent_has_time, DROP COLUMN location_id, DROP COLUMN emailed_at,
            DROP COLUMN email_error, DROP COLUMN email_attempts, DROP COLUMN email_status, DROP COLUMN email;
        DROP INDEX certificates_unrecorded_expiry_idx;
        ALTER TABLE certificates DROP COLUMN expired_on;
        DROP INDEX rosters_location_idx;
        DROP INDEX one_running_batch_per_source;
        ALTER TABLE rosters DROP CONSTRAINT batch_progress, DROP COLUMN not_eligible, DROP COLUMN done,
            DROP COLUMN total, DROP COLUMN provider_id;
        """
    )
