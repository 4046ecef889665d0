"""The Core tables (``adapters/postgres/tables.py``) and the migrated database say the same thing."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from arccm.adapters.postgres.tables import metadata
from tests.conftest import PgSchema

pytestmark = pytest.mark.needs_postgres


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "table" and name == "alembic_version")


def test_the_tables_match_the_migrated_schema(pg_schema: PgSchema) -> None:
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{pg_schema.name}"'))
        context = MigrationContext.configure(
            connection,
            opts={"include_object": _include, "compare_type": True, "compare_server_default": True},
        )
        differences = compare_metadata(context, metadata)
    assert differences == []
