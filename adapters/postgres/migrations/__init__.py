"""Alembic's environment and versions for arccm's schema."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType


def earlier(filename: str) -> ModuleType:
    """An earlier migration of ``versions/`` as a module, for a later one that builds on its SQL text (a file whose
    name starts with a digit cannot be imported by name)."""
    path = Path(__file__).with_name("versions") / filename
    spec = importlib.util.spec_from_file_location(f"arccm_migration_{filename[:4]}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rewrite_read_policies(schema: str, table: str, old: re.Pattern[str], new: str, origin: str) -> None:
    """Every ``SELECT`` policy on ``table`` (the runtime role's, Supabase's, each actor role's) with its one match of
    ``old`` in the catalog's text replaced by ``new``; a policy without exactly one match is refused, as not what
    migration ``origin`` wrote."""
    from alembic import op
    from sqlalchemy import text

    found = (
        op.get_bind()
        .execute(
            text(
                "SELECT policyname, qual FROM pg_policies WHERE schemaname = :s AND tablename = :t"
                " AND cmd = 'SELECT' ORDER BY policyname"
            ),
            {"s": schema, "t": table},
        )
        .all()
    )
    if not found:
        raise RuntimeError(f"{table} has no SELECT policy: migration {origin} has not run here")
    for name, qual in found:
        changed, count = old.subn(new, qual)
        if count != 1:
            raise RuntimeError(f"policy {name} on {table} is not as migration {origin} wrote it: {qual}")
        op.execute(f'ALTER POLICY "{name}" ON "{table}" USING ({changed})')
