"""Contact details only for those who may see them, and learner erasure.

* The runtime role (and Supabase's ``authenticated``) may no longer read ``email`` and ``phone`` of ``profiles`` and
  ``student_enrollment_profiles`` (column privileges: every other column stays readable under the row policies).
  ``arccm_email(person)`` and ``arccm_phone(person)`` return them to the person, SA, AD and an AP whose scope
  holds the person (its locations or provider, or a session or roster of its own the person is in), '' to anyone
  else; the system (the owner role) reads them as stored.
* A notice queued without an address (by someone who may not see it) gets its recipient's stored address from the
  database (``arccm_notice_address``, a ``BEFORE INSERT`` trigger), and is then pending for the e-mail sender.
* ``arccm_erase_person(person)``: name, contact and free text of a learner replaced, in their profile, their
  certificates (the holder shows as erased; the certificates still verify), their notices and completion notes,
  and in the audit trail's copies of those fields; who erased and when stays in the trail.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"

ERASED = "Erased learner"
PEOPLE = ("profiles", "student_enrollment_profiles")
CONTACT = ("email", "phone")


def _config(name: str, default: str) -> str:
    config = op.get_context().config
    return str(config.attributes.get(name, default)) if config is not None else default


def functions(schema: str, app_role: str) -> str:
    path = f'SET search_path = "{schema}", pg_catalog'
    return f"""
-- the owner (migrations, system jobs) rather than the runtime role or a Supabase client
CREATE FUNCTION arccm_is_system() RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    RETURN session_user <> '{app_role}' AND current_setting('role') NOT IN ('{app_role}', 'authenticated', 'anon');
END $$;
-- may the acting user see this person's contact details?  PL/pgSQL: it runs once per row read, and a PL/pgSQL
-- function keeps its plans for the session where an SQL one is planned again at every call
CREATE FUNCTION arccm_may_contact(person uuid) RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    me uuid;
    my_role text;
BEGIN
    IF arccm_is_system() THEN
        RETURN true;
    END IF;
    me := arccm_uid();
    IF me IS NULL THEN
        RETURN false;
    END IF;
    IF person = me THEN
        RETURN true;
    END IF;
    my_role := arccm_role();
    IF my_role IN ('SA', 'AD') THEN
        RETURN true;
    END IF;
    IF my_role <> 'AP' THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM profiles p WHERE p.id = person
                   AND (p.location_id = ANY(arccm_locations()) OR p.provider_id = arccm_provider()))
        OR EXISTS (SELECT 1 FROM student_enrollment_profiles s WHERE s.id = person
                   AND s.location_id = ANY(arccm_locations()))
        OR EXISTS (SELECT 1 FROM session_enrollments e JOIN training_sessions t ON t.id = e.session_id
                   WHERE e.learner_id = person AND e.status <> 'cancelled'
                     AND (t.location_id = ANY(arccm_locations()) OR t.provider_id = arccm_provider()))
        OR EXISTS (SELECT 1 FROM student_roster_members m JOIN student_rosters r ON r.id = m.roster_id
                   WHERE m.student_profile_id = person AND r.location_id = ANY(arccm_locations()));
END $$;
CREATE FUNCTION arccm_email(person uuid) RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    IF NOT arccm_may_contact(person) THEN
        RETURN '';
    END IF;
    RETURN COALESCE((SELECT email FROM profiles WHERE id = person),
                    (SELECT email FROM student_enrollment_profiles WHERE id = person));
END $$;
CREATE FUNCTION arccm_phone(person uuid) RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    IF NOT arccm_may_contact(person) THEN
        RETURN '';
    END IF;
    RETURN COALESCE((SELECT phone FROM profiles WHERE id = person),
                    (SELECT phone FROM student_enrollment_profiles WHERE id = person));
END $$;

