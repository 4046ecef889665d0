"""The API against its own OpenAPI document, fuzzed by schemathesis (every check, at least 100 examples per
operation, as an administrator and as an instructor trainee) — and the hostile requests a generator does not make
on its own: NUL bytes, invalid UTF-8, wrong types, a 10 MB body, huge page sizes.  No answer may be a 5xx, and
every refusal is a problem+json."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_http import PROBLEM
from tests.e2e.test_http_story import auth

pytestmark = pytest.mark.needs_postgres
EXAMPLES = os.environ.get("ARCCM_FUZZ_EXAMPLES", "100")  # per operation; CI runs the 100
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.soak  # once per CI run: the second PostgreSQL pass (embedded) leaves it out
def test_schemathesis_finds_nothing(server: str, people: dict[str, str], tmp_path: Path) -> None:
    """As an SA and as an IT who may do little, the two runs side by side (the server serves both)."""
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency"
    runs = {}
    for who in ("sam", "tina"):
        command = [
            st, "--config-file", str(CONFIG), "--no-color", "run", server + "/openapi.json", "--checks", "all",
            "--max-examples", EXAMPLES, "--seed", "20261205", "--request-timeout", "30",
            "--report-dir", str(tmp_path / who), "--header", "Authorization:" + auth(people[who])["Authorization"],
            "--exclude-path", "/v1/events",  # a stream that never ends by itself: tests/e2e/test_http.py covers it
        ]  # fmt: skip
        runs[who] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for who, run in runs.items():
        said, _ = run.communicate(timeout=1500)
        summary = said[said.find("FAILURES") :] if "FAILURES" in said else said[-4000:]
        assert run.returncode == 0, f"as {who}: " + summary[:12000]
        assert "Tested: 47" in said, said[-4000:]  # every operation but the stream was reached


HOSTILE: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/sessions", {"content": b'{"title": "a\\u0000b"}'}),
    ("POST", "/v1/sessions", {"content": b'{"title": "\xc3\x28"}'}),  # invalid UTF-8
    ("POST", "/v1/sessions", {"content": b"\x00\x00\x00"}),
    ("POST", "/v1/sessions", {"json": {"max_capacity": "ten", "title": 5, "starts_at": [1]}}),
    ("POST", "/v1/sessions", {"json": []}),
    ("POST", "/v1/sessions", {"content": b'{"title": "' + b"x" * (10 * 1024 * 1024) + b'"}'}),  # 10 MB
    ("POST", "/v1/teams", {"json": {"name": "a\x00b"}}),
    ("GET", "/v1/people?q=a%00b", {}),
    ("GET", "/v1/sessions/%C3%28", {}),  # invalid UTF-8 in the path
    ("GET", "/v1/sessions?limit=1000000000000000000000", {}),
    ("GET", "/v1/sessions?limit=-1", {}),
    ("GET", "/v1/certificates?limit=501", {}),
    ("GET", "/v1/sessions?after=" + "A" * 5000, {}),
    ("GET", "/v1/sessions/not-a-uuid", {}),
    ("GET", "/v1/dashboard?date=0179-08-23", {}),
    ("GET", "/v1/dashboard?date=0", {}),
    ("GET", "/v1/calendar?from=2027-01-01&to=2026-01-01", {}),
    ("PUT", f"/v1/people/{uuid.UUID(int=1)}/role", {"json": {"role": "ROOT"}}),
    ("GET", "/v1/verify/%00", {}),
    ("GET", "/v1/events?topics=everything", {}),
    ("GET", "/v1/events?since=1:2:3", {}),
]


@pytest.mark.parametrize(("method", "path", "send"), HOSTILE, ids=[f"{m} {p[:40]}" for m, p, _ in HOSTILE])
def test_hostile_requests_are_refused_with_a_problem(
    server: str, people: dict[str, str], method: str, path: str, send: dict[str, Any]
) -> None:
    headers = {**auth(people["sam"]), "Content-Type": "application/json"}
    answer = httpx.request(method, server + path, headers=headers, timeout=60, **send)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:500])
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["type"].startswith("https://arccm.dev/problems/")
    assert "Traceback" not in answer.text
    if answer.status_code in (400, 422):
        assert body.get("field"), body
