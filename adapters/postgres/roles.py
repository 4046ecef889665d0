"""The database roles an actor's transaction runs as, and the privileges they share with the runtime role.

Row-level security written once for every role (migration 0009) costs each statement a policy with an arm per role:
an administrator's count of 200,000 certificates evaluated six arms per row and could not use a covering index, as
the arms name columns the index lacks.  So each domain role has a database role of its own (``arccm_app_sa`` …),
``NOLOGIN``, that the runtime role switches to (``SET LOCAL ROLE``) at the start of an actor's transaction, and that
has only its own role's policies: the generic policies with the role put in, guarded by the database's own answer
to "is the actor that role?" (migration 0011).  The runtime role is ``NOINHERIT``: it may switch to these roles but
does not hold their policies, and a caller that switches to a role its actor does not have sees nothing.

The roles hold exactly the runtime role's privileges in arccm's schema (tables, columns, sequences, functions),
through one group role they inherit from, ``arccm_app_actor`` (no policy names it): ``copy_privileges`` gives the
group the runtime role's privileges, run by migration 0011 and again by every ``arccm db upgrade``, so a later
migration only grants to the runtime role.  (One copy, not one per role: a copy is a few hundred GRANTs, and every
test schema is upgraded.)  Supabase's ``authenticated`` gets the runtime role's read privileges and the
policy helpers the same way.
"""

from __future__ import annotations

from arccm.domain.access import Role


def actor_role(app_role: str, role: str) -> str:
    """The database role an actor of domain role ``role`` runs as."""
    return f"{app_role}_{role.lower()}"


def actor_roles(app_role: str) -> list[str]:
    return [actor_role(app_role, role.value) for role in Role]


def actor_group(app_role: str) -> str:
    """The role the actor roles inherit their privileges from (a copy of the runtime role's)."""
    return f"{app_role}_actor"


def ensure_actor_roles(app_role: str) -> str:
    """Create the actor roles and their group (cluster-wide, shared by every schema); the runtime role may switch
    to each actor role, and each inherits the group's privileges."""
    group = actor_group(app_role)
    statements = [
        f"""
            BEGIN
                CREATE ROLE "{group}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            EXCEPTION WHEN duplicate_object THEN NULL;  -- another schema's upgrade made it
            END;"""
    ]
    for name in actor_roles(app_role):
        statements.append(
            f"""
            BEGIN
                CREATE ROLE "{name}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT;
            EXCEPTION WHEN duplicate_object THEN NULL;
            END;
            IF NOT (SELECT rolinherit FROM pg_roles WHERE rolname = '{name}') THEN
                ALTER ROLE "{name}" INHERIT;  -- it takes its privileges from the group
            END IF;
            IF NOT pg_has_role('{app_role}', '{name}', 'MEMBER') THEN
                GRANT "{name}" TO "{app_role}";
            END IF;
            IF NOT pg_has_role('{name}', '{group}', 'MEMBER') THEN
                GRANT "{group}" TO "{name}";
            END IF;"""
        )
    return "DO $$ BEGIN" + "".join(statements) + "\nEND $$"


def copy_privileges(
    schema: str,
    source: str,
    target: str,
    *,
    table_privileges: tuple[str, ...] | None = None,
    functions: tuple[str, ...] | None = None,
) -> str:
    """A statement that gives ``target`` exactly ``source``'s privileges in ``schema`` (nothing when ``target`` does
    not exist): table, column and sequence privileges (only ``table_privileges`` if given) and EXECUTE on functions
    (only those named in ``functions``, bare names, if given).  Idempotent."""
    privileges = (
        "AND a.privilege_type = ANY(ARRAY[" + ", ".join(f"'{p}'" for p in table_privileges) + "])"
        if table_privileges is not None
        else ""
    )
    named = (
        "AND p.proname = ANY(ARRAY[" + ", ".join(f"'{f}'" for f in functions) + "]::name[])"
        if functions is not None
        else ""
    )
    return f"""
    DO $$
    DECLARE
        r record;
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{target}') THEN
            RETURN;
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', '{schema}', '{target}');
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', '{schema}', '{target}');
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', '{schema}', '{target}');
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM %I', '{schema}', '{target}');
        FOR r IN SELECT c.oid::regclass AS rel, c.relkind, a.privilege_type
                 FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
                 WHERE c.relnamespace = '"{schema}"'::regnamespace AND a.grantee = '"{source}"'::regrole {privileges}
        LOOP
            EXECUTE format('GRANT %s ON %s %s TO %I', r.privilege_type,
                           CASE WHEN r.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel, '{target}');
        END LOOP;
        FOR r IN SELECT c.oid::regclass AS rel, t.attname, a.privilege_type
                 FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid CROSS JOIN LATERAL aclexplode(t.attacl) a
                 WHERE c.relnamespace = '"{schema}"'::regnamespace AND a.grantee = '"{source}"'::regrole {privileges}
        LOOP
            EXECUTE format('GRANT %s (%I) ON %s TO %I', r.privilege_type, r.attname, r.rel, '{target}');
        END LOOP;
        FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
                 WHERE p.pronamespace = '"{schema}"'::regnamespace AND a.grantee = '"{source}"'::regrole
                   AND a.privilege_type = 'EXECUTE' {named}
        LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.fn, '{target}');
        END LOOP;
    END $$"""


def revoke_all(schema: str, target: str) -> str:
    return f"""
    DO $$ BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{target}') THEN
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', '{schema}', '{target}');
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', '{schema}', '{target}');
            EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM %I', '{schema}', '{target}');
            EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM %I', '{schema}', '{target}');
        END IF;
    END $$"""