-- a notice goes to its recipient's stored address, whoever queued it (and whatever they may see)
CREATE FUNCTION arccm_notice_address() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
BEGIN
    IF NEW.email <> '' THEN
        RETURN NEW;  -- queued by someone who could see the address
    END IF;
    NEW.email := COALESCE(
        (SELECT email FROM profiles WHERE id = NEW.user_id),
        (SELECT email FROM student_enrollment_profiles WHERE id = NEW.student_id),
        '');
    IF NEW.email_status = 'none' AND NEW.email <> '' THEN
        NEW.email_status := 'pending';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER notice_address BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION arccm_notice_address();

-- staffing and roster consults return contact details only to those who may see them
CREATE OR REPLACE FUNCTION arccm_staff_profiles(people uuid[]) RETURNS SETOF profiles
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT id, display_name, role, arccm_email(id), arccm_phone(id), provider_id, location_id, status,
           compliance_score, compliance_tier, compliance_status, created_at, updated_at
    FROM profiles WHERE id = ANY(people) AND role IN ('IC','IP','IT','IN') AND arccm_may_schedule()
$$;
CREATE OR REPLACE FUNCTION arccm_students(ids uuid[]) RETURNS SETOF student_enrollment_profiles
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT id, first_name, last_name, arccm_email(id), arccm_phone(id), location_id, external_student_id, is_active,
           created_at, updated_at
    FROM student_enrollment_profiles WHERE id = ANY(ids) AND arccm_may_schedule()
$$;

-- erasure (SA/AD): the person's name, contact and free text go, everywhere they were copied; the trail keeps
-- who erased whom and when (the rows this writes are audited like any other, after the scrub)
CREATE FUNCTION arccm_erase_person(person uuid, erased_name text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {path} AS $$
DECLARE
    pii text[] := ARRAY['display_name', 'email', 'phone', 'first_name', 'last_name', 'recipient_name', 'title',
                        'message', 'completion_reason', 'external_student_id', 'metadata'];
    k text;
BEGIN
    IF NOT (arccm_is_system() OR COALESCE(arccm_role() IN ('SA', 'AD'), false)) THEN
        RAISE EXCEPTION 'only SA and AD erase a person' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE profiles SET display_name = erased_name, email = '', phone = '', status = 'inactive', updated_at = now()
        WHERE id = person;
    UPDATE student_enrollment_profiles SET first_name = erased_name, last_name = '', email = '', phone = '',
        external_student_id = NULL, is_active = false, updated_at = now() WHERE id = person;
    UPDATE certificates SET recipient_name = erased_name, updated_at = now()
        WHERE recipient_user_id = person OR recipient_student_id = person;
    UPDATE notifications SET title = '(erased)', message = '(erased)', email = '', metadata = '{{}}',
        email_status = CASE WHEN email_status IN ('pending', 'failed') THEN 'none' ELSE email_status END,
        emailed_at = CASE WHEN email_status IN ('pending', 'failed') THEN NULL ELSE emailed_at END
        WHERE user_id = person OR student_id = person;
    UPDATE session_enrollments SET completion_reason = NULL WHERE learner_id = person AND completion_reason IS NOT NULL;
    UPDATE student_roster_members SET completion_reason = NULL
        WHERE student_profile_id = person AND completion_reason IS NOT NULL;
    -- then the trail's copies, the ones the updates above just wrote included (its append-only trigger lets this
    -- function, and nothing else, rewrite them); what stays is who erased whom, and when
    PERFORM set_config('arccm.erasing', person::text, true);
    FOREACH k IN ARRAY pii LOOP
        UPDATE audit_log a SET old_values = a.old_values - k, new_values = a.new_values - k
        WHERE (a.old_values ? k OR a.new_values ? k) AND (
            (a.table_name IN ('profiles', 'student_enrollment_profiles') AND a.row_id = person::text)
            OR (a.table_name = 'certificates' AND a.row_id IN (
                SELECT id::text FROM certificates WHERE recipient_user_id = person OR recipient_student_id = person))
            OR (a.table_name = 'notifications' AND a.row_id IN (
                SELECT id::text FROM notifications WHERE user_id = person OR student_id = person))
            OR (a.table_name = 'session_enrollments' AND a.row_id IN (
                SELECT id::text FROM session_enrollments WHERE learner_id = person))
            OR (a.table_name = 'student_roster_members' AND a.row_id IN (
                SELECT id::text FROM student_roster_members WHERE student_profile_id = person)));
    END LOOP;
    PERFORM set_config('arccm.erasing', '', true);
    INSERT INTO audit_log (actor_id, operation, table_name, row_id, action)
    VALUES (arccm_claimed_user(), 'ERASED', 'profiles', person::text, 'erase a person');
