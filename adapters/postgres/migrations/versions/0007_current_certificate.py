"""One current certificate per holder and course, held by the database; certificates know their lead instructor.

* ``one_current_certificate_per_holder``: at most one certificate per (course, holder) that is neither revoked
  nor superseded — two concurrent issues from two sessions can no longer both stay current.
* ``superseded_by_id`` is checked at commit (``DEFERRABLE INITIALLY DEFERRED``): a recertification marks the
  previous certificate superseded *before* inserting its successor, so the uniqueness above holds after every
  statement while the link points at a row written later in the same transaction.
* ``lead_instructor_id``: analytics count a certificate under the session's lead, like the session itself.
  Back-filled from the session or roster each certificate came from.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute(
        """
        -- an older database may hold several current certificates for one holder and course (written before
        -- this rule): the newest stays current and supersedes the others, in issue order
        WITH ranked AS (
            SELECT id, lead(id) OVER w AS successor
            FROM certificates WHERE revoked_at IS NULL AND superseded_by_id IS NULL
            WINDOW w AS (PARTITION BY course_id, COALESCE(recipient_user_id, recipient_student_id)
                         ORDER BY issue_date, created_at, id)
        )
        UPDATE certificates c SET superseded_by_id = r.successor, version = c.version + 1, updated_at = now()
        FROM ranked r WHERE c.id = r.id AND r.successor IS NOT NULL;

        CREATE UNIQUE INDEX one_current_certificate_per_holder
            ON certificates (course_id, COALESCE(recipient_user_id, recipient_student_id))
            WHERE revoked_at IS NULL AND superseded_by_id IS NULL;

        ALTER TABLE certificates ALTER CONSTRAINT certificates_superseded_by_id_fkey DEFERRABLE INITIALLY DEFERRED;

        ALTER TABLE certificates ADD COLUMN lead_instructor_id uuid REFERENCES profiles(id);
        UPDATE certificates c SET lead_instructor_id = s.lead_instructor_id
            FROM training_sessions s WHERE c.session_id = s.id;
        UPDATE certificates c SET lead_instructor_id = r.instructor_id
            FROM student_rosters r WHERE c.roster_id = r.id AND c.lead_instructor_id IS NULL;
        CREATE INDEX certificates_lead_instructor_idx ON certificates (lead_instructor_id, issue_date);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX certificates_lead_instructor_idx;
        ALTER TABLE certificates DROP COLUMN lead_instructor_id;
        ALTER TABLE certificates ALTER CONSTRAINT certificates_superseded_by_id_fkey NOT DEFERRABLE;
        DROP INDEX one_current_certificate_per_holder;
        """
    )
