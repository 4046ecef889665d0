"""What moving an organization off the replaced system needs (issue 14, docs/import.md).

* ``legacy_codes``: the replaced system's verification codes (10 characters ``[A-Z]{3}[0-9]{5}[A-Z]{2}`` or 8
  ``[A-Z0-9]{8}``, made with ``Math.random`` and never unique), each beside the imported certificate that held it.
  ``arccm_verify_legacy(code, today)`` answers for a code held by exactly one certificate — a code two certificates
  share verifies neither — with the same public fields as ``arccm_verify``; it is what a typed code that is not an
  arccm code is looked up in, as typed and upper-cased (Crockford normalization would turn a legacy ``O`` into
  ``0``, legacy_schema.md).
* ``import_records``: which source row became (or was merged into) which arccm row — what makes a second run import
  nothing and a run killed half-way finish without duplicates.
* ``import_quarantine``: a source row that could not be imported, with its reason and the raw row (never a
  password: the importer does not read ``public.users.password``), until a later run imports it.
* ``import_runs``: each run, dry or real, with its report.
* Certificates gain the completion kind ``legacy_import``: an imported certificate attests a completion the
  replaced system recorded (its id is the source certificate's), not a session enrollment or roster member of
  arccm's.

Forced row-level security like every table: administrators (SA, AD) read them, nobody writes them but the owner
(the importer runs as the owner, like migrations and the daily upkeep).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

from arccm.adapters.postgres.migrations import earlier
from arccm.adapters.postgres.roles import actor_role
from arccm.domain.access import Role

revision = "0019"
down_revision = "0018"

LEGACY_CODE = "^[A-Z0-9]{4,32}$"

TABLES = f"""
CREATE TABLE legacy_codes (
    code text NOT NULL CONSTRAINT legacy_codes_code_check CHECK (code ~ '{LEGACY_CODE}'),
    certificate_id uuid NOT NULL REFERENCES certificates (id),
    PRIMARY KEY (code, certificate_id)
);
CREATE INDEX legacy_codes_certificate_idx ON legacy_codes (certificate_id);
COMMENT ON TABLE legacy_codes IS
    'The replaced system''s verification codes of imported certificates; a code held twice verifies neither (migration 0019)';
CREATE TABLE import_runs (
    id uuid PRIMARY KEY,
    source text NOT NULL,
    dry_run boolean NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    report jsonb
);
COMMENT ON TABLE import_runs IS 'Each arccm import legacy run and its report (migration 0019)';
CREATE TABLE import_records (
    source_table text NOT NULL,
    source_id text NOT NULL,
    target_table text NOT NULL,
    target_id uuid NOT NULL,
    outcome text NOT NULL CONSTRAINT import_records_outcome_check CHECK (outcome IN ('imported', 'merged')),
    run_id uuid NOT NULL REFERENCES import_runs (id),
    PRIMARY KEY (source_table, source_id)
);
CREATE INDEX import_records_target_idx ON import_records (target_table, target_id);
COMMENT ON TABLE import_records IS 'Which source row became or was merged into which arccm row (migration 0019)';
CREATE TABLE import_quarantine (
    source_table text NOT NULL,
    source_id text NOT NULL,
    reason text NOT NULL CONSTRAINT import_quarantine_reason_check CHECK (reason ~ '^[a-z_]+$'),
    detail text NOT NULL,
    raw jsonb NOT NULL,
    run_id uuid NOT NULL REFERENCES import_runs (id),
    PRIMARY KEY (source_table, source_id)
);
COMMENT ON TABLE import_quarantine IS 'Source rows that could not be imported, with reason and raw row (migration 0019)';
ALTER TABLE certificates DROP CONSTRAINT completion_source;
ALTER TABLE certificates ADD CONSTRAINT completion_source CHECK (
    completion_kind = 'session_enrollment' AND session_id IS NOT NULL
    OR completion_kind = 'roster_member' AND roster_id IS NOT NULL
    OR completion_kind = 'legacy_import');
ALTER TABLE certificates DROP CONSTRAINT certificates_completion_kind_check;
ALTER TABLE certificates ADD CONSTRAINT certificates_completion_kind_check
    CHECK (completion_kind IN ('session_enrollment', 'roster_member', 'legacy_import'));
