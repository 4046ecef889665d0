"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from arccm.adapters.cli.main import run
from arccm.adapters.postgres.database import normalize_url


@pytest.fixture(scope="module")
def demo_schema(pg_url: str) -> Iterator[str]:
    """The demo's organization in a schema of its own (dropped afterwards), on the test server."""
    name = f"t_hostile_{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARCCM_DATABASE_URL", pg_url)
        patch.setenv("ARCCM_DB_SCHEMA", name)
        with pytest.raises(SystemExit) as exited:
            run(["--quiet", "demo"])
        assert exited.value.code == 0
        yield name
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()
