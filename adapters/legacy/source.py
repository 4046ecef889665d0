"""Reading the replaced system's database: one ``REPEATABLE READ, READ ONLY`` transaction (every table from the
same snapshot, and the server itself refuses any write), server-side cursors, and named columns only — never
``public.users`` (it holds plaintext passwords) and never a ``SELECT *``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import dict_row

# what is read of each table: a column the source lacks reads as NULL (the replaced schema drifted between
# migrations; legacy_schema.md).  Each entry: column or (alias, SQL expression over the table's columns).
COLUMNS: dict[str, tuple[str | tuple[str, str], ...]] = {
    "locations": (
        "id",
        "name",
        "address",
        "city",
        "state",
        "zip",
        "country",
        "email",
        "phone",
        "website",
        "status",
        "created_at",
    ),
    "authorized_providers": (
        "id",
        "name",
        "provider_name",
        "status",
        "contact_email",
        "contact_phone",
        "website",
        "primary_location_id",
        "location_id",
        "created_at",
    ),
    "provider_location_assignments": ("id", "provider_id", "location_id", "status"),
    "courses": ("id", "name", "expiration_months", "capacity", "status"),
    "course_templates": ("id", "name", "code", "max_students", "is_active"),
    "auth.users": ("id", "email", ("display_name", "raw_user_meta_data ->> 'display_name'"), "created_at"),
    "profiles": ("id", "role", "display_name", "email", "phone", "status", "location_id", "created_at"),
    "instructor_profiles": (
        "id",
        "email",
        "first_name",
        "last_name",
        "display_name",
        "phone",
        "specialties",
        "is_active",
        "max_students_per_session",
        "location_id",
        "created_at",
    ),
    "student_enrollment_profiles": (
        "id",
        "email",
        "first_name",
        "last_name",
        "display_name",
        "phone",
        "location_id",
        "is_active",
        "created_at",
    ),
    "training_sessions": (
        "id",
        "title",
        "description",
        "instructor_id",
        "location_id",
        "session_date",
        "start_time",
        "end_time",
        "max_capacity",
        "course_template",
        "status",
        "created_at",
    ),
    "session_enrollments": (
        "id",
        "session_id",
        "student_id",
        "enrollment_date",
        "attendance_status",
        "completion_status",
        "assessment_score",
        "created_at",
    ),
    "rosters": ("id", "name", "status", "location_id", "course_id", "issue_date", "created_by", "created_at"),
    "certificates": (
        "id",
        "status",
        "verification_code",
        "issue_date",
        "expiry_date",
        "course_name",
        "recipient_name",
        "recipient_email",
        "issued_by",
        "location_id",
        "user_id",
        "roster_id",
        "batch_id",
        "instructor_name",
        "created_at",
        "updated_at",
    ),
    "teams": ("id", "name", "location_id", "provider_id", "created_by", "status", "created_at"),
    "team_members": ("id", "team_id", "user_id", "role", "status", "created_at"),
}


def _qualified(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema or "public", name


class LegacySource:
    """The source database, read in one snapshot.  Use as a context manager."""

    def __init__(self, url: str, itersize: int = 5_000) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.itersize = itersize
        self._connection: psycopg.Connection[Any] | None = None

    def __enter__(self) -> LegacySource:
        connection = psycopg.connect(self.url, autocommit=False, row_factory=dict_row)
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        self._connection = connection
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connection is not None:
            self._connection.rollback()
            self._connection.close()

    @property
    def connection(self) -> psycopg.Connection[Any]:
        assert self._connection is not None, "use LegacySource as a context manager"
        return self._connection

    def _columns(self, table: str) -> set[str] | None:
        schema, name = _qualified(table)
        found = self.connection.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
            (f'"{schema}"."{name}"',),
        ).fetchall()
        return {row["attname"] for row in found} or None

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of a source table, in id order (nothing when the table does not exist there)."""
        present = self._columns(table)
        if present is None:
            return
        selected = []
        for column in COLUMNS[table]:
            alias, expression = column if isinstance(column, tuple) else (column, f'"{column}"')
            needs = expression.split()[0].strip('"')
            selected.append(f'{expression if needs in present else "NULL"} AS "{alias}"')
        schema, name = _qualified(table)
        cursor_name = f"arccm_import_{name}"
        with self.connection.cursor(name=cursor_name) as cursor:
            cursor.itersize = self.itersize
            cursor.execute(f'SELECT {", ".join(selected)} FROM "{schema}"."{name}" ORDER BY id')
            yield from cursor

    def count(self, table: str) -> int | None:
        """How many rows a table has (None when the source has no such table)."""
        if self._columns(table) is None:
            return None
        schema, name = _qualified(table)
        row = self.connection.execute(f'SELECT count(*) AS n FROM "{schema}"."{name}"').fetchone()
        return int(row["n"]) if row else 0

    def all(self, table: str) -> list[dict[str, Any]]:
        return list(self.rows(table))