"""

VERIFY = """
CREATE FUNCTION arccm_verify_legacy(code text, today date) RETURNS TABLE (
    status text, recipient_name text, course_name text, issuer_name text, issue_date date, expiry_date date,
    revoked_at timestamptz
) LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = "{schema}", pg_catalog AS $$
BEGIN
    RETURN QUERY
    SELECT CASE WHEN c.revoked_at IS NOT NULL THEN 'revoked' WHEN c.superseded_by_id IS NOT NULL THEN 'superseded'
                WHEN c.expiry_date < today THEN 'expired' ELSE 'active' END,
           c.recipient_name, c.course_name, COALESCE(p.name, l.name), c.issue_date, c.expiry_date, c.revoked_at
    FROM (SELECT min(k.certificate_id::text)::uuid AS id FROM legacy_codes k WHERE k.code = upper(btrim(arccm_verify_legacy.code))
          HAVING count(*) = 1) one
    JOIN certificates c ON c.id = one.id JOIN locations l ON l.id = c.location_id
    LEFT JOIN authorized_providers p ON p.id = c.provider_id;
END $$;
REVOKE EXECUTE ON FUNCTION arccm_verify_legacy(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION arccm_verify_legacy(text, date) TO "{app_role}";
COMMENT ON FUNCTION arccm_verify_legacy(text, date) IS
    'The public fields of the one imported certificate that held a legacy code (migration 0019)';
"""

NEW = ("legacy_codes", "import_runs", "import_records", "import_quarantine")


def _policies(table: str, owner: str, app_role: str) -> list[str]:
    admins = "(SELECT arccm_role()) IN ('SA', 'AD')"
    out = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
        f'CREATE POLICY owner_all ON {table} TO "{owner}" USING (true) WITH CHECK (true)',
        f'CREATE POLICY actor_select ON {table} FOR SELECT TO "{app_role}" USING ({admins})',
    ]
    for role in (Role.SA, Role.AD):
        out.append(
            f"CREATE POLICY {role.value.lower()}_select ON {table} FOR SELECT"
            f" TO \"{actor_role(app_role, role.value)}\" USING (((SELECT arccm_acts_as('{role.value}')) AND true))"
        )
    out.append(f'GRANT SELECT ON {table} TO "{app_role}"')
    return out


def upgrade() -> None:
    config = earlier("0011_role_policies.py")
    app_role = config._config("app_role", "arccm_app")
    schema = config._config("schema", "public")
    owner = op.get_bind().exec_driver_sql("SELECT current_user").scalar_one()
    op.execute(TABLES)
    for table in NEW:
        for statement in _policies(table, owner, app_role):
            op.execute(statement)
    # the codes are business data: the audit trail records them like every other table's rows
    for operation, rows in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER audit_{operation.lower()} AFTER {operation} ON legacy_codes REFERENCING {rows}"
            " FOR EACH STATEMENT EXECUTE FUNCTION arccm_audit('code,certificate_id')"
        )
    op.execute(
        "CREATE TRIGGER audit_truncate AFTER TRUNCATE ON legacy_codes FOR EACH STATEMENT"
        " EXECUTE FUNCTION arccm_audit_truncate()"
    )
    op.execute(VERIFY.replace("{schema}", schema).replace("{app_role}", app_role))


def downgrade() -> None:
    op.execute("DROP FUNCTION arccm_verify_legacy(text, date)")
    op.execute("DROP TABLE import_quarantine, import_records, import_runs, legacy_codes")
    op.execute("""
ALTER TABLE certificates DROP CONSTRAINT completion_source;
ALTER TABLE certificates ADD CONSTRAINT completion_source CHECK (
    completion_kind = 'session_enrollment' AND session_id IS NOT NULL
    OR completion_kind = 'roster_member' AND roster_id IS NOT NULL);
ALTER TABLE certificates DROP CONSTRAINT certificates_completion_kind_check;
ALTER TABLE certificates ADD CONSTRAINT certificates_completion_kind_check
    CHECK (completion_kind = ANY (ARRAY['session_enrollment'::text, 'roster_member'::text]));
""")
