"""Row-level security on every table, the acting user from one helper, and an append-only audit trail.

* ``arccm_uid()``, ``arccm_role()``, ``arccm_provider()``, ``arccm_locations()``: the acting user, read from the
  transaction's ``arccm.user_id`` (the runtime role) or from the ``sub`` of ``request.jwt.claims`` (Supabase's
  ``authenticated``), and only while that user is active and belongs to no provider or an active one — so no
  context, an unknown user, an inactive user or a suspended provider all mean no rows (fail closed).  Policies call
  them as ``(SELECT …)`` so each runs once per statement (an InitPlan).  They are ``SECURITY DEFINER`` (they read
  ``profiles`` without its own policy: no recursion) with a pinned ``search_path``.
* Policies per table and command mirror ``domain/access.py`` (docs/access.md): ``FOR SELECT`` is the read scope;
  ``INSERT``/``UPDATE``/``DELETE`` the write rules.  The owner (migrations, system jobs) has one policy of its own.
* Where a permitted command must consult rows outside the actor's read scope (an instructor's other sessions when
  scheduling, the holder's current certificate when issuing, whether a code is taken), it calls one of a few
  ``SECURITY DEFINER`` functions that check the actor's role and return only what that rule needs.
* ``audit_log`` is rebuilt: one row per changed row of every business table, written by a ``SECURITY DEFINER``
  trigger, with the acting user from the transaction (not the database role), the operation, the table, the row's
  key, the changed fields' old and new values, the transaction id and the time; refused attempts are written by
  ``arccm_record_refusal``.  The runtime role may not write, change or delete it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"

ADMIN = "(SELECT arccm_role()) IN ('SA','AD')"
IS_AP = "(SELECT arccm_role()) = 'AP'"
LEADS = "(SELECT arccm_role()) IN ('IC','IP')"
UID = "(SELECT arccm_uid())"
LOCS = "CAST((SELECT arccm_locations()) AS uuid[])"  # a cast: ANY over the array, not over a subquery
PROV = "(SELECT arccm_provider())"
SIGNED_IN = f"{UID} IS NOT NULL"


def ap(location: str, provider: str | None = None, creator: str | None = None) -> str:
    arms = [f"{location} = ANY({LOCS})"]
    if provider:
        arms.append(f"{provider} = {PROV}")
    if creator:
        arms.append(f"{creator} = {UID}")
    return f"({IS_AP} AND ({' OR '.join(arms)}))"


# Sets from the helpers are tested as ``x = ANY((SELECT helper()))``: an InitPlan, computed only when an earlier
# arm did not already decide the row, then searched per row — fine for an actor's sessions (hundreds), not for an
# instructor's certificates (tens of thousands: a dashboard took 11 s), which are tested by their own
# instructor_ids instead.  (A hashed ``IN (SELECT unnest(…))`` is built eagerly, and made an AP's calendar 40×
# slower by computing every person related to the AP for each statement.)
# sessions an instructor or learner takes part in; an AP's sessions are found by the session's own columns
SESSION_READ = (
    f"({ADMIN} OR {ap('location_id', 'provider_id', 'created_by')}"
    f" OR id = ANY(CAST((SELECT arccm_my_sessions()) AS uuid[])))"
)
SESSION_WRITE = f"({ADMIN} OR {ap('location_id')})"
SESSION_TEACH = f"({LEADS} AND id = ANY(CAST((SELECT arccm_taught_sessions()) AS uuid[])))"
# an enrollment is read like its session by an AP (or by who enrolled it), by the session's instructors, by its learner
ENROLLMENT_AP = (
    f"({IS_AP} AND (enrolled_by = {UID} OR EXISTS (SELECT 1 FROM training_sessions s WHERE s.id = session_id"
    f" AND (s.location_id = ANY({LOCS}) OR s.provider_id = {PROV}))))"
)
ENROLLMENT_READ = (
    f"({ADMIN} OR {ENROLLMENT_AP} OR learner_id = {UID}"
    f" OR ({LEADS} AND session_id = ANY(CAST((SELECT arccm_taught_sessions()) AS uuid[]))))"
)
ENROLLMENT_WRITE = (
    f"({ADMIN} OR ({IS_AP} AND EXISTS (SELECT 1 FROM training_sessions s WHERE s.id = session_id"
    f" AND s.location_id = ANY({LOCS}))))"
)
ENROLLMENT_ASSESS = f"({LEADS} AND session_id = ANY(CAST((SELECT arccm_taught_sessions()) AS uuid[])))"
MINE_AS_HOLDER = f"(recipient_user_id = {UID} OR recipient_student_id = {UID})"
CERTIFICATE_READ = (
    f"({ADMIN} OR {ap('location_id', 'provider_id', 'issued_by')} OR {MINE_AS_HOLDER}"
    f" OR ({LEADS} AND instructor_ids @> ARRAY[{UID}]))"
)
CERTIFICATE_WRITE = (
    f"({ADMIN} OR {ap('location_id')} OR ((SELECT arccm_role()) = 'IC' AND instructor_ids @> ARRAY[{UID}]))"
)
PERSON_AP = f"({IS_AP} AND (location_id = ANY({LOCS}) OR provider_id = {PROV}))"
PROFILE_READ = f"({ADMIN} OR id = {UID} OR {PERSON_AP} OR id = ANY(CAST((SELECT arccm_related_people()) AS uuid[])))"
INSTRUCTOR_ROLES = "('IC','IP','IT','IN')"
PROFILE_WRITE = f"({ADMIN} OR ({IS_AP} AND provider_id = {PROV} AND role IN {INSTRUCTOR_ROLES}))"
# rows about one person (compliance, availability): the person, SA/AD, and the AP whose scope holds the person
ABOUT_PERSON = (
    f"({ADMIN} OR user_id = {UID} OR ({IS_AP} AND EXISTS (SELECT 1 FROM profiles p WHERE p.id = user_id"
    f" AND (p.location_id = ANY({LOCS}) OR p.provider_id = {PROV}))))"
)
MANAGES_PERSON = (
    f"({ADMIN} OR ({IS_AP} AND EXISTS (SELECT 1 FROM profiles p WHERE p.id = user_id"
    f" AND p.provider_id = {PROV} AND p.role IN {INSTRUCTOR_ROLES})))"
)
ROSTER_READ = f"({ADMIN} OR {ap('location_id', 'provider_id', 'created_by')} OR ({LEADS} AND instructor_id = {UID}))"
ROSTER_WRITE = f"({ADMIN} OR {ap('location_id')})"
STUDENT_READ = (
    f"({ADMIN} OR {ap('location_id')} OR id = {UID} OR id = ANY(CAST((SELECT arccm_roster_students()) AS uuid[])))"
)
TEAM_READ = f"({ADMIN} OR {ap('location_id', 'provider_id', 'created_by')})"
TEAM_MEMBERS_READ = "EXISTS (SELECT 1 FROM teams t WHERE t.id = team_id)"  # the team's own policy decides
TEAM_MEMBERS_WRITE = (
    f"({ADMIN} OR ({IS_AP} AND EXISTS (SELECT 1 FROM teams t WHERE t.id = team_id AND t.provider_id = {PROV})))"
)
BATCH_READ = f"({ADMIN} OR {ap('location_id', 'provider_id', 'created_by')} OR created_by = {UID})"
ADDRESSED = f"({ADMIN} OR user_id = {UID} OR student_id = {UID})"
CHANGE_READ = (
    f"({ADMIN} OR kind = 'reference' OR (kind = 'notification' AND subject_id = {UID})"
    f" OR ({IS_AP} AND kind <> 'notification' AND (location_id = ANY({LOCS}) OR provider_id = {PROV}"
    f" OR created_by = {UID}))"
    f" OR ({LEADS} AND ((({UID}) = ANY(instructor_ids) AND kind IN ('session','enrollment','certificate','roster'))"
    f" OR (kind = 'session' AND ({UID}) = ANY(learner_ids)) OR (subject_id = {UID} AND kind NOT IN ('team','notification'))))"
    f" OR ((SELECT arccm_role()) IN ('IT','IN') AND ((kind = 'session' AND (({UID}) = ANY(learner_ids)"
    f" OR ({UID}) = ANY(instructor_ids))) OR (subject_id = {UID} AND kind NOT IN ('roster','team','notification')))))"
)
AP_OWN_PROVIDER = f"({ADMIN} OR ({IS_AP} AND provider_id = {PROV}))"

# table -> {command: (USING, WITH CHECK)}; a command missing here is refused (no policy: default deny)
POLICIES: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "locations": {"SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN)},
    "authorized_providers": {"SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN)},
    "provider_locations": {
        "SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN), "DELETE": (ADMIN, None),
    },
    "course_templates": {"SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN)},
    "compliance_metrics": {"SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN)},
    "compliance_templates": {"SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN)},
    "certificate_templates": {"SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN)},
    "location_templates": {
        "SELECT": (SIGNED_IN, None), "INSERT": (None, f"({ADMIN} OR {ap('location_id')})"),
        "UPDATE": (f"({ADMIN} OR {ap('location_id')})", f"({ADMIN} OR {ap('location_id')})"),
    },
    "course_schedules": {"SELECT": (SIGNED_IN, None), "INSERT": (None, ADMIN), "UPDATE": (ADMIN, ADMIN)},
    "location_email_templates": {
        "SELECT": (f"({ADMIN} OR {ap('location_id')})", None),
        "INSERT": (None, f"({ADMIN} OR {ap('location_id')})"),
        "UPDATE": (f"({ADMIN} OR {ap('location_id')})", f"({ADMIN} OR {ap('location_id')})"),
    },
    "profiles": {"SELECT": (PROFILE_READ, None), "INSERT": (None, PROFILE_WRITE), "UPDATE": (PROFILE_WRITE, PROFILE_WRITE)},
    "instructor_profiles": {
        "SELECT": (f"({ADMIN} OR id = {UID} OR EXISTS (SELECT 1 FROM profiles p WHERE p.id = instructor_profiles.id))", None),
        "INSERT": (None, f"({ADMIN} OR EXISTS (SELECT 1 FROM profiles p WHERE p.id = instructor_profiles.id AND p.provider_id = {PROV} AND {IS_AP}))"),
        "UPDATE": (
            f"({ADMIN} OR EXISTS (SELECT 1 FROM profiles p WHERE p.id = instructor_profiles.id AND p.provider_id = {PROV} AND {IS_AP}))",
            f"({ADMIN} OR EXISTS (SELECT 1 FROM profiles p WHERE p.id = instructor_profiles.id AND p.provider_id = {PROV} AND {IS_AP}))",
        ),
    },
    "student_enrollment_profiles": {
        "SELECT": (STUDENT_READ, None),
        "INSERT": (None, f"({ADMIN} OR {ap('location_id')})"),
        "UPDATE": (f"({ADMIN} OR {ap('location_id')})", f"({ADMIN} OR {ap('location_id')})"),
    },
    "training_sessions": {
        "SELECT": (SESSION_READ, None),
        "INSERT": (None, SESSION_WRITE),
        "UPDATE": (f"({SESSION_WRITE} OR {SESSION_TEACH})", f"({SESSION_WRITE} OR {SESSION_TEACH})"),
    },
    "session_enrollments": {
        "SELECT": (ENROLLMENT_READ, None),
        "INSERT": (None, ENROLLMENT_WRITE),
        "UPDATE": (f"({ENROLLMENT_WRITE} OR {ENROLLMENT_ASSESS})", f"({ENROLLMENT_WRITE} OR {ENROLLMENT_ASSESS})"),
    },
    "student_rosters": {
        "SELECT": (ROSTER_READ, None),
        "INSERT": (None, ROSTER_WRITE),
        "UPDATE": (f"({ROSTER_WRITE} OR ({LEADS} AND instructor_id = {UID}))", f"({ROSTER_WRITE} OR ({LEADS} AND instructor_id = {UID}))"),
    },
    "student_roster_members": {
        "SELECT": ("EXISTS (SELECT 1 FROM student_rosters r WHERE r.id = roster_id)", None),
        "INSERT": (None, f"EXISTS (SELECT 1 FROM student_rosters r WHERE r.id = roster_id AND ({ADMIN} OR ({IS_AP} AND r.location_id = ANY({LOCS}))))"),
        "UPDATE": (
            f"EXISTS (SELECT 1 FROM student_rosters r WHERE r.id = roster_id AND ({ADMIN} OR ({IS_AP} AND r.location_id = ANY({LOCS})) OR r.instructor_id = {UID}))",
            f"EXISTS (SELECT 1 FROM student_rosters r WHERE r.id = roster_id AND ({ADMIN} OR ({IS_AP} AND r.location_id = ANY({LOCS})) OR r.instructor_id = {UID}))",
        ),
    },
    "rosters": {
        "SELECT": (BATCH_READ, None),
        "INSERT": (None, f"({SIGNED_IN} AND created_by = {UID} AND (SELECT arccm_role()) IN ('SA','AD','AP','IC'))"),
        "UPDATE": (BATCH_READ, BATCH_READ),
    },
    "certificates": {
        "SELECT": (CERTIFICATE_READ, None),
        "INSERT": (None, f"({CERTIFICATE_WRITE} AND issued_by = {UID})"),
        "UPDATE": (f"({ADMIN} OR {ap('location_id', 'provider_id', 'issued_by')} OR ((SELECT arccm_role()) = 'IC' AND instructor_ids @> ARRAY[{UID}]))", CERTIFICATE_READ),
    },
    "teams": {"SELECT": (TEAM_READ, None), "INSERT": (None, ADMIN), "UPDATE": (AP_OWN_PROVIDER, AP_OWN_PROVIDER)},
    "team_members": {
        "SELECT": (TEAM_MEMBERS_READ, None),
        "INSERT": (None, TEAM_MEMBERS_WRITE),
        "UPDATE": (TEAM_MEMBERS_WRITE, TEAM_MEMBERS_WRITE),
        "DELETE": (TEAM_MEMBERS_WRITE, None),
    },
    "user_compliance_records": {"SELECT": (ABOUT_PERSON, None), "INSERT": (None, MANAGES_PERSON)},
    "availability_bookings": {
        "SELECT": (ABOUT_PERSON, None),
        "INSERT": (None, f"(user_id = {UID} OR {MANAGES_PERSON})"),
        "UPDATE": (f"(user_id = {UID} OR {MANAGES_PERSON})", f"(user_id = {UID} OR {MANAGES_PERSON})"),
    },
    "course_enrollments": {
        "SELECT": (f"({ADMIN} OR user_id = {UID})", None),
        "INSERT": (None, ADMIN),
        "UPDATE": (ADMIN, ADMIN),
    },
    # commands queue notices to other people (a learner's confirmation); only they and SA/AD read them
    "notifications": {"SELECT": (ADDRESSED, None), "INSERT": (None, SIGNED_IN), "UPDATE": (ADDRESSED, ADDRESSED)},
    "email_batch_operations": {
        "SELECT": (f"({ADMIN} OR user_id = {UID})", None),
        "INSERT": (None, ADMIN),
        "UPDATE": (ADMIN, ADMIN),
    },
    "audit_log": {"SELECT": (ADMIN, None)},
    "change_log": {"SELECT": (CHANGE_READ, None), "INSERT": (None, f"({SIGNED_IN} AND actor_id = {UID})")},
    "change_log_watermark": {"SELECT": (SIGNED_IN, None)},
}  # fmt: skip

AUDITED = [table for table in POLICIES if table not in {"audit_log", "change_log", "change_log_watermark"}]
# the key of a row in the trail: its id, or the pair that is its primary key
ROW_KEYS = {"provider_locations": "provider_id,location_id", "team_members": "team_id,user_id"}


def _schema() -> str:
    config = op.get_context().config
    return str(config.attributes.get("schema", "public")) if config is not None else "public"


def _app_role() -> str:
    config = op.get_context().config
    return str(config.attributes.get("app_role", "arccm_app")) if config is not None else "arccm_app"


def helpers(schema: str, app_role: str) -> str:
    path = f'SET search_path = "{schema}", pg_catalog'
    return f"""
