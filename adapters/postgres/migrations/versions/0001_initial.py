"""Initial schema: every table of DESIGN §4 with real types, keys and the invariants as constraints.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None

ROLES = "('SA','AD','AP','IC','IP','IT','IN')"

TABLES = """
CREATE TABLE locations (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (btrim(name) <> ''),
    timezone text NOT NULL DEFAULT 'UTC',
    address text, city text, state text, zip text, country text,
    email text, phone text, website text, logo_url text,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','inactive')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE authorized_providers (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (btrim(name) <> ''),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','suspended','inactive')),
    contact_email text, contact_phone text, website text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- each location is served by exactly one provider, so a session's provider is never ambiguous
CREATE TABLE provider_locations (
    provider_id uuid NOT NULL REFERENCES authorized_providers(id),
    location_id uuid NOT NULL UNIQUE REFERENCES locations(id),
    PRIMARY KEY (provider_id, location_id)
);

CREATE TABLE profiles (
    id uuid PRIMARY KEY,
    display_name text NOT NULL CHECK (btrim(display_name) <> ''),
    role text NOT NULL CHECK (role IN {roles}),
    email text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    provider_id uuid REFERENCES authorized_providers(id),
    location_id uuid REFERENCES locations(id),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','inactive')),
    compliance_score integer NOT NULL DEFAULT 0 CHECK (compliance_score BETWEEN 0 AND 100),
    compliance_tier text NOT NULL DEFAULT 'none' CHECK (compliance_tier IN ('none','basic','robust')),
    compliance_status text NOT NULL DEFAULT 'unassessed'
        CHECK (compliance_status IN ('compliant','at_risk','non_compliant','unassessed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX profiles_provider_idx ON profiles (provider_id);
CREATE INDEX profiles_location_idx ON profiles (location_id);

CREATE TABLE instructor_profiles (
    id uuid PRIMARY KEY REFERENCES profiles(id),
    specialties text[] NOT NULL DEFAULT '{{}}',
    max_students_per_session integer NOT NULL CHECK (max_students_per_session >= 1),
    credential_expires_on date,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE student_enrollment_profiles (
    id uuid PRIMARY KEY,
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    location_id uuid REFERENCES locations(id),
    external_student_id text,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (btrim(first_name || last_name) <> '')
);
CREATE INDEX student_profiles_location_idx ON student_enrollment_profiles (location_id);

CREATE TABLE course_templates (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (btrim(name) <> ''),
    code text NOT NULL UNIQUE,
    description text,
    validity_months integer NOT NULL CHECK (validity_months >= 1),
    required_specialties text[] NOT NULL DEFAULT '{{}}',
    practical_weight numeric(4,3) NOT NULL CHECK (practical_weight BETWEEN 0 AND 1),
    written_weight numeric(4,3) NOT NULL CHECK (written_weight BETWEEN 0 AND 1),
    pass_threshold numeric(5,2) NOT NULL CHECK (pass_threshold BETWEEN 0 AND 100),
    requires_both_scores boolean NOT NULL DEFAULT true,
    max_students integer CHECK (max_students >= 1),
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (practical_weight + written_weight = 1)
);

CREATE TABLE training_sessions (
    id uuid PRIMARY KEY,
    course_id uuid NOT NULL REFERENCES course_templates(id),
    title text NOT NULL,
    description text,
    location_id uuid NOT NULL REFERENCES locations(id),
    provider_id uuid REFERENCES authorized_providers(id),
    lead_instructor_id uuid NOT NULL REFERENCES instructor_profiles(id),
    assistant_ids uuid[] NOT NULL DEFAULT '{{}}',
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    max_capacity integer NOT NULL CHECK (max_capacity >= 1),
    seats_taken integer NOT NULL DEFAULT 0,
    waitlist_length integer NOT NULL DEFAULT 0 CHECK (waitlist_length >= 0),
    allow_waitlist boolean NOT NULL DEFAULT true,
    status text NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled','in_progress','completed','cancelled')),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by uuid REFERENCES profiles(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT session_window CHECK (ends_at > starts_at),
    CONSTRAINT seats_within_capacity CHECK (seats_taken BETWEEN 0 AND max_capacity),
    CONSTRAINT lead_is_not_assistant CHECK (NOT (lead_instructor_id = ANY (assistant_ids)))
);
CREATE INDEX sessions_location_start_idx ON training_sessions (location_id, starts_at);
CREATE INDEX sessions_start_idx ON training_sessions (starts_at);
CREATE INDEX sessions_instructor_status_idx ON training_sessions (lead_instructor_id, status, starts_at);
CREATE INDEX sessions_provider_start_idx ON training_sessions (provider_id, starts_at);
CREATE INDEX sessions_assistants_idx ON training_sessions USING gin (assistant_ids);
CREATE INDEX sessions_course_idx ON training_sessions (course_id);
CREATE INDEX sessions_created_by_idx ON training_sessions (created_by);

CREATE TABLE session_enrollments (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES training_sessions(id),
    learner_id uuid NOT NULL REFERENCES profiles(id),
    status text NOT NULL CHECK (status IN ('enrolled','waitlisted','cancelled')),
    waitlist_position integer CHECK (waitlist_position >= 1),
    attendance_status text NOT NULL DEFAULT 'registered'
        CHECK (attendance_status IN ('registered','attended','partial','absent')),
    completion_status text NOT NULL DEFAULT 'not_started'
        CHECK (completion_status IN ('not_started','in_progress','completed','failed')),
    practical_score numeric(5,2) CHECK (practical_score BETWEEN 0 AND 100),
    written_score numeric(5,2) CHECK (written_score BETWEEN 0 AND 100),
    completion_reason text,
    enrolled_at timestamptz NOT NULL,
    enrolled_by uuid REFERENCES profiles(id),
    completed_at timestamptz,
    cancelled_at timestamptz,
    CONSTRAINT waitlist_position_iff_waitlisted CHECK ((status = 'waitlisted') = (waitlist_position IS NOT NULL)),
    CONSTRAINT cancelled_at_iff_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CONSTRAINT one_waitlist_position EXCLUDE USING btree (session_id WITH =, waitlist_position WITH =)
        WHERE (status = 'waitlisted') DEFERRABLE INITIALLY DEFERRED
);
CREATE UNIQUE INDEX one_active_enrollment ON session_enrollments (session_id, learner_id) WHERE status <> 'cancelled';
CREATE INDEX enrollments_session_idx ON session_enrollments (session_id, enrolled_at);
CREATE INDEX enrollments_learner_completion_idx ON session_enrollments (learner_id, completion_status);
CREATE INDEX enrollments_enrolled_by_idx ON session_enrollments (enrolled_by);

CREATE TABLE student_rosters (
    id uuid PRIMARY KEY,
    roster_name text NOT NULL CHECK (btrim(roster_name) <> ''),
    course_id uuid NOT NULL REFERENCES course_templates(id),
    location_id uuid NOT NULL REFERENCES locations(id),
    provider_id uuid REFERENCES authorized_providers(id),
    instructor_id uuid NOT NULL REFERENCES instructor_profiles(id),
    max_capacity integer NOT NULL CHECK (max_capacity >= 1),
    current_enrollment integer NOT NULL DEFAULT 0,
    roster_status text NOT NULL DEFAULT 'open' CHECK (roster_status IN ('open','closed')),
    scheduled_start_date date,
    scheduled_end_date date,
    created_by uuid REFERENCES profiles(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roster_within_capacity CHECK (current_enrollment BETWEEN 0 AND max_capacity)
);
CREATE INDEX student_rosters_location_idx ON student_rosters (location_id);
CREATE INDEX student_rosters_instructor_idx ON student_rosters (instructor_id);

CREATE TABLE student_roster_members (
    id uuid PRIMARY KEY,
    roster_id uuid NOT NULL REFERENCES student_rosters(id),
    student_profile_id uuid NOT NULL REFERENCES student_enrollment_profiles(id),
    enrolled_at timestamptz NOT NULL,
    attendance_status text NOT NULL DEFAULT 'registered'
        CHECK (attendance_status IN ('registered','attended','partial','absent')),
    practical_score numeric(5,2) CHECK (practical_score BETWEEN 0 AND 100),
    written_score numeric(5,2) CHECK (written_score BETWEEN 0 AND 100),
    completion_status text NOT NULL DEFAULT 'not_started'
        CHECK (completion_status IN ('not_started','in_progress','completed','failed')),
    completion_reason text,
    completion_date timestamptz,
    UNIQUE (roster_id, student_profile_id)
);
CREATE INDEX roster_members_student_idx ON student_roster_members (student_profile_id);

-- a certificate batch (the replaced system's "rosters")
CREATE TABLE rosters (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    course_id uuid REFERENCES course_templates(id),
    location_id uuid REFERENCES locations(id),
    source_kind text CHECK (source_kind IN ('session_enrollment','roster_member')),
    source_id uuid,
    issue_date date,
    certificate_count integer NOT NULL DEFAULT 0 CHECK (certificate_count >= 0),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','completed','failed')),
    metadata jsonb NOT NULL DEFAULT '{{}}',
    created_by uuid REFERENCES profiles(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certificate_templates (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    version text NOT NULL,
    body jsonb NOT NULL DEFAULT '{{}}',
    is_default boolean NOT NULL DEFAULT false,
    created_by uuid REFERENCES profiles(id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX one_default_certificate_template ON certificate_templates (is_default) WHERE is_default;

CREATE TABLE location_templates (
    id uuid PRIMARY KEY,
    location_id uuid NOT NULL REFERENCES locations(id),
    template_id uuid NOT NULL REFERENCES certificate_templates(id),
    is_primary boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX one_primary_template_per_location ON location_templates (location_id) WHERE is_primary;

CREATE TABLE certificates (
    id uuid PRIMARY KEY,
    verification_code text NOT NULL UNIQUE
        CHECK (verification_code ~ '^[0-9A-HJKMNP-TV-Z]{{12}}[0-9A-HJKMNP-TV-Z*~$=U]$'),
    completion_kind text NOT NULL CHECK (completion_kind IN ('session_enrollment','roster_member')),
    completion_id uuid NOT NULL,
    recipient_name text NOT NULL,
    recipient_user_id uuid REFERENCES profiles(id),
    recipient_student_id uuid REFERENCES student_enrollment_profiles(id),
    course_id uuid NOT NULL REFERENCES course_templates(id),
    course_name text NOT NULL,
    location_id uuid NOT NULL REFERENCES locations(id),
    provider_id uuid REFERENCES authorized_providers(id),
    session_id uuid REFERENCES training_sessions(id),
    roster_id uuid REFERENCES student_rosters(id),
    instructor_ids uuid[] NOT NULL DEFAULT '{{}}',
    instructor_name text NOT NULL DEFAULT '',
    issued_by uuid NOT NULL REFERENCES profiles(id),
    issue_date date NOT NULL,
    expiry_date date NOT NULL,
    batch_id uuid,
    revoked_at timestamptz,
    revoked_by uuid REFERENCES profiles(id),
    revocation_reason text,
    supersedes_id uuid REFERENCES certificates(id),
    superseded_by_id uuid REFERENCES certificates(id),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT expiry_after_issue CHECK (expiry_date > issue_date),
    CONSTRAINT one_recipient CHECK ((recipient_user_id IS NULL) <> (recipient_student_id IS NULL)),
    CONSTRAINT revocation_complete CHECK (
        (revoked_at IS NULL AND revoked_by IS NULL AND revocation_reason IS NULL)
        OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND btrim(revocation_reason) <> '')),
    CONSTRAINT completion_source CHECK (
        (completion_kind = 'session_enrollment' AND session_id IS NOT NULL)
        OR (completion_kind = 'roster_member' AND roster_id IS NOT NULL))
);
CREATE UNIQUE INDEX one_live_certificate_per_completion ON certificates (completion_kind, completion_id)
    WHERE revoked_at IS NULL;
CREATE INDEX certificates_recipient_user_idx ON certificates (recipient_user_id, course_id);
CREATE INDEX certificates_recipient_student_idx ON certificates (recipient_student_id, course_id);
CREATE INDEX certificates_location_idx ON certificates (location_id, issue_date);
CREATE INDEX certificates_provider_idx ON certificates (provider_id, issue_date);
CREATE INDEX certificates_session_idx ON certificates (session_id);
CREATE INDEX certificates_roster_idx ON certificates (roster_id);
CREATE INDEX certificates_instructors_idx ON certificates USING gin (instructor_ids);
CREATE INDEX certificates_issued_by_idx ON certificates (issued_by);
CREATE INDEX certificates_expiry_idx ON certificates (expiry_date);

CREATE TABLE teams (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (btrim(name) <> ''),
    provider_id uuid REFERENCES authorized_providers(id),
    location_id uuid REFERENCES locations(id),
    created_by uuid REFERENCES profiles(id),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','archived')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_provider_idx ON teams (provider_id);
CREATE INDEX teams_location_idx ON teams (location_id);

CREATE TABLE team_members (
    team_id uuid NOT NULL REFERENCES teams(id),
    user_id uuid NOT NULL REFERENCES profiles(id),
    role text NOT NULL CHECK (role IN ('member','lead')),
    added_at timestamptz NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

CREATE TABLE compliance_metrics (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    description text,
    weight integer NOT NULL CHECK (weight >= 1),
    roles text[] NOT NULL DEFAULT '{{}}',
    required_for_basic boolean NOT NULL DEFAULT true,
    required_for_robust boolean NOT NULL DEFAULT true,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE compliance_templates (
    id uuid PRIMARY KEY,
    role text NOT NULL CHECK (role IN {roles}),
    tier text NOT NULL CHECK (tier IN ('basic','robust')),
    template_name text NOT NULL,
    description text,
    ui_config jsonb NOT NULL DEFAULT '{{}}',
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (role, tier)
);

CREATE TABLE user_compliance_records (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES profiles(id),
    metric_id uuid NOT NULL REFERENCES compliance_metrics(id),
    status text NOT NULL CHECK (status IN ('compliant','pending','non_compliant')),
    recorded_on date NOT NULL,
    expires_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_on IS NULL OR expires_on >= recorded_on)
);
CREATE INDEX compliance_records_user_idx ON user_compliance_records (user_id, metric_id);

CREATE TABLE availability_bookings (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES profiles(id),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    booking_type text NOT NULL CHECK (booking_type IN ('booked','blocked')),
    title text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX availability_user_window_idx ON availability_bookings (user_id, starts_at, ends_at);

CREATE TABLE course_schedules (
    id uuid PRIMARY KEY,
    course_id uuid NOT NULL REFERENCES course_templates(id),
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    recurring_pattern jsonb NOT NULL DEFAULT '{{}}',
    location_id uuid REFERENCES locations(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE course_enrollments (
    id uuid PRIMARY KEY,
    course_schedule_id uuid NOT NULL REFERENCES course_schedules(id),
    user_id uuid NOT NULL REFERENCES profiles(id),
    status text NOT NULL CHECK (status IN ('enrolled','waitlisted','cancelled')),
    enrolled_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX one_active_course_enrollment ON course_enrollments (course_schedule_id, user_id)
    WHERE status <> 'cancelled';

CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    user_id uuid REFERENCES profiles(id),
    student_id uuid REFERENCES student_enrollment_profiles(id),
    title text NOT NULL,
    message text NOT NULL,
    type text NOT NULL,
    category text NOT NULL,
    priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high')),
    dedupe_key text UNIQUE,
    read_at timestamptz,
    metadata jsonb NOT NULL DEFAULT '{{}}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (student_id IS NULL))
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);
CREATE INDEX notifications_student_idx ON notifications (student_id, created_at);

CREATE TABLE location_email_templates (
    id uuid PRIMARY KEY,
    location_id uuid NOT NULL REFERENCES locations(id),
    name text NOT NULL,
    subject_template text NOT NULL,
    body_template text NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX one_default_email_template_per_location ON location_email_templates (location_id)
    WHERE is_default;

CREATE TABLE email_batch_operations (
    id uuid PRIMARY KEY,
    user_id uuid REFERENCES profiles(id),
    batch_name text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('pending','running','completed','failed')),
    total integer NOT NULL CHECK (total >= 0),
    processed integer NOT NULL DEFAULT 0,
    sent integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    error_message text,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CHECK (processed BETWEEN 0 AND total AND sent + failed <= processed)
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id uuid,
    old_values jsonb,
    new_values jsonb,
    metadata jsonb NOT NULL DEFAULT '{{}}',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id);

-- every committed domain event, in the transaction that raised it; the realtime feed reads this
CREATE TABLE change_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    topic text NOT NULL,
    event text NOT NULL,
    payload jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    kind text NOT NULL,
    location_id uuid,
    provider_id uuid,
    created_by uuid,
    instructor_ids uuid[] NOT NULL DEFAULT '{{}}',
    subject_id uuid,
    learner_ids uuid[] NOT NULL DEFAULT '{{}}',
    actor_id uuid,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_log_cursor_idx ON change_log (txid, id);
"""

FUNCTIONS = """
-- seats and waitlist counters follow every enrollment write, so the CHECK on
-- training_sessions holds even for writes that bypass arccm; the UPDATE takes
-- the session row lock, which serializes concurrent writers of one session.
CREATE FUNCTION arccm_enrollment_counters() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER enrollment_counters AFTER INSERT OR UPDATE OF status OR DELETE ON session_enrollments
    FOR EACH ROW EXECUTE FUNCTION arccm_enrollment_counters();

CREATE FUNCTION arccm_roster_counter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE student_rosters
       SET current_enrollment = current_enrollment + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
     WHERE id = COALESCE(NEW.roster_id, OLD.roster_id);
    RETURN NULL;
END $$;
CREATE TRIGGER roster_counter AFTER INSERT OR DELETE ON student_roster_members
    FOR EACH ROW EXECUTE FUNCTION arccm_roster_counter();

-- nothing is ever deleted: not certificates, not the history
CREATE FUNCTION arccm_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER certificates_never_deleted BEFORE DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION arccm_refuse_delete();
CREATE TRIGGER change_log_never_deleted BEFORE DELETE ON change_log
    FOR EACH ROW EXECUTE FUNCTION arccm_refuse_delete();
CREATE TRIGGER audit_log_never_deleted BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION arccm_refuse_delete();
"""

APP_TABLES = [
    "locations", "authorized_providers", "provider_locations", "profiles", "instructor_profiles",
    "student_enrollment_profiles", "course_templates", "training_sessions", "session_enrollments",
    "student_rosters", "student_roster_members", "rosters", "certificate_templates", "location_templates",
    "certificates", "teams", "team_members", "compliance_metrics", "compliance_templates",
    "user_compliance_records", "availability_bookings", "course_schedules", "course_enrollments",
    "notifications", "location_email_templates", "email_batch_operations", "audit_log", "change_log",
]  # fmt: skip
APPEND_ONLY = {"audit_log", "change_log", "user_compliance_records"}
DELETABLE = {"team_members", "provider_locations"}


def _grants(app_role: str) -> str:
    statements = [f'GRANT USAGE ON SCHEMA "{_schema()}" TO "{app_role}"']
    for table in APP_TABLES:
        verbs = ["SELECT", "INSERT"]
        if table not in APPEND_ONLY:
            verbs.append("UPDATE")
        if table in DELETABLE:
            verbs.append("DELETE")
        statements.append(f'GRANT {", ".join(verbs)} ON "{table}" TO "{app_role}"')
    return ";\n".join(statements) + ";"


def _attribute(name: str, default: str) -> str:
    config = op.get_context().config
    return str(config.attributes.get(name, default)) if config is not None else default


def _schema() -> str:
    return _attribute("schema", "public")


def _app_role() -> str:
    return _attribute("app_role", "arccm_app")


def upgrade() -> None:
    op.execute(TABLES.format(roles=ROLES))
    op.execute(FUNCTIONS)
    role = _app_role()
    op.execute(
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
        END $$"""
    )
    op.execute(_grants(role))


def downgrade() -> None:
    role = _app_role()
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{_schema()}" FROM "{role}"')
    op.execute(f'REVOKE USAGE ON SCHEMA "{_schema()}" FROM "{role}"')
    for table in reversed(APP_TABLES):
        op.execute(f'DROP TABLE "{table}" CASCADE')
    for function in ("arccm_enrollment_counters", "arccm_roster_counter", "arccm_refuse_delete"):
        op.execute(f"DROP FUNCTION {function}()")
