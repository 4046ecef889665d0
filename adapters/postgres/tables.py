"""The schema as SQLAlchemy Core tables: what the migrations build, stated once for the code that reads and writes it.

Generated from a migrated database, then kept by hand; ``tests/integration/test_schema_drift.py`` compares it
with the migrated database (Alembic's ``compare_metadata``) and fails on any difference, so a migration and this
file cannot disagree.  Tables carry no schema: every transaction sets ``search_path`` to arccm's schema.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``pg_current_xact_id()``): the change feed's cursor."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


ischema_names["xid8"] = Xid8  # so reflection (and the drift test) knows the type

metadata = MetaData()


t_audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True, autoincrement=True),
    Column("at", DateTime(True), nullable=False, server_default=text("clock_timestamp()")),
    Column("txid", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("actor_id", Uuid),
    Column("db_role", Text, nullable=False, server_default=text("SESSION_USER")),
    Column("operation", Text, nullable=False),
    Column("table_name", Text),
    Column("row_id", Text),
    Column("old_values", JSONB),
    Column("new_values", JSONB),
    Column("action", Text),
    Column("reason", Text),
    CheckConstraint(
        "operation = ANY (ARRAY['INSERT'::text, 'UPDATE'::text, 'DELETE'::text, 'TRUNCATE'::text, 'REFUSED'::text])",
        name="audit_log_operation_check",
    ),
    PrimaryKeyConstraint("id", name="audit_log_pkey"),
    Index("audit_log_actor_idx", "actor_id", "at"),
    Index("audit_log_at_idx", "at", postgresql_using="brin"),
    Index("audit_log_row_idx", "table_name", "row_id", "id"),
)

t_authorized_providers = Table(
    "authorized_providers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'active'::text")),
    Column("contact_email", Text),
    Column("contact_phone", Text),
    Column("website", Text),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("btrim(name) <> ''::text", name="authorized_providers_name_check"),
    CheckConstraint(
        "status = ANY (ARRAY['active'::text, 'suspended'::text, 'inactive'::text])",
        name="authorized_providers_status_check",
    ),
    PrimaryKeyConstraint("id", name="authorized_providers_pkey"),
)

t_change_log = Table(
    "change_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True, autoincrement=True),
    Column("txid", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("topic", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("occurred_at", DateTime(True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("location_id", Uuid),
    Column("provider_id", Uuid),
    Column("created_by", Uuid),
    Column("instructor_ids", ARRAY(Uuid()), nullable=False, server_default=text("'{}'::uuid[]")),
    Column("subject_id", Uuid),
    Column("learner_ids", ARRAY(Uuid()), nullable=False, server_default=text("'{}'::uuid[]")),
    Column("actor_id", Uuid),
    Column("recorded_at", DateTime(True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("id", name="change_log_pkey"),
    Index("change_log_cursor_idx", "txid", "id"),
    Index("change_log_recorded_idx", "recorded_at"),
)

t_change_log_watermark = Table(
    "change_log_watermark",
    metadata,
    Column("only_row", Boolean, primary_key=True, server_default=text("true")),
    Column("txid", Xid8(), nullable=False),
    Column("id", BigInteger, nullable=False),
    Column("pruned_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("only_row", name="change_log_watermark_only_row_check"),
    PrimaryKeyConstraint("only_row", name="change_log_watermark_pkey"),
)

t_compliance_metrics = Table(
    "compliance_metrics",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text),
    Column("weight", Integer, nullable=False),
    Column("roles", ARRAY(Text()), nullable=False, server_default=text("'{}'::text[]")),
    Column("required_for_basic", Boolean, nullable=False, server_default=text("true")),
    Column("required_for_robust", Boolean, nullable=False, server_default=text("true")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("weight >= 1", name="compliance_metrics_weight_check"),
    PrimaryKeyConstraint("id", name="compliance_metrics_pkey"),
)

t_compliance_templates = Table(
    "compliance_templates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("role", Text, nullable=False),
    Column("tier", Text, nullable=False),
    Column("template_name", Text, nullable=False),
    Column("description", Text),
    Column("ui_config", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint(
        "role = ANY (ARRAY['SA'::text, 'AD'::text, 'AP'::text, 'IC'::text, 'IP'::text, 'IT'::text, 'IN'::text])",
        name="compliance_templates_role_check",
    ),
    CheckConstraint("tier = ANY (ARRAY['basic'::text, 'robust'::text])", name="compliance_templates_tier_check"),
    PrimaryKeyConstraint("id", name="compliance_templates_pkey"),
    UniqueConstraint("role", "tier", name="compliance_templates_role_tier_key"),
)

t_course_templates = Table(
    "course_templates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("description", Text),
    Column("validity_months", Integer, nullable=False),
    Column("required_specialties", ARRAY(Text()), nullable=False, server_default=text("'{}'::text[]")),
    Column("practical_weight", Numeric(4, 3), nullable=False),
    Column("written_weight", Numeric(4, 3), nullable=False),
    Column("pass_threshold", Numeric(5, 2), nullable=False),
    Column("requires_both_scores", Boolean, nullable=False, server_default=text("true")),
    Column("max_students", Integer),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("(practical_weight + written_weight) = 1::numeric", name="course_templates_check"),
    CheckConstraint("btrim(name) <> ''::text", name="course_templates_name_check"),
    CheckConstraint("max_students >= 1", name="course_templates_max_students_check"),
    CheckConstraint(
        "pass_threshold >= 0::numeric AND pass_threshold <= 100::numeric", name="course_templates_pass_threshold_check"
    ),
    CheckConstraint(
        "practical_weight >= 0::numeric AND practical_weight <= 1::numeric",
        name="course_templates_practical_weight_check",
    ),
    CheckConstraint("validity_months >= 1", name="course_templates_validity_months_check"),
    CheckConstraint(
        "written_weight >= 0::numeric AND written_weight <= 1::numeric", name="course_templates_written_weight_check"
    ),
    PrimaryKeyConstraint("id", name="course_templates_pkey"),
    UniqueConstraint("code", name="course_templates_code_key"),
)

t_locations = Table(
    "locations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("timezone", Text, nullable=False, server_default=text("'UTC'::text")),
    Column("address", Text),
    Column("city", Text),
    Column("state", Text),
    Column("zip", Text),
    Column("country", Text),
    Column("email", Text),
    Column("phone", Text),
    Column("website", Text),
    Column("logo_url", Text),
    Column("status", Text, nullable=False, server_default=text("'active'::text")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("btrim(name) <> ''::text", name="locations_name_check"),
    CheckConstraint("status = ANY (ARRAY['active'::text, 'inactive'::text])", name="locations_status_check"),
    PrimaryKeyConstraint("id", name="locations_pkey"),
)

t_course_schedules = Table(
    "course_schedules",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("course_id", Uuid, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("recurring_pattern", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("location_id", Uuid),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("ends_on >= starts_on", name="course_schedules_check"),
    ForeignKeyConstraint(["course_id"], ["course_templates.id"], name="course_schedules_course_id_fkey"),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="course_schedules_location_id_fkey"),
    PrimaryKeyConstraint("id", name="course_schedules_pkey"),
)

t_location_email_templates = Table(
    "location_email_templates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("location_id", Uuid, nullable=False),
    Column("name", Text, nullable=False),
    Column("subject_template", Text, nullable=False),
    Column("body_template", Text, nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="location_email_templates_location_id_fkey"),
    PrimaryKeyConstraint("id", name="location_email_templates_pkey"),
    Index("one_default_email_template_per_location", "location_id", postgresql_where="is_default", unique=True),
)

t_profiles = Table(
    "profiles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("email", Text, nullable=False, server_default=text("''::text")),
    Column("phone", Text, nullable=False, server_default=text("''::text")),
    Column("provider_id", Uuid),
    Column("location_id", Uuid),
    Column("status", Text, nullable=False, server_default=text("'active'::text")),
    Column("compliance_score", Integer, nullable=False, server_default=text("0")),
    Column("compliance_tier", Text, nullable=False, server_default=text("'none'::text")),
    Column("compliance_status", Text, nullable=False, server_default=text("'unassessed'::text")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("btrim(display_name) <> ''::text", name="profiles_display_name_check"),
    CheckConstraint("compliance_score >= 0 AND compliance_score <= 100", name="profiles_compliance_score_check"),
    CheckConstraint(
        "compliance_status = ANY (ARRAY['compliant'::text, 'at_risk'::text, 'non_compliant'::text, 'unassessed'::text])",
        name="profiles_compliance_status_check",
    ),
    CheckConstraint(
        "compliance_tier = ANY (ARRAY['none'::text, 'basic'::text, 'robust'::text])",
        name="profiles_compliance_tier_check",
    ),
    CheckConstraint(
        "role = ANY (ARRAY['SA'::text, 'AD'::text, 'AP'::text, 'IC'::text, 'IP'::text, 'IT'::text, 'IN'::text])",
        name="profiles_role_check",
    ),
    CheckConstraint("status = ANY (ARRAY['active'::text, 'inactive'::text])", name="profiles_status_check"),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="profiles_location_id_fkey"),
    ForeignKeyConstraint(["provider_id"], ["authorized_providers.id"], name="profiles_provider_id_fkey"),
    PrimaryKeyConstraint("id", name="profiles_pkey"),
    Index(
        "profiles_assessed_idx",
        "provider_id",
        "location_id",
        postgresql_include=["compliance_score"],
        postgresql_where="(compliance_status <> 'unassessed'::text)",
    ),
    Index("profiles_email_idx", text("lower(btrim(email))"), postgresql_where="(email <> ''::text)"),
    Index("profiles_location_idx", "location_id"),
    Index("profiles_provider_idx", "provider_id"),
)

t_provider_locations = Table(
    "provider_locations",
    metadata,
    Column("provider_id", Uuid, primary_key=True),
    Column("location_id", Uuid, primary_key=True),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="provider_locations_location_id_fkey"),
    ForeignKeyConstraint(["provider_id"], ["authorized_providers.id"], name="provider_locations_provider_id_fkey"),
    PrimaryKeyConstraint("provider_id", "location_id", name="provider_locations_pkey"),
    UniqueConstraint("location_id", name="provider_locations_location_id_key"),
)

t_student_enrollment_profiles = Table(
    "student_enrollment_profiles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("email", Text, nullable=False, server_default=text("''::text")),
    Column("phone", Text, nullable=False, server_default=text("''::text")),
    Column("location_id", Uuid),
    Column("external_student_id", Text),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("btrim(first_name || last_name) <> ''::text", name="student_enrollment_profiles_check"),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="student_enrollment_profiles_location_id_fkey"),
    PrimaryKeyConstraint("id", name="student_enrollment_profiles_pkey"),
    Index("student_profiles_email_idx", text("lower(btrim(email))"), postgresql_where="(email <> ''::text)"),
    Index("student_profiles_location_idx", "location_id"),
)

t_availability_bookings = Table(
    "availability_bookings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("starts_at", DateTime(True), nullable=False),
    Column("ends_at", DateTime(True), nullable=False),
    Column("booking_type", Text, nullable=False),
    Column("title", Text, nullable=False, server_default=text("''::text")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint(
        "booking_type = ANY (ARRAY['booked'::text, 'blocked'::text])", name="availability_bookings_booking_type_check"
    ),
    CheckConstraint("ends_at > starts_at", name="availability_bookings_check"),
    ForeignKeyConstraint(["user_id"], ["profiles.id"], name="availability_bookings_user_id_fkey"),
    PrimaryKeyConstraint("id", name="availability_bookings_pkey"),
    Index("availability_user_window_idx", "user_id", "starts_at", "ends_at"),
)

t_certificate_templates = Table(
    "certificate_templates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("body", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", Uuid),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    ForeignKeyConstraint(["created_by"], ["profiles.id"], name="certificate_templates_created_by_fkey"),
    PrimaryKeyConstraint("id", name="certificate_templates_pkey"),
    Index("one_default_certificate_template", "is_default", postgresql_where="is_default", unique=True),
)

t_course_enrollments = Table(
    "course_enrollments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("course_schedule_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("enrolled_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint(
        "status = ANY (ARRAY['enrolled'::text, 'waitlisted'::text, 'cancelled'::text])",
        name="course_enrollments_status_check",
    ),
    ForeignKeyConstraint(
        ["course_schedule_id"], ["course_schedules.id"], name="course_enrollments_course_schedule_id_fkey"
    ),
    ForeignKeyConstraint(["user_id"], ["profiles.id"], name="course_enrollments_user_id_fkey"),
    PrimaryKeyConstraint("id", name="course_enrollments_pkey"),
    Index(
        "one_active_course_enrollment",
        "course_schedule_id",
        "user_id",
        postgresql_where="(status <> 'cancelled'::text)",
        unique=True,
    ),
)

t_email_batch_operations = Table(
    "email_batch_operations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid),
    Column("batch_name", Text, nullable=False, server_default=text("''::text")),
    Column("status", Text, nullable=False),
    Column("total", Integer, nullable=False),
    Column("processed", Integer, nullable=False, server_default=text("0")),
    Column("sent", Integer, nullable=False, server_default=text("0")),
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("error_message", Text),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("completed_at", DateTime(True)),
    CheckConstraint(
        "processed >= 0 AND processed <= total AND (sent + failed) <= processed", name="email_batch_operations_check"
    ),
    CheckConstraint(
        "status = ANY (ARRAY['pending'::text, 'running'::text, 'completed'::text, 'failed'::text])",
        name="email_batch_operations_status_check",
    ),
    CheckConstraint("total >= 0", name="email_batch_operations_total_check"),
    ForeignKeyConstraint(["user_id"], ["profiles.id"], name="email_batch_operations_user_id_fkey"),
    PrimaryKeyConstraint("id", name="email_batch_operations_pkey"),
)

t_instructor_profiles = Table(
    "instructor_profiles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("specialties", ARRAY(Text()), nullable=False, server_default=text("'{}'::text[]")),
    Column("max_students_per_session", Integer, nullable=False),
    Column("credential_expires_on", Date),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("max_students_per_session >= 1", name="instructor_profiles_max_students_per_session_check"),
    ForeignKeyConstraint(["id"], ["profiles.id"], name="instructor_profiles_id_fkey"),
    PrimaryKeyConstraint("id", name="instructor_profiles_pkey"),
)

t_notifications = Table(
    "notifications",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid),
    Column("student_id", Uuid),
    Column("title", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("priority", Text, nullable=False, server_default=text("'normal'::text")),
    Column("dedupe_key", Text),
    Column("read_at", DateTime(True)),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("email", Text, nullable=False, server_default=text("''::text")),
    Column("email_status", Text, nullable=False, server_default=text("'none'::text")),
    Column("email_attempts", Integer, nullable=False, server_default=text("0")),
    Column("email_error", Text),
    Column("emailed_at", DateTime(True)),
    Column("location_id", Uuid),
    CheckConstraint("(email_status = 'sent'::text) = (emailed_at IS NOT NULL)", name="sent_has_time"),
    CheckConstraint("(user_id IS NULL) <> (student_id IS NULL)", name="notifications_check"),
    CheckConstraint("email_attempts >= 0", name="notifications_email_attempts_check"),
    CheckConstraint(
        "email_status = ANY (ARRAY['none'::text, 'pending'::text, 'sending'::text, 'sent'::text, 'failed'::text])",
        name="notifications_email_status_check",
    ),
    CheckConstraint(
        "priority = ANY (ARRAY['low'::text, 'normal'::text, 'high'::text])", name="notifications_priority_check"
    ),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="notifications_location_id_fkey"),
    ForeignKeyConstraint(["student_id"], ["student_enrollment_profiles.id"], name="notifications_student_id_fkey"),
    ForeignKeyConstraint(["user_id"], ["profiles.id"], name="notifications_user_id_fkey"),
    PrimaryKeyConstraint("id", name="notifications_pkey"),
    UniqueConstraint("dedupe_key", name="notifications_dedupe_key_key"),
    Index(
        "notifications_email_queue_idx",
        "id",
        postgresql_where="(email_status = ANY (ARRAY['pending'::text, 'failed'::text]))",
    ),
    Index("notifications_student_idx", "student_id", "created_at"),
    Index("notifications_user_idx", "user_id", "created_at"),
)

t_rosters = Table(
    "rosters",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("course_id", Uuid),
    Column("location_id", Uuid),
    Column("source_kind", Text),
    Column("source_id", Uuid),
    Column("issue_date", Date),
    Column("certificate_count", Integer, nullable=False, server_default=text("0")),
    Column("status", Text, nullable=False, server_default=text("'pending'::text")),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_by", Uuid),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("provider_id", Uuid),
    Column("total", Integer, nullable=False, server_default=text("0")),
    Column("done", Integer, nullable=False, server_default=text("0")),
    Column("not_eligible", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("certificate_count >= 0", name="rosters_certificate_count_check"),
    CheckConstraint("done <= total AND certificate_count <= total", name="batch_progress"),
    CheckConstraint("done >= 0", name="rosters_done_check"),
    CheckConstraint("not_eligible >= 0", name="rosters_not_eligible_check"),
    CheckConstraint(
        "source_kind = ANY (ARRAY['session_enrollment'::text, 'roster_member'::text])", name="rosters_source_kind_check"
    ),
    CheckConstraint(
        "status = ANY (ARRAY['pending'::text, 'running'::text, 'completed'::text, 'failed'::text])",
        name="rosters_status_check",
    ),
    CheckConstraint("total >= 0", name="rosters_total_check"),
    ForeignKeyConstraint(["course_id"], ["course_templates.id"], name="rosters_course_id_fkey"),
    ForeignKeyConstraint(["created_by"], ["profiles.id"], name="rosters_created_by_fkey"),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="rosters_location_id_fkey"),
    ForeignKeyConstraint(["provider_id"], ["authorized_providers.id"], name="rosters_provider_id_fkey"),
    PrimaryKeyConstraint("id", name="rosters_pkey"),
    Index(
        "one_running_batch_per_source",
        "source_kind",
        "source_id",
        postgresql_where="(status = 'running'::text)",
        unique=True,
    ),
    Index("rosters_location_idx", "location_id"),
)

t_teams = Table(
    "teams",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("provider_id", Uuid),
    Column("location_id", Uuid),
    Column("created_by", Uuid),
    Column("status", Text, nullable=False, server_default=text("'active'::text")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("btrim(name) <> ''::text", name="teams_name_check"),
    CheckConstraint("status = ANY (ARRAY['active'::text, 'archived'::text])", name="teams_status_check"),
    ForeignKeyConstraint(["created_by"], ["profiles.id"], name="teams_created_by_fkey"),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="teams_location_id_fkey"),
    ForeignKeyConstraint(["provider_id"], ["authorized_providers.id"], name="teams_provider_id_fkey"),
    PrimaryKeyConstraint("id", name="teams_pkey"),
    Index("teams_location_idx", "location_id"),
    Index("teams_provider_idx", "provider_id"),
    Index("teams_created_by_idx", "created_by"),
)

t_user_compliance_records = Table(
    "user_compliance_records",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True, autoincrement=True),
    Column("user_id", Uuid, nullable=False),
    Column("metric_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("expires_on", Date),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("expires_on IS NULL OR expires_on >= recorded_on", name="user_compliance_records_check"),
    CheckConstraint(
        "status = ANY (ARRAY['compliant'::text, 'pending'::text, 'non_compliant'::text])",
        name="user_compliance_records_status_check",
    ),
    ForeignKeyConstraint(["metric_id"], ["compliance_metrics.id"], name="user_compliance_records_metric_id_fkey"),
    ForeignKeyConstraint(["user_id"], ["profiles.id"], name="user_compliance_records_user_id_fkey"),
    PrimaryKeyConstraint("id", name="user_compliance_records_pkey"),
    Index("compliance_records_user_idx", "user_id", "metric_id"),
)

t_location_templates = Table(
    "location_templates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("location_id", Uuid, nullable=False),
    Column("template_id", Uuid, nullable=False),
    Column("is_primary", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="location_templates_location_id_fkey"),
    ForeignKeyConstraint(["template_id"], ["certificate_templates.id"], name="location_templates_template_id_fkey"),
    PrimaryKeyConstraint("id", name="location_templates_pkey"),
    Index("one_primary_template_per_location", "location_id", postgresql_where="is_primary", unique=True),
)

t_student_rosters = Table(
    "student_rosters",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("roster_name", Text, nullable=False),
    Column("course_id", Uuid, nullable=False),
    Column("location_id", Uuid, nullable=False),
    Column("provider_id", Uuid),
    Column("instructor_id", Uuid, nullable=False),
    Column("max_capacity", Integer, nullable=False),
    Column("current_enrollment", Integer, nullable=False, server_default=text("0")),
    Column("roster_status", Text, nullable=False, server_default=text("'open'::text")),
    Column("scheduled_start_date", Date),
    Column("scheduled_end_date", Date),
    Column("created_by", Uuid),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    CheckConstraint("btrim(roster_name) <> ''::text", name="student_rosters_roster_name_check"),
    CheckConstraint("current_enrollment >= 0 AND current_enrollment <= max_capacity", name="roster_within_capacity"),
    CheckConstraint("max_capacity >= 1", name="student_rosters_max_capacity_check"),
    CheckConstraint(
        "roster_status = ANY (ARRAY['open'::text, 'closed'::text])", name="student_rosters_roster_status_check"
    ),
    ForeignKeyConstraint(["course_id"], ["course_templates.id"], name="student_rosters_course_id_fkey"),
    ForeignKeyConstraint(["created_by"], ["profiles.id"], name="student_rosters_created_by_fkey"),
    ForeignKeyConstraint(["instructor_id"], ["instructor_profiles.id"], name="student_rosters_instructor_id_fkey"),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="student_rosters_location_id_fkey"),
    ForeignKeyConstraint(["provider_id"], ["authorized_providers.id"], name="student_rosters_provider_id_fkey"),
    PrimaryKeyConstraint("id", name="student_rosters_pkey"),
    Index("student_rosters_instructor_idx", "instructor_id"),
    Index("student_rosters_location_idx", "location_id"),
)

t_team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Uuid, primary_key=True),
    Column("user_id", Uuid, primary_key=True),
    Column("role", Text, nullable=False),
    Column("added_at", DateTime(True), nullable=False),
    CheckConstraint("role = ANY (ARRAY['member'::text, 'lead'::text])", name="team_members_role_check"),
    ForeignKeyConstraint(["team_id"], ["teams.id"], name="team_members_team_id_fkey"),
    ForeignKeyConstraint(["user_id"], ["profiles.id"], name="team_members_user_id_fkey"),
    PrimaryKeyConstraint("team_id", "user_id", name="team_members_pkey"),
    Index("team_members_user_idx", "user_id"),
)

t_training_sessions = Table(
    "training_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("course_id", Uuid, nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("location_id", Uuid, nullable=False),
    Column("provider_id", Uuid),
    Column("lead_instructor_id", Uuid, nullable=False),
    Column("assistant_ids", ARRAY(Uuid()), nullable=False, server_default=text("'{}'::uuid[]")),
    Column("starts_at", DateTime(True), nullable=False),
    Column("ends_at", DateTime(True), nullable=False),
    Column("max_capacity", Integer, nullable=False),
    Column("seats_taken", Integer, nullable=False, server_default=text("0")),
    Column("waitlist_length", Integer, nullable=False, server_default=text("0")),
    Column("allow_waitlist", Boolean, nullable=False, server_default=text("true")),
    Column("status", Text, nullable=False, server_default=text("'scheduled'::text")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_by", Uuid),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("active_enrollments", Integer, nullable=False, server_default=text("0")),
    Column("attended_count", Integer, nullable=False, server_default=text("0")),
    Column("completed_count", Integer, nullable=False, server_default=text("0")),
    Column("failed_count", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("NOT (lead_instructor_id = ANY (assistant_ids))", name="lead_is_not_assistant"),
    CheckConstraint("active_enrollments >= 0", name="training_sessions_active_enrollments_check"),
    CheckConstraint("attended_count >= 0", name="training_sessions_attended_count_check"),
    CheckConstraint("completed_count >= 0", name="training_sessions_completed_count_check"),
    CheckConstraint("ends_at > starts_at", name="session_window"),
    CheckConstraint("failed_count >= 0", name="training_sessions_failed_count_check"),
    CheckConstraint("max_capacity >= 1", name="training_sessions_max_capacity_check"),
    CheckConstraint("seats_taken >= 0 AND seats_taken <= max_capacity", name="seats_within_capacity"),
    CheckConstraint(
        "status = ANY (ARRAY['scheduled'::text, 'in_progress'::text, 'completed'::text, 'cancelled'::text])",
        name="training_sessions_status_check",
    ),
    CheckConstraint("version >= 1", name="training_sessions_version_check"),
    CheckConstraint("waitlist_length >= 0", name="training_sessions_waitlist_length_check"),
    ForeignKeyConstraint(["course_id"], ["course_templates.id"], name="training_sessions_course_id_fkey"),
    ForeignKeyConstraint(["created_by"], ["profiles.id"], name="training_sessions_created_by_fkey"),
    ForeignKeyConstraint(
        ["lead_instructor_id"], ["instructor_profiles.id"], name="training_sessions_lead_instructor_id_fkey"
    ),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="training_sessions_location_id_fkey"),
    ForeignKeyConstraint(["provider_id"], ["authorized_providers.id"], name="training_sessions_provider_id_fkey"),
    PrimaryKeyConstraint("id", name="training_sessions_pkey"),
    Index("sessions_assistants_idx", "assistant_ids", postgresql_using="gin"),
    Index("sessions_course_idx", "course_id"),
    Index("sessions_created_by_idx", "created_by"),
    Index("sessions_instructor_status_idx", "lead_instructor_id", "status", "starts_at"),
    Index("sessions_location_start_idx", "location_id", "starts_at"),
    Index("sessions_provider_start_idx", "provider_id", "starts_at"),
    Index("sessions_start_idx", "starts_at"),
)

# what a dashboard counts and what an AP's or a holder's policy tests: a covering index with these serves both
_CERTIFICATE_SCOPE_COVER = (
    "issue_date",
    "expiry_date",
    "revoked_at",
    "superseded_by_id",
    "issued_by",
    "recipient_user_id",
    "recipient_student_id",
)

# the columns an AP's certificate policy reads: location, provider, issuer, holder
_CERTIFICATE_POLICY_COLUMNS = ("location_id", "provider_id", "issued_by", "recipient_user_id", "recipient_student_id")

t_certificates = Table(
    "certificates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("verification_code", Text, nullable=False),
    Column("completion_kind", Text, nullable=False),
    Column("completion_id", Uuid, nullable=False),
    Column("recipient_name", Text, nullable=False),
    Column("recipient_user_id", Uuid),
    Column("recipient_student_id", Uuid),
    Column("course_id", Uuid, nullable=False),
    Column("course_name", Text, nullable=False),
    Column("location_id", Uuid, nullable=False),
    Column("provider_id", Uuid),
    Column("session_id", Uuid),
    Column("roster_id", Uuid),
    Column("instructor_ids", ARRAY(Uuid()), nullable=False, server_default=text("'{}'::uuid[]")),
    Column("instructor_name", Text, nullable=False, server_default=text("''::text")),
    Column("issued_by", Uuid, nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("expiry_date", Date, nullable=False),
    Column("batch_id", Uuid),
    Column("revoked_at", DateTime(True)),
    Column("revoked_by", Uuid),
    Column("revocation_reason", Text),
    Column("supersedes_id", Uuid),
    Column("superseded_by_id", Uuid),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("expired_on", Date),
    Column("lead_instructor_id", Uuid),
    CheckConstraint("(recipient_user_id IS NULL) <> (recipient_student_id IS NULL)", name="one_recipient"),
    CheckConstraint(
        "completion_kind = 'session_enrollment'::text AND session_id IS NOT NULL OR completion_kind = 'roster_member'::text AND roster_id IS NOT NULL OR completion_kind = 'legacy_import'::text",
        name="completion_source",
    ),
    CheckConstraint(
        "completion_kind = ANY (ARRAY['session_enrollment'::text, 'roster_member'::text, 'legacy_import'::text])",
        name="certificates_completion_kind_check",
    ),
    CheckConstraint("expiry_date > issue_date", name="expiry_after_issue"),
    CheckConstraint(
        "revoked_at IS NULL AND revoked_by IS NULL AND revocation_reason IS NULL OR revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND btrim(revocation_reason) <> ''::text",
        name="revocation_complete",
    ),
    CheckConstraint(
        "verification_code ~ '^[0-9A-HJKMNP-TV-Z]{12}[0-9A-HJKMNP-TV-Z*~$=U]$'::text",
        name="certificates_verification_code_check",
    ),
    ForeignKeyConstraint(["course_id"], ["course_templates.id"], name="certificates_course_id_fkey"),
    ForeignKeyConstraint(["issued_by"], ["profiles.id"], name="certificates_issued_by_fkey"),
    ForeignKeyConstraint(["lead_instructor_id"], ["profiles.id"], name="certificates_lead_instructor_id_fkey"),
    ForeignKeyConstraint(["location_id"], ["locations.id"], name="certificates_location_id_fkey"),
    ForeignKeyConstraint(["provider_id"], ["authorized_providers.id"], name="certificates_provider_id_fkey"),
    ForeignKeyConstraint(
        ["recipient_student_id"], ["student_enrollment_profiles.id"], name="certificates_recipient_student_id_fkey"
    ),
    ForeignKeyConstraint(["recipient_user_id"], ["profiles.id"], name="certificates_recipient_user_id_fkey"),
    ForeignKeyConstraint(["revoked_by"], ["profiles.id"], name="certificates_revoked_by_fkey"),
    ForeignKeyConstraint(["roster_id"], ["student_rosters.id"], name="certificates_roster_id_fkey"),
    ForeignKeyConstraint(["session_id"], ["training_sessions.id"], name="certificates_session_id_fkey"),
    ForeignKeyConstraint(
        ["superseded_by_id"],
        ["certificates.id"],
        deferrable=True,
        initially="DEFERRED",
        name="certificates_superseded_by_id_fkey",
    ),
    ForeignKeyConstraint(["supersedes_id"], ["certificates.id"], name="certificates_supersedes_id_fkey"),
    PrimaryKeyConstraint("id", name="certificates_pkey"),
    UniqueConstraint("verification_code", name="certificates_verification_code_key"),
    Index(
        "certificates_dashboard_idx",
        "location_id",
        "provider_id",
        postgresql_include=list(_CERTIFICATE_SCOPE_COVER),
    ),
    Index("certificates_instructors_idx", "instructor_ids", postgresql_using="gin"),
    Index("certificates_issued_by_idx", "issued_by"),
    Index(
        "certificates_issued_cover_idx",
        "issue_date",
        postgresql_include=[
            "location_id",
            "provider_id",
            "course_id",
            "expiry_date",
            "revoked_at",
            "superseded_by_id",
            "issued_by",
            "recipient_user_id",
            "recipient_student_id",
        ],
    ),
    Index("certificates_lead_instructor_idx", "lead_instructor_id", "issue_date"),
    Index("certificates_location_idx", "location_id", "issue_date"),
    Index(
        "certificates_live_expiry_idx",
        "expiry_date",
        postgresql_include=list(_CERTIFICATE_POLICY_COLUMNS),
        postgresql_where="((revoked_at IS NULL) AND (superseded_by_id IS NULL))",
    ),
    Index(
        "certificates_provider_cover_idx",
        "provider_id",
        "location_id",
        postgresql_include=list(_CERTIFICATE_SCOPE_COVER),
    ),
    Index("certificates_provider_idx", "provider_id", "issue_date"),
    Index(
        "certificates_recorded_expiry_idx",
        "expiry_date",
        postgresql_include=list(_CERTIFICATE_POLICY_COLUMNS),
        postgresql_where="((expired_on IS NOT NULL) AND (revoked_at IS NULL) AND (superseded_by_id IS NULL))",
    ),
    Index("certificates_recipient_student_idx", "recipient_student_id", "course_id"),
    Index("certificates_recipient_user_idx", "recipient_user_id", "course_id"),
    Index("certificates_roster_idx", "roster_id"),
    Index("certificates_session_idx", "session_id"),
    Index(
        "certificates_unrecorded_expiry_idx",
        "expiry_date",
        postgresql_where="((expired_on IS NULL) AND (revoked_at IS NULL) AND (superseded_by_id IS NULL))",
    ),
    Index(
        "one_current_certificate_per_holder",
        "course_id",
        text("COALESCE(recipient_user_id, recipient_student_id)"),
        postgresql_where="((revoked_at IS NULL) AND (superseded_by_id IS NULL))",
        unique=True,
    ),
    Index(
        "one_live_certificate_per_completion",
        "completion_kind",
        "completion_id",
        postgresql_where="(revoked_at IS NULL)",
        unique=True,
    ),
)

# kept by triggers on certificates (migration 0014): per (location, provider), all and live-with-no-recorded-expiry
t_certificate_counts = Table(
    "certificate_counts",
    metadata,
    Column("location_id", Uuid, nullable=False),
    Column("provider_id", Uuid),
    Column("certificates", BigInteger, nullable=False),
    Column("live_unrecorded", BigInteger, nullable=False),
    UniqueConstraint("location_id", "provider_id", name="certificate_counts_pair", postgresql_nulls_not_distinct=True),
    comment="Certificates per (location, provider): all, and live with no expiry recorded; kept by triggers (migration 0014)",
)

# rollups kept by triggers on sessions and certificates (migration 0020): what dashboards and analytics read
_SESSION_COVER = ["location_id", "provider_id", "course_id", "status", "sessions", "seats_taken", "enrollments"]
_SESSION_COVER += ["attended", "completed"]
_ISSUE_COVER = ["location_id", "provider_id", "course_id", "expiry_date", "certificates", "current"]
_KEPT = (
    "Kept by triggers on {} in the transaction that changes them (migration 0020); equal to a recount at every commit"
)
t_session_rollups = Table(
    "session_rollups",
    metadata,
    Column("location_id", Uuid, nullable=False),
    Column("provider_id", Uuid),
    Column("course_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("status", Text, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in ("sessions", "seats_taken", "seats_offered", "waitlisted")),
    *(Column(name, BigInteger, nullable=False) for name in ("enrollments", "attended", "completed")),
    Column("utilisation", BigInteger, nullable=False),
    UniqueConstraint(
        "location_id", "provider_id", "course_id", "day", "status",
        name="session_rollups_key", postgresql_nulls_not_distinct=True,
    ),
    Index("session_rollups_day_idx", "day", postgresql_include=[*_SESSION_COVER, "utilisation"]),
    Index("session_rollups_provider_idx", "provider_id", "day", postgresql_include=_SESSION_COVER),
    comment=_KEPT.format("training_sessions"),
)  # fmt: skip
t_certificate_rollups = Table(
    "certificate_rollups",
    metadata,
    Column("location_id", Uuid, nullable=False),
    Column("provider_id", Uuid),
    Column("course_id", Uuid, nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("expiry_date", Date, nullable=False),
    Column("certificates", BigInteger, nullable=False),
    Column("current", BigInteger, nullable=False),
    Column("recorded", BigInteger, nullable=False),
    UniqueConstraint(
        "location_id", "provider_id", "course_id", "issue_date", "expiry_date",
        name="certificate_rollups_key", postgresql_nulls_not_distinct=True,
    ),
    Index("certificate_rollups_issue_idx", "issue_date", postgresql_include=_ISSUE_COVER),
    Index("certificate_rollups_provider_idx", "provider_id", "issue_date", postgresql_include=_ISSUE_COVER),
    Index(
        "certificate_rollups_expiry_idx", "expiry_date",
        postgresql_include=["location_id", "provider_id", "current"], postgresql_where=text("current > 0"),
    ),
    Index(
        "certificate_rollups_unrecorded_idx", "expiry_date",
        postgresql_include=["location_id", "provider_id", "current", "recorded"],
        postgresql_where=text("current > recorded"),
    ),
    Index(
        "certificate_rollups_recorded_idx", "expiry_date",
        postgresql_include=["location_id", "provider_id", "recorded"], postgresql_where=text("recorded > 0"),
    ),
    comment=_KEPT.format("certificates"),
)  # fmt: skip
t_dashboard_counts = Table(
    "dashboard_counts",
    metadata,
    Column("kind", Text, nullable=False),
    Column("location_id", Uuid),
    Column("provider_id", Uuid),
    Column("slot", BigInteger, nullable=False),
    *(Column(n, BigInteger, nullable=False) for n in ("upcoming", "in_progress", "seats_taken", "seats_offered")),
    *(Column(n, BigInteger, nullable=False) for n in ("waitlisted", "assessed", "score", "teams", "team_members")),
    CheckConstraint(
        "kind = ANY (ARRAY['sessions'::text, 'compliance'::text, 'teams'::text])", name="dashboard_counts_kind_check"
    ),
    UniqueConstraint(
        "kind", "location_id", "provider_id", "slot", name="dashboard_counts_key", postgresql_nulls_not_distinct=True
    ),
    comment="Kept by triggers on training_sessions, profiles, teams and team_members in the transaction that changes"
    " them (migration 0022); equal to a recount at every commit",
)

t_idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("status", SmallInteger),
    Column("media_type", Text),
    Column("body", LargeBinary),
    Column("created_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("locked_until", DateTime(True), nullable=False),
    Column("expires_at", DateTime(True), nullable=False),
    CheckConstraint("length(key) >= 1 AND length(key) <= 255", name="idempotency_keys_key_length"),
    CheckConstraint("state = ANY (ARRAY['running'::text, 'done'::text])", name="idempotency_keys_state"),
    CheckConstraint("(state = 'done'::text) = (status IS NOT NULL AND body IS NOT NULL)", name="idempotency_keys_done"),
    Index("idempotency_keys_expiry_idx", "expires_at"),
    comment="Responses stored for the HTTP API's Idempotency-Key header, per user; expire (migration 0017)",
)

t_legacy_codes = Table(
    "legacy_codes",
    metadata,
    Column("code", Text, primary_key=True),
    Column("certificate_id", Uuid, primary_key=True),
    ForeignKeyConstraint(["certificate_id"], ["certificates.id"], name="legacy_codes_certificate_id_fkey"),
    CheckConstraint("code ~ '^[A-Z0-9]{4,32}$'::text", name="legacy_codes_code_check"),
    Index("legacy_codes_certificate_idx", "certificate_id"),
    comment="The replaced system's verification codes of imported certificates; a code held twice verifies neither (migration 0019)",
)

t_import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("source", Text, nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("started_at", DateTime(True), nullable=False, server_default=text("now()")),
    Column("finished_at", DateTime(True)),
    Column("report", JSONB),
    comment="Each arccm import legacy run and its report (migration 0019)",
)

t_import_records = Table(
    "import_records",
    metadata,
    Column("source_table", Text, primary_key=True),
    Column("source_id", Text, primary_key=True),
    Column("target_table", Text, nullable=False),
    Column("target_id", Uuid, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("run_id", Uuid, nullable=False),
    ForeignKeyConstraint(["run_id"], ["import_runs.id"], name="import_records_run_id_fkey"),
    CheckConstraint("outcome = ANY (ARRAY['imported'::text, 'merged'::text])", name="import_records_outcome_check"),
    Index("import_records_target_idx", "target_table", "target_id"),
    comment="Which source row became or was merged into which arccm row (migration 0019)",
)

t_import_quarantine = Table(
    "import_quarantine",
    metadata,
    Column("source_table", Text, primary_key=True),
    Column("source_id", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("raw", JSONB, nullable=False),
    Column("run_id", Uuid, nullable=False),
    ForeignKeyConstraint(["run_id"], ["import_runs.id"], name="import_quarantine_run_id_fkey"),
    CheckConstraint("reason ~ '^[a-z_]+$'::text", name="import_quarantine_reason_check"),
    comment="Source rows that could not be imported, with reason and raw row (migration 0019)",
)

t_session_enrollments = Table(
    "session_enrollments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", Uuid, nullable=False),
    Column("learner_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("waitlist_position", Integer),
    Column("attendance_status", Text, nullable=False, server_default=text("'registered'::text")),
    Column("completion_status", Text, nullable=False, server_default=text("'not_started'::text")),
    Column("practical_score", Numeric(5, 2)),
    Column("written_score", Numeric(5, 2)),
    Column("completion_reason", Text),
    Column("enrolled_at", DateTime(True), nullable=False),
    Column("enrolled_by", Uuid),
    Column("completed_at", DateTime(True)),
    Column("cancelled_at", DateTime(True)),
    Column("session_location_id", Uuid, nullable=False),
    Column("session_provider_id", Uuid),
    CheckConstraint("(status = 'cancelled'::text) = (cancelled_at IS NOT NULL)", name="cancelled_at_iff_cancelled"),
    CheckConstraint(
        "(status = 'waitlisted'::text) = (waitlist_position IS NOT NULL)", name="waitlist_position_iff_waitlisted"
    ),
    CheckConstraint(
        "attendance_status = ANY (ARRAY['registered'::text, 'attended'::text, 'partial'::text, 'absent'::text])",
        name="session_enrollments_attendance_status_check",
    ),
    CheckConstraint(
        "completion_status = ANY (ARRAY['not_started'::text, 'in_progress'::text, 'completed'::text, 'failed'::text])",
        name="session_enrollments_completion_status_check",
    ),
    CheckConstraint(
        "practical_score >= 0::numeric AND practical_score <= 100::numeric",
        name="session_enrollments_practical_score_check",
    ),
    CheckConstraint(
        "status = ANY (ARRAY['enrolled'::text, 'waitlisted'::text, 'cancelled'::text])",
        name="session_enrollments_status_check",
    ),
    CheckConstraint("waitlist_position >= 1", name="session_enrollments_waitlist_position_check"),
    CheckConstraint(
        "written_score >= 0::numeric AND written_score <= 100::numeric", name="session_enrollments_written_score_check"
    ),
    ForeignKeyConstraint(["enrolled_by"], ["profiles.id"], name="session_enrollments_enrolled_by_fkey"),
    ForeignKeyConstraint(["learner_id"], ["profiles.id"], name="session_enrollments_learner_id_fkey"),
    ForeignKeyConstraint(["session_id"], ["training_sessions.id"], name="session_enrollments_session_id_fkey"),
    PrimaryKeyConstraint("id", name="session_enrollments_pkey"),
    Index("enrollments_enrolled_by_idx", "enrolled_by"),
    Index("enrollments_learner_completion_idx", "learner_id", "completion_status"),
    Index("enrollments_session_idx", "session_id", "enrolled_at"),
    Index(
        "one_active_enrollment",
        "session_id",
        "learner_id",
        postgresql_where="(status <> 'cancelled'::text)",
        unique=True,
    ),
)

t_student_roster_members = Table(
    "student_roster_members",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("roster_id", Uuid, nullable=False),
    Column("student_profile_id", Uuid, nullable=False),
    Column("enrolled_at", DateTime(True), nullable=False),
    Column("attendance_status", Text, nullable=False, server_default=text("'registered'::text")),
    Column("practical_score", Numeric(5, 2)),
    Column("written_score", Numeric(5, 2)),
    Column("completion_status", Text, nullable=False, server_default=text("'not_started'::text")),
    Column("completion_reason", Text),
    Column("completion_date", DateTime(True)),
    CheckConstraint(
        "attendance_status = ANY (ARRAY['registered'::text, 'attended'::text, 'partial'::text, 'absent'::text])",
        name="student_roster_members_attendance_status_check",
    ),
    CheckConstraint(
        "completion_status = ANY (ARRAY['not_started'::text, 'in_progress'::text, 'completed'::text, 'failed'::text])",
        name="student_roster_members_completion_status_check",
    ),
    CheckConstraint(
        "practical_score >= 0::numeric AND practical_score <= 100::numeric",
        name="student_roster_members_practical_score_check",
    ),
    CheckConstraint(
        "written_score >= 0::numeric AND written_score <= 100::numeric",
        name="student_roster_members_written_score_check",
    ),
    ForeignKeyConstraint(["roster_id"], ["student_rosters.id"], name="student_roster_members_roster_id_fkey"),
    ForeignKeyConstraint(
        ["student_profile_id"],
        ["student_enrollment_profiles.id"],
        name="student_roster_members_student_profile_id_fkey",
    ),
    PrimaryKeyConstraint("id", name="student_roster_members_pkey"),
    UniqueConstraint("roster_id", "student_profile_id", name="student_roster_members_roster_id_student_profile_id_key"),
    Index("roster_members_student_idx", "student_profile_id"),
)
