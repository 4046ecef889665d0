"""The domain imports nothing but the standard library, attrs and returns; the application nothing from adapters."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder: Path) -> set[tuple[str, str]]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {(alias.name, path.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((node.module, path.name))
    return found


@pytest.mark.parametrize(
    ("folder", "allowed"),
    [
        ("domain", {"attrs", "returns", "arccm.domain"}),
        ("application", {"attrs", "returns", "arccm.domain", "arccm.application"}),
    ],
)
def test_layer_imports(folder: str, allowed: set[str]) -> None:
    offenders = []
    for module, filename in imported_modules(ROOT / folder):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        if not any(module == a or module.startswith(a + ".") for a in allowed):
            offenders.append(f"{folder}/{filename} imports {module}")
    assert offenders == []


def test_no_clock_or_randomness_inside_the_domain() -> None:
    for path in (ROOT / "domain").rglob("*.py"):
        text = path.read_text()
        for forbidden in ("datetime.now(", "date.today(", "import secrets", "import random", "uuid4("):
            assert forbidden not in text, f"{path.name} uses {forbidden}"