END $$;

CREATE OR REPLACE FUNCTION arccm_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND COALESCE(current_setting('arccm.erasing', true), '') <> '' THEN
        RETURN NEW;  -- arccm_erase_person removing a person's fields from the trail
    END IF;
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def _column_grants(schema: str, grantee: str) -> str:
    """Every column of the people tables but their contact details, to ``grantee`` (when the role exists)."""
    tables = ", ".join(f"'{t}'" for t in PEOPLE)
    hidden = ", ".join(f"'{c}'" for c in CONTACT)
    return f"""
    DO $$
    DECLARE
        t text;
        cols text;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{grantee}') THEN
            RETURN;
        END IF;
        FOREACH t IN ARRAY ARRAY[{tables}] LOOP
            SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
            FROM information_schema.columns
            WHERE table_schema = '{schema}' AND table_name = t AND column_name NOT IN ({hidden});
            EXECUTE format('REVOKE SELECT ON %I.%I FROM %I', '{schema}', t, '{grantee}');
            EXECUTE format('GRANT SELECT (%s) ON %I.%I TO %I', cols, '{schema}', t, '{grantee}');
        END LOOP;
    END $$"""


FUNCTIONS = [
    "arccm_erase_person(uuid, text)", "arccm_phone(uuid)", "arccm_email(uuid)", "arccm_may_contact(uuid)",
    "arccm_is_system()",
]  # fmt: skip


def upgrade() -> None:
    schema, app_role = _config("schema", "public"), _config("app_role", "arccm_app")
    op.execute(
        "ALTER TABLE audit_log DROP CONSTRAINT audit_log_operation_check, ADD CONSTRAINT audit_log_operation_check"
        " CHECK (operation IN ('INSERT','UPDATE','DELETE','TRUNCATE','REFUSED','ERASED'))"
    )
    op.execute(functions(schema, app_role))
    op.execute(_column_grants(schema, app_role))
    op.execute(f'REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "{schema}" FROM PUBLIC')
    op.execute(f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "{schema}" TO "{app_role}"')


def downgrade() -> None:
    schema, app_role = _config("schema", "public"), _config("app_role", "arccm_app")
    path = f'SET search_path = "{schema}", pg_catalog'
    for table in PEOPLE:
        op.execute(f'GRANT SELECT ON "{table}" TO "{app_role}"')
    op.execute("DROP TRIGGER notice_address ON notifications; DROP FUNCTION arccm_notice_address()")
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION arccm_staff_profiles(people uuid[]) RETURNS SETOF profiles
        LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
            SELECT * FROM profiles WHERE id = ANY(people) AND role IN ('IC','IP','IT','IN') AND arccm_may_schedule()
        $$;
        CREATE OR REPLACE FUNCTION arccm_students(ids uuid[]) RETURNS SETOF student_enrollment_profiles
        LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
            SELECT * FROM student_enrollment_profiles WHERE id = ANY(ids) AND arccm_may_schedule()
        $$;
        CREATE OR REPLACE FUNCTION arccm_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$;
        """
    )
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.execute(  # the append-only trigger refuses the delete: off for this one statement
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;"
        " DELETE FROM audit_log WHERE operation = 'ERASED';"
        " ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;"
        " ALTER TABLE audit_log DROP CONSTRAINT audit_log_operation_check, ADD CONSTRAINT audit_log_operation_check"
        " CHECK (operation IN ('INSERT','UPDATE','DELETE','TRUNCATE','REFUSED'))"
    )
