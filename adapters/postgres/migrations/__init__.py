"""Alembic's environment and versions for arccm's schema."""

from __future__ import annotations

import importlib.util
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
