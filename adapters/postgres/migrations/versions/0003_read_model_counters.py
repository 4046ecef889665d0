"""Per-session enrollment counters kept by the enrollment trigger, and indexes for the dashboards.

Analytics and enrollment metrics then aggregate sessions, not every enrollment
row; the counters change in the same statement as the rows they count, so they
are exact (a test compares them with a count of the rows).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"

COUNTERS = """
CREATE OR REPLACE FUNCTION arccm_enrollment_counters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    seat_delta integer := 0;
    wait_delta integer := 0;
    active_delta integer := 0;
    attended_delta integer := 0;
    completed_delta integer := 0;
    failed_delta integer := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        seat_delta := seat_delta - (OLD.status = 'enrolled')::integer;
        wait_delta := wait_delta - (OLD.status = 'waitlisted')::integer;
        active_delta := active_delta - (OLD.status <> 'cancelled')::integer;
        attended_delta := attended_delta - (OLD.status = 'enrolled' AND OLD.attendance_status = 'attended')::integer;
        completed_delta := completed_delta - (OLD.status = 'enrolled' AND OLD.completion_status = 'completed')::integer;
        failed_delta := failed_delta - (OLD.status = 'enrolled' AND OLD.completion_status = 'failed')::integer;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        seat_delta := seat_delta + (NEW.status = 'enrolled')::integer;
        wait_delta := wait_delta + (NEW.status = 'waitlisted')::integer;
        active_delta := active_delta + (NEW.status <> 'cancelled')::integer;
        attended_delta := attended_delta + (NEW.status = 'enrolled' AND NEW.attendance_status = 'attended')::integer;
        completed_delta := completed_delta + (NEW.status = 'enrolled' AND NEW.completion_status = 'completed')::integer;
        failed_delta := failed_delta + (NEW.status = 'enrolled' AND NEW.completion_status = 'failed')::integer;
    END IF;
    IF seat_delta <> 0 OR wait_delta <> 0 OR active_delta <> 0 OR attended_delta <> 0
       OR completed_delta <> 0 OR failed_delta <> 0 THEN
        UPDATE training_sessions
           SET seats_taken = seats_taken + seat_delta, waitlist_length = waitlist_length + wait_delta,
               active_enrollments = active_enrollments + active_delta,
               attended_count = attended_count + attended_delta,
               completed_count = completed_count + completed_delta, failed_count = failed_count + failed_delta
         WHERE id = COALESCE(NEW.session_id, OLD.session_id);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER enrollment_counters ON session_enrollments;
CREATE TRIGGER enrollment_counters
    AFTER INSERT OR UPDATE OF status, attendance_status, completion_status OR DELETE ON session_enrollments
    FOR EACH ROW EXECUTE FUNCTION arccm_enrollment_counters();
"""


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE training_sessions
            ADD COLUMN active_enrollments integer NOT NULL DEFAULT 0 CHECK (active_enrollments >= 0),
            ADD COLUMN attended_count integer NOT NULL DEFAULT 0 CHECK (attended_count >= 0),
            ADD COLUMN completed_count integer NOT NULL DEFAULT 0 CHECK (completed_count >= 0),
            ADD COLUMN failed_count integer NOT NULL DEFAULT 0 CHECK (failed_count >= 0);
        UPDATE training_sessions s SET active_enrollments = c.active, attended_count = c.attended,
               completed_count = c.completed, failed_count = c.failed
          FROM (SELECT session_id,
                       count(*) FILTER (WHERE status <> 'cancelled') AS active,
                       count(*) FILTER (WHERE status = 'enrolled' AND attendance_status = 'attended') AS attended,
                       count(*) FILTER (WHERE status = 'enrolled' AND completion_status = 'completed') AS completed,
                       count(*) FILTER (WHERE status = 'enrolled' AND completion_status = 'failed') AS failed
                  FROM session_enrollments GROUP BY session_id) c
         WHERE c.session_id = s.id;
        CREATE INDEX profiles_assessed_idx ON profiles (provider_id, location_id) INCLUDE (compliance_score)
            WHERE compliance_status <> 'unassessed';
        CREATE INDEX certificates_dashboard_idx ON certificates (location_id, provider_id)
            INCLUDE (issue_date, expiry_date, revoked_at, superseded_by_id, issued_by);
        CREATE INDEX certificates_provider_cover_idx ON certificates (provider_id, location_id)
            INCLUDE (issue_date, expiry_date, revoked_at, superseded_by_id);
        CREATE INDEX certificates_issued_cover_idx ON certificates (issue_date)
            INCLUDE (location_id, provider_id, course_id, expiry_date, revoked_at, superseded_by_id, issued_by);
        """
    )
    op.execute(COUNTERS)


# revision 0001's counters, restored on downgrade (a migration carries its own past)
COUNTERS_0001 = """
CREATE OR REPLACE FUNCTION arccm_enrollment_counters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    seat_delta integer := 0;
    wait_delta integer := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        seat_delta := seat_delta - (OLD.status = 'enrolled')::integer;
        wait_delta := wait_delta - (OLD.status = 'waitlisted')::integer;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        seat_delta := seat_delta + (NEW.status = 'enrolled')::integer;
        wait_delta := wait_delta + (NEW.status = 'waitlisted')::integer;
    END IF;
    IF seat_delta <> 0 OR wait_delta <> 0 THEN
        UPDATE training_sessions
           SET seats_taken = seats_taken + seat_delta, waitlist_length = waitlist_length + wait_delta
         WHERE id = COALESCE(NEW.session_id, OLD.session_id);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER enrollment_counters ON session_enrollments;
CREATE TRIGGER enrollment_counters AFTER INSERT OR UPDATE OF status OR DELETE ON session_enrollments
    FOR EACH ROW EXECUTE FUNCTION arccm_enrollment_counters();
"""


def downgrade() -> None:
    op.execute(
        "DROP INDEX certificates_issued_cover_idx; DROP INDEX certificates_provider_cover_idx;"
        " DROP INDEX certificates_dashboard_idx; DROP INDEX profiles_assessed_idx"
    )
    op.execute(COUNTERS_0001)
    op.execute(
        "ALTER TABLE training_sessions DROP COLUMN active_enrollments, DROP COLUMN attended_count,"
        " DROP COLUMN completed_count, DROP COLUMN failed_count"
    )
