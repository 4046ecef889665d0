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
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", out), "the story names people and sessions, not ids"


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


def build_wheel(into: Path) -> Path:
    """This checkout built as the wheel ``pip install arccm`` would fetch."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(into),
        str(ROOT),
    ]
    built = subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    # the project's own configuration draws no warning from the build backend (it drew ~90 lines)
    assert "Warning" not in built.stdout + built.stderr, built.stdout + built.stderr
    (wheel,) = into.glob("arccm-*.whl")
    return wheel


def test_a_built_wheel_installs_the_three_packages(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("domain", "application", "adapters"):
        assert f"arccm/{package}/py.typed" in names
        assert f"arccm/{package}/__init__.py" in names
    assert "arccm/application/ports/unit_of_work.py" in names
    assert any(n.startswith("arccm/adapters/certificates/fonts/") and n.endswith(".ttf") for n in names)
    assert not any(re.match(r"^(domain|application|adapters)/", n) for n in names)


CORE_ONLY = """
import importlib.util, uuid
from datetime import UTC, date, datetime, timedelta
assert importlib.util.find_spec("sqlalchemy") is None and importlib.util.find_spec("typer") is None
from arccm.adapters.container import Container, on_postgres
from arccm.adapters.extras import MissingExtra
from arccm.application import commands
from arccm.domain.access import Role
from arccm.domain.compliance import ComplianceStanding, ComplianceStatus, Tier
from arccm.domain.course import Course
from arccm.domain.people import AuthorizedProvider, InstructorProfile, Location, UserProfile, actor_for
app = Container()
hall = Location(uuid.uuid4(), "Main Hall", "America/Toronto")
provider = AuthorizedProvider(uuid.uuid4(), "Safety First", frozenset({hall.id}))
course = Course(uuid.uuid4(), "Standard First Aid", "SFA", validity_months=36)
good = ComplianceStanding(100, Tier.ROBUST, ComplianceStatus.COMPLIANT)
ap = UserProfile(uuid.uuid4(), "Casey", Role.AP, provider_id=provider.id)
ic = UserProfile(uuid.uuid4(), "Ines", Role.IC, provider_id=provider.id, compliance=good)
learner = UserProfile(uuid.uuid4(), "Lou", Role.IN)
qualified = InstructorProfile(ic.id, credential_expires_on=date(2030, 1, 1))
app.bootstrap().load(hall, provider, course, ap, ic, learner, qualified)
starts = datetime.now(UTC) + timedelta(days=7)
command = commands.ScheduleSession(course.id, hall.id, ic.id, "SFA", starts, starts + timedelta(hours=8), 12)
session = app.schedule_session()(actor_for(ap, provider), command).unwrap()
enrolled = app.enroll_learner()(actor_for(ap, provider), commands.EnrollLearner(session.id, learner.id))
print(enrolled.unwrap().status.value)
for wire, extra in ((lambda: app.renderer(), "pdf"), (lambda: on_postgres("postgresql://x@localhost/y"), "postgres")):
    try:
        wire()
    except MissingExtra as error:
        assert f"pip install 'arccm[{extra}]'" in str(error) and "\\n" not in str(error), error
        print("missing", extra)
"""


def test_the_core_installs_and_runs_without_any_extra(tmp_path: Path) -> None:
    """``pip install arccm`` is the pure core: domain, use cases, memory adapter, container — and an adapter whose
    extra is missing says so in one line when it is wired."""
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    ran = subprocess.run([python, "-c", CORE_ONLY], capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["enrolled", "missing", "pdf", "missing", "postgres"]


def test_version_as_an_option_and_as_a_command() -> None:
    from importlib.metadata import version

    arccm = str(Path(sys.executable).parent / "arccm")
    for args in (["--version"], ["version"]):
        done = subprocess.run([arccm, *args], capture_output=True, text=True, timeout=120, check=False)
        assert (done.returncode, done.stdout.strip(), done.stderr) == (0, version("arccm"), "")


def test_a_data_directory_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    import os

    arccm = str(Path(sys.executable).parent / "arccm")
    env = {k: v for k, v in os.environ.items() if k != "ARCCM_DATABASE_URL"}
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for data_dir in ("/proc/x", str(blocker / "below")):
        done = subprocess.run(
            [arccm, "health"], capture_output=True, text=True, timeout=120, check=False,
            env={**env, "ARCCM_DATA_DIR": data_dir},
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"arccm: ARCCM_DATA_DIR: cannot use {data_dir}: "), done.stderr
