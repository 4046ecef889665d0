"""Through the entry point, as a person runs it."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from rich.console import Console

from arccm.adapters.cli.demo import run_demo

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_tells_the_whole_story() -> None:
    buffer = io.StringIO()
    container = run_demo(Console(file=buffer, width=200, no_color=True))
    out = buffer.getvalue()
    expected_in_order = [
        "refused Hank (AP, Harbor First Aid) → schedule at Northside Hall",
        "refused Alice (AP, Northside) → schedule with trainee Tina as lead",
        "✓ Alice (AP, Northside) → schedule 2 seats",
        "→ waitlisted (waitlist #1)",
        "→ waitlisted (waitlist #2)",
        "refused Alice → enroll Lee twice",
        "✓ Alice → cancel Mia's enrollment",
        "Noor Haddad  enrolled",
        "Omar Diaz    waitlisted #1",
        "refused Tina (IT, assisting) → record attendance",
        "→ completed",
        "→ failed",
        "refused Paul (IP) → issue Lee's certificate",
        "✓ Irene (IC) → issue Lee's certificate",
        "→ the same certificate: True",
        "→ active: L. C***",
        "name confirmed: True",
        "has a typo",
        "refused Irene (IC) → revoke",
        "✓ Alice (AP) → revoke",
        "→ revoked: L. C***",
        "revoked on 2026-12-08",
        "Hank Harbor        0 events",
    ]
    position = 0
    for line in expected_in_order:
        found = out.find(line, position)
        assert found >= 0, f"missing or out of order: {line!r}\n{out}"
        position = found
    assert container.mailer() is not None


def test_the_console_script_runs_the_demo() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "arccm"), "demo", "--memory"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "revoked" in result.stdout


def test_a_built_wheel_installs_the_three_packages(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("arccm-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("domain", "application", "adapters"):
        assert f"arccm/{package}/py.typed" in names
        assert f"arccm/{package}/__init__.py" in names
    assert "arccm/application/ports/unit_of_work.py" in names
    assert not any(re.match(r"^(domain|application|adapters)/", n) for n in names)
