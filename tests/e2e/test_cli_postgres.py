"""The CLI on PostgreSQL, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_postgres
ARCCM = str(Path(sys.executable).parent / "arccm")


def arccm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCCM, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **env}, check=False
    )


def test_migrate_check_health_and_run_the_demo_twice(pg_url: str) -> None:
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": f"t_cli_{uuid.uuid4().hex[:10]}"}
    assert arccm(env, "db", "current").stdout.strip() == "current base, head 0002"
    upgraded = arccm(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == "at 0002"
    report = arccm(env, "health")
    assert report.returncode == 0, report.stderr
    health = json.loads(report.stdout)
    assert health["status"] == "healthy"
    assert health["migration"]["up_to_date"] is True
    assert health["latency_ms"] > 0
    for _ in range(2):  # the second run works on the same database
        run = arccm(env, "demo")
        assert run.returncode == 0, run.stderr
        assert "Hank Harbor        0 events" in run.stdout
        assert "→ revoked: L. C***" in run.stdout
    down = arccm(env, "db", "downgrade", "base")
    assert down.stdout.strip() == "at base"


def test_bad_configuration_is_one_line_naming_the_variable() -> None:
    bad_url = arccm({"ARCCM_DATABASE_URL": "mysql://root@localhost/x"}, "health")
    assert bad_url.returncode == 2
    assert bad_url.stderr.startswith("arccm: ARCCM_DATABASE_URL:")
    assert bad_url.stderr.count("\n") == 1
    unreachable = arccm({"ARCCM_DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/db"}, "db", "current")
    assert unreachable.returncode == 2
    assert "cannot reach PostgreSQL at postgresql://u:***@127.0.0.1:1/db" in unreachable.stderr
    assert "hunter2" not in unreachable.stderr
    assert unreachable.stderr.count("\n") == 1