-- who is asking: the runtime role says so in arccm.user_id; Supabase's authenticated/anon in the JWT's sub
CREATE FUNCTION arccm_claimed_user() RETURNS uuid LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    IF current_setting('role') IN ('authenticated', 'anon') THEN
        RETURN nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid;
    END IF;
    IF session_user = '{app_role}' OR current_setting('role') = '{app_role}' THEN
        RETURN nullif(current_setting('arccm.user_id', true), '')::uuid;
    END IF;
    RETURN NULL;
END $$;

-- the acting user while allowed to act: an active profile, under no provider or an active one (PL/pgSQL, like
-- the three below: planned once per session, not at every call)
CREATE FUNCTION arccm_uid() RETURNS uuid LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    RETURN (SELECT p.id FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id
            WHERE p.id = arccm_claimed_user() AND p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active'));
END $$;
CREATE FUNCTION arccm_role() RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    RETURN (SELECT role FROM profiles WHERE id = arccm_uid());
END $$;
CREATE FUNCTION arccm_provider() RETURNS uuid LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    RETURN (SELECT provider_id FROM profiles WHERE id = arccm_uid());
END $$;
-- the locations of the actor's provider (policies use them for an AP only: it acts at them)
CREATE FUNCTION arccm_locations() RETURNS uuid[] LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    RETURN COALESCE((SELECT array_agg(l.location_id ORDER BY l.location_id) FROM profiles p
                     JOIN provider_locations l ON l.provider_id = p.provider_id
                     WHERE p.id = arccm_uid()), '{{}}');
END $$;
-- sessions the actor leads or assists
CREATE FUNCTION arccm_taught_sessions() RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE(array_agg(id), '{{}}') FROM (
        SELECT id FROM training_sessions WHERE lead_instructor_id = arccm_uid()
        UNION SELECT id FROM training_sessions WHERE assistant_ids @> ARRAY[arccm_uid()]
    ) s
$$;
-- certificates the actor issued as an instructor of their session (lead or assistant)
CREATE FUNCTION arccm_taught_certificates() RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE(array_agg(id), '{{}}') FROM certificates WHERE instructor_ids @> ARRAY[arccm_uid()]
$$;
-- sessions the actor takes part in: leads, assists, or is actively enrolled in
CREATE FUNCTION arccm_my_sessions() RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE(array_agg(id), '{{}}') FROM (
        SELECT id FROM training_sessions WHERE lead_instructor_id = arccm_uid()
        UNION SELECT id FROM training_sessions WHERE assistant_ids @> ARRAY[arccm_uid()]
        UNION SELECT session_id FROM session_enrollments WHERE learner_id = arccm_uid() AND status <> 'cancelled'
    ) s
$$;
-- people whose names the actor sees through the sessions it may read: an AP and the sessions' instructors see
-- staff and learners; a learner or trainee sees only the staff of its sessions
CREATE FUNCTION arccm_related_people() RETURNS uuid[] LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    me uuid := arccm_uid();
    my_role text := arccm_role();
    locs uuid[] := CASE WHEN arccm_role() = 'AP' THEN arccm_locations() ELSE '{{}}' END;
    mine uuid[];
    taught uuid[];
BEGIN
    IF me IS NULL THEN
        RETURN '{{}}';
    END IF;
    IF my_role = 'AP' THEN
        SELECT array_agg(id) INTO mine FROM training_sessions s
        WHERE s.location_id = ANY(locs) OR s.provider_id = arccm_provider() OR s.created_by = me;
        taught := mine;
    ELSE
        mine := arccm_my_sessions();
        taught := CASE WHEN my_role IN ('IC', 'IP') THEN arccm_taught_sessions() ELSE '{{}}' END;
    END IF;
    RETURN COALESCE((
        SELECT array_agg(DISTINCT person) FROM (
            SELECT lead_instructor_id AS person FROM training_sessions WHERE id = ANY(mine)
            UNION ALL SELECT unnest(assistant_ids) FROM training_sessions WHERE id = ANY(mine)
            UNION ALL SELECT learner_id FROM session_enrollments WHERE session_id = ANY(taught)
            UNION ALL SELECT instructor_id FROM student_rosters WHERE id IN (
                SELECT id FROM student_rosters WHERE location_id = ANY(locs) OR instructor_id = me)
        ) people
    ), '{{}}');
END $$;
-- external learners on the rosters the actor instructs
CREATE FUNCTION arccm_roster_students() RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE(array_agg(DISTINCT m.student_profile_id), '{{}}') FROM student_rosters r
    JOIN student_roster_members m ON m.roster_id = r.id
    WHERE r.instructor_id = arccm_uid() OR (arccm_role() = 'AP' AND r.location_id = ANY(arccm_locations()))
$$;

-- consults: rows a permitted command must look at outside the actor's read scope, only what the rule needs
CREATE FUNCTION arccm_may_schedule() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE(arccm_role() IN ('SA', 'AD', 'AP'), false)
$$;
CREATE FUNCTION arccm_may_issue() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT COALESCE(arccm_role() IN ('SA', 'AD', 'AP', 'IC'), false)
$$;
-- staffing a session: the staff's profiles, qualifications, sessions in the window and bookings
CREATE FUNCTION arccm_staff_profiles(people uuid[]) RETURNS SETOF profiles
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT * FROM profiles WHERE id = ANY(people) AND role IN {INSTRUCTOR_ROLES} AND arccm_may_schedule()
$$;
CREATE FUNCTION arccm_staff_qualifications(people uuid[]) RETURNS SETOF instructor_profiles
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT * FROM instructor_profiles WHERE id = ANY(people) AND arccm_may_schedule()
$$;
-- the staff's rows are held first, in id order, so two schedulers cannot deadlock or double-book them
CREATE FUNCTION arccm_staff_sessions(people uuid[], starts timestamptz, ends timestamptz) RETURNS SETOF training_sessions
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {path} AS $$
BEGIN
    IF NOT arccm_may_schedule() THEN
        RETURN;
    END IF;
    PERFORM 1 FROM instructor_profiles WHERE id = ANY(people) ORDER BY id FOR NO KEY UPDATE;
    RETURN QUERY SELECT * FROM training_sessions
        WHERE (lead_instructor_id = ANY(people) OR assistant_ids && people) AND starts_at < ends AND ends_at > starts
          AND status <> 'cancelled' ORDER BY id;
END $$;
CREATE FUNCTION arccm_staff_bookings(people uuid[], starts timestamptz, ends timestamptz)
RETURNS SETOF availability_bookings LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT * FROM availability_bookings
    WHERE user_id = ANY(people) AND starts_at < ends AND ends_at > starts AND arccm_may_schedule()
$$;
-- issuing: the holders' current certificates for these courses (to supersede), held against a concurrent issue
CREATE FUNCTION arccm_current_certificates(people uuid[], courses uuid[]) RETURNS SETOF certificates
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {path} AS $$
BEGIN
    IF NOT arccm_may_issue() THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM certificates
        WHERE (recipient_user_id = ANY(people) OR recipient_student_id = ANY(people)) AND course_id = ANY(courses)
          AND revoked_at IS NULL AND superseded_by_id IS NULL ORDER BY id FOR NO KEY UPDATE;
END $$;
-- issuing: the holder's current certificate becomes superseded by the new one (which this transaction writes)
CREATE FUNCTION arccm_supersede(certificate uuid, successor uuid, at_version integer, new_version integer)
RETURNS boolean LANGUAGE plpgsql VOLATILE SECURITY DEFINER {path} AS $$
BEGIN
    IF NOT arccm_may_issue() THEN
        RETURN false;
    END IF;
    UPDATE certificates SET superseded_by_id = successor, version = new_version, updated_at = now()
        WHERE id = certificate AND version = at_version AND revoked_at IS NULL AND superseded_by_id IS NULL;
    RETURN FOUND;
END $$;
-- a command on a row the actor may not see: whether it exists, so the refusal says "forbidden", not "no such row"
CREATE FUNCTION arccm_row_exists(tbl text, key uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    found boolean;
BEGIN
    IF arccm_uid() IS NULL OR tbl NOT IN ('training_sessions', 'certificates', 'profiles', 'student_rosters',
            'rosters', 'teams', 'notifications', 'student_enrollment_profiles', 'email_batch_operations') THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1)', tbl) INTO found USING key;
    RETURN found;
END $$;
-- queueing notices: which of these keys were queued already (by anyone: each notice is queued once)
CREATE FUNCTION arccm_notification_keys_in_use(keys text[]) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT dedupe_key FROM notifications WHERE dedupe_key = ANY(keys) AND arccm_uid() IS NOT NULL
$$;
-- public verification, for anyone (no actor, Supabase's anon): the public fields of one certificate, nothing else
CREATE FUNCTION arccm_verify(code text, today date) RETURNS TABLE (
    status text, recipient_name text, course_name text, issuer_name text, issue_date date, expiry_date date,
    revoked_at timestamptz
) LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT CASE WHEN c.revoked_at IS NOT NULL THEN 'revoked' WHEN c.superseded_by_id IS NOT NULL THEN 'superseded'
                WHEN c.expiry_date < today THEN 'expired' ELSE 'active' END,
           c.recipient_name, c.course_name, COALESCE(p.name, l.name), c.issue_date, c.expiry_date, c.revoked_at
    FROM certificates c JOIN locations l ON l.id = c.location_id
    LEFT JOIN authorized_providers p ON p.id = c.provider_id
    WHERE c.verification_code = code
$$;
-- issuing: which of these codes are taken (what public verification tells anyone anyway)
CREATE FUNCTION arccm_codes_in_use(codes text[]) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT verification_code FROM certificates WHERE verification_code = ANY(codes) AND arccm_uid() IS NOT NULL
$$;
-- adding external learners to a roster: SA, AD and AP find them by id wherever they were registered
CREATE FUNCTION arccm_students(ids uuid[]) RETURNS SETOF student_enrollment_profiles
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT * FROM student_enrollment_profiles WHERE id = ANY(ids) AND arccm_may_schedule()
$$;
"""


AUDIT = """
DROP TABLE audit_log;
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    actor_id uuid,  -- the acting user of the transaction; NULL: the system (the owner role, an import, upkeep)
    db_role text NOT NULL DEFAULT session_user,
    operation text NOT NULL CHECK (operation IN ('INSERT','UPDATE','DELETE','TRUNCATE','REFUSED')),
    table_name text,
    row_id text,
    old_values jsonb,  -- UPDATE: only the fields that changed
    new_values jsonb,
    action text,  -- REFUSED: what was attempted, and why it was refused
    reason text
);
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_at_idx ON audit_log USING brin (at);

-- one statement-level trigger per operation: the changed rows arrive as transition tables and are written to the
-- trail in one INSERT … SELECT per statement (a batch of a thousand certificates is one statement, not a thousand
-- trigger calls).  TG_ARGV[0] names the key columns (comma-separated); an UPDATE keeps only the changed fields.
CREATE FUNCTION arccm_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
DECLARE
    keys text[] := string_to_array(TG_ARGV[0], ',');
    actor uuid := arccm_claimed_user();
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor_id, operation, table_name, row_id, new_values)
        SELECT actor, 'INSERT', TG_TABLE_NAME, arccm_row_key(j, keys), j
        FROM (SELECT to_jsonb(n) AS j FROM new_rows n) x;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit_log (actor_id, operation, table_name, row_id, old_values)
        SELECT actor, 'DELETE', TG_TABLE_NAME, arccm_row_key(j, keys), j
        FROM (SELECT to_jsonb(o) AS j FROM old_rows o) x;
    ELSE
        INSERT INTO audit_log (actor_id, operation, table_name, row_id, old_values, new_values)
        SELECT actor, 'UPDATE', TG_TABLE_NAME, b.k, d.before, d.after
        FROM (SELECT arccm_row_key(to_jsonb(o), keys) AS k, to_jsonb(o) AS j FROM old_rows o) b
        JOIN (SELECT arccm_row_key(to_jsonb(n), keys) AS k, to_jsonb(n) AS j FROM new_rows n) a ON a.k = b.k
        CROSS JOIN LATERAL (
            SELECT jsonb_object_agg(e.key, e.value) AS before, jsonb_object_agg(e.key, a.j -> e.key) AS after
            FROM jsonb_each(b.j) e WHERE e.value IS DISTINCT FROM a.j -> e.key AND e.key <> 'updated_at'
        ) d
        WHERE d.before IS NOT NULL;  -- nothing but the timestamp moved: nothing to record
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION arccm_row_key(j jsonb, keys text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(j ->> k, ':' ORDER BY n) FROM unnest(keys) WITH ORDINALITY AS u(k, n)
$$;
CREATE FUNCTION arccm_audit_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
BEGIN
    INSERT INTO audit_log (actor_id, operation, table_name) VALUES (arccm_claimed_user(), 'TRUNCATE', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- a use case refused the actor (Forbidden): recorded in a transaction of its own, as the refusal is rolled back
CREATE FUNCTION arccm_record_refusal(attempted text, why text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER {path} AS $$
    INSERT INTO audit_log (actor_id, operation, action, reason)
    VALUES (arccm_claimed_user(), 'REFUSED', left(attempted, 200), left(why, 1000))
$$;
CREATE FUNCTION arccm_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION arccm_refuse_change();
"""


def _policy_sql(schema: str, owner_role: str) -> list[str]:
    out: list[str] = []
    for table, commands in POLICIES.items():
        out.append(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY')
        out.append(f'CREATE POLICY owner_all ON "{table}" TO "{owner_role}" USING (true) WITH CHECK (true)')
        for command, (using, check) in commands.items():
            clauses = (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else "")
            out.append(f'CREATE POLICY actor_{command.lower()} ON "{table}" FOR {command} TO PUBLIC{clauses}')
    out.append('ALTER TABLE "alembic_version" ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY')
    out.append(f'CREATE POLICY owner_all ON "alembic_version" TO "{owner_role}" USING (true) WITH CHECK (true)')
    return out


def upgrade() -> None:
    schema, app_role = _schema(), _app_role()
    path = f'SET search_path = "{schema}", pg_catalog'
    owner = op.get_bind().exec_driver_sql("SELECT current_user").scalar_one()
    op.execute(helpers(schema, app_role))
    op.execute(AUDIT.replace("{path}", path))
    for table in AUDITED:
        key = ROW_KEYS.get(table, "id")
        for operation, rows in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f'CREATE TRIGGER audit_{operation.lower()} AFTER {operation} ON "{table}" REFERENCING {rows}'
                f" FOR EACH STATEMENT EXECUTE FUNCTION arccm_audit('{key}')"
            )
        op.execute(
            f'CREATE TRIGGER audit_truncate AFTER TRUNCATE ON "{table}" FOR EACH STATEMENT'
            " EXECUTE FUNCTION arccm_audit_truncate()"
        )
    # counters follow every enrollment and member whoever writes them, and whatever rows the writer may read
    op.execute(
        f"ALTER FUNCTION arccm_enrollment_counters() SECURITY DEFINER {path};"
        f" ALTER FUNCTION arccm_roster_counter() SECURITY DEFINER {path}"
    )
    for statement in _policy_sql(schema, owner):
        op.execute(statement)
    op.execute(f'GRANT SELECT ON audit_log TO "{app_role}"')
    op.execute(f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_log FROM "{app_role}"')
    op.execute(f'REVOKE TRUNCATE ON ALL TABLES IN SCHEMA "{schema}" FROM "{app_role}"')
    # functions: not for everyone; the runtime role calls them (policies run them as the querying user)
    op.execute(f'REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "{schema}" FROM PUBLIC')
    op.execute(f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "{schema}" TO "{app_role}"')


FUNCTIONS = [
    "arccm_claimed_user()", "arccm_uid()", "arccm_role()", "arccm_provider()", "arccm_locations()",
    "arccm_taught_sessions()", "arccm_taught_certificates()", "arccm_my_sessions()", "arccm_related_people()", "arccm_roster_students()",
    "arccm_may_schedule()", "arccm_may_issue()", "arccm_staff_profiles(uuid[])", "arccm_staff_qualifications(uuid[])",
    "arccm_staff_sessions(uuid[], timestamptz, timestamptz)", "arccm_staff_bookings(uuid[], timestamptz, timestamptz)",
    "arccm_current_certificates(uuid[], uuid[])", "arccm_supersede(uuid, uuid, integer, integer)",
    "arccm_codes_in_use(text[])", "arccm_students(uuid[])", "arccm_row_exists(text, uuid)", "arccm_notification_keys_in_use(text[])", "arccm_verify(text, date)", "arccm_record_refusal(text, text)", "arccm_audit()", "arccm_row_key(jsonb, text[])", "arccm_audit_truncate()",
    "arccm_refuse_change()",
]  # fmt: skip


def downgrade() -> None:
    schema, app_role = _schema(), _app_role()
    for table, commands in POLICIES.items():
        for command in commands:
            op.execute(f'DROP POLICY actor_{command.lower()} ON "{table}"')
        op.execute(f'DROP POLICY owner_all ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY')
    op.execute('DROP POLICY owner_all ON "alembic_version"')
    op.execute('ALTER TABLE "alembic_version" NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY')
    for table in AUDITED:
        op.execute(
            f'DROP TRIGGER audit_insert ON "{table}"; DROP TRIGGER audit_update ON "{table}";'
            f' DROP TRIGGER audit_delete ON "{table}"; DROP TRIGGER audit_truncate ON "{table}"'
        )
    op.execute(
        "ALTER FUNCTION arccm_enrollment_counters() SECURITY INVOKER RESET search_path;"
        " ALTER FUNCTION arccm_roster_counter() SECURITY INVOKER RESET search_path"
    )
    op.execute("DROP TABLE audit_log")
    for function in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {function}")
    op.execute(
        """
        CREATE TABLE audit_log (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id uuid,
            action text NOT NULL,
            entity_type text NOT NULL,
            entity_id uuid,
            old_values jsonb,
            new_values jsonb,
            metadata jsonb NOT NULL DEFAULT '{}',
            at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id);
        CREATE TRIGGER audit_log_never_deleted BEFORE DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION arccm_refuse_delete();
        """
    )
    op.execute(f'GRANT SELECT, INSERT ON audit_log TO "{app_role}"')
    op.execute(f'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "{schema}" TO PUBLIC')
