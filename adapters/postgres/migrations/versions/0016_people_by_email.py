"""Finding a person by e-mail without reading an address one may not see.

The runtime role has no ``SELECT`` privilege on the contact columns (migration 0010), so the directory cannot
match an e-mail itself.  ``arccm_with_email(address)`` returns the ids of the users and external learners whose
e-mail is ``address`` (trimmed, letter case ignored) *and* whose contact details the acting user may see
(``arccm_may_contact``): nobody learns which person an address belongs to unless they could read that address.
Two expression indexes answer it without scanning either table.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier

revision = "0016"
down_revision = "0015"

INDEXES = {
    "profiles_email_idx": "profiles",
    "student_profiles_email_idx": "student_enrollment_profiles",
}


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    schema, app_role = config._config("schema", "public"), config._config("app_role", "arccm_app")
    for index, table in INDEXES.items():
        op.execute(f"CREATE INDEX {index} ON {table} (lower(btrim(email))) WHERE email <> ''")
    op.execute(f"""
CREATE FUNCTION arccm_with_email(address text) RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = "{schema}", pg_catalog AS $$
    SELECT coalesce(array_agg(found.id), '{{}}') FROM (
        SELECT id FROM profiles WHERE lower(btrim(email)) = lower(btrim(address)) AND email <> ''
        UNION ALL
        SELECT id FROM student_enrollment_profiles WHERE lower(btrim(email)) = lower(btrim(address)) AND email <> ''
    ) found WHERE arccm_may_contact(found.id)
$$;
REVOKE EXECUTE ON FUNCTION arccm_with_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION arccm_with_email(text) TO "{app_role}";
COMMENT ON FUNCTION arccm_with_email(text) IS
    'Ids of the people with this e-mail whose contact details the acting user may see (migration 0016).';
""")


def downgrade() -> None:
    op.execute("DROP FUNCTION arccm_with_email(text)")
    for index in INDEXES:
        op.execute(f"DROP INDEX {index}")
