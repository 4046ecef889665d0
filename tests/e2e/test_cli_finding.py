"""Finding things from the CLI, as an operator does after `arccm demo`: ids from names, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from arccm.adapters.cli.main import run
from arccm.adapters.postgres.validation import CHECKS

pytestmark = pytest.mark.needs_postgres
SAM = "sam@example.org"  # the demo's administrator
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(pg_url: str, demo_schema: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    monkeypatch.setenv("ARCCM_DATABASE_URL", pg_url)
    monkeypatch.setenv("ARCCM_DB_SCHEMA", demo_schema)

    def call(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            run(list(args))
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return call


def test_an_operator_finds_ids_by_name_and_acts_on_them(cli: Cli) -> None:
    code, out, _ = cli("people", "find", "lee chen", "--as", SAM, "--json")
    assert code == 0
    (lee,) = json.loads(out)["items"]
    assert (lee["name"], lee["kind"], lee["role"]) == ("Lee Chen", "user", "IN")

    code, out, _ = cli("certificates", "list", "--as", SAM, "--holder", lee["id"], "--json")
    (certificate,) = json.loads(out)["items"]
    assert certificate["status"] == "revoked"  # the demo revokes it

    code, out, err = cli("certificates", "reinstate", certificate["code"], "--as", SAM)
    assert (code, err) == (0, "")
    assert out.startswith(f"reinstated {certificate['code']} for Lee Chen")
    code, out, _ = cli("certificates", "show", certificate["id"], "--as", SAM, "--json")
    assert json.loads(out)["certificate"]["status"] == "active"
    code, out, _ = cli("certificates", "revoke", certificate["code"], "--as", SAM, "--reason", "again", "--json")
    assert json.loads(out)["result"] == "revoked"
    code, out, err = cli("certificates", "reinstate", certificate["code"], "--as", "alice@example.org")
    assert code == 1  # an AP may revoke, not reinstate
    assert err.startswith("arccm: forbidden:")

    code, out, _ = cli("sessions", "list", "--as", SAM, "--status", "completed")
    lines = out.splitlines()  # piped: a header and tab-separated rows, nothing wrapped
    assert lines[0].split("\t") == ["starts_at", "title", "status", "seats_taken", "max_capacity",
                                    "waitlist_length", "id"]  # fmt: skip
    session_id = lines[1].split("\t")[-1]
    code, out, _ = cli("sessions", "show", session_id, "--as", SAM, "--json")
    detail = json.loads(out)
    assert detail["session"]["id"] == session_id
    assert {e["learner_id"] for e in detail["enrollments"]} >= {lee["id"]}

    code, out, err = cli("people", "find", "a", "--as", SAM, "--limit", "2")
    assert err.startswith("arccm: more: --after ")  # how to ask for the next page
    first = [line.split("\t")[0] for line in out.splitlines()[1:]]
    code, out, _ = cli("people", "find", "a", "--as", SAM, "--limit", "2", "--after", err.split()[-1], "--json")
    assert code == 0
    second = [p["name"] for p in json.loads(out)["items"]]
    assert len(first) == len(second) == 2
    assert max(first) < min(second)  # the next page, in order

    code, _, err = cli("sessions", "show", session_id, "--as", "hank@example.org")
    assert code == 1  # another provider's AP: as if it did not exist
    assert err.startswith("arccm: not_found:")
    code, _, err = cli("sessions", "list", "--as", "nobody@example.org")
    assert (code, err.count("\n")) == (1, 1)


def test_validate_passes_on_the_demos_deployment(cli: Cli) -> None:
    code, out, err = cli("validate", "--json")
    report = json.loads(out)
    assert (code, err) == (0, ""), report
    assert report["grade"] in ("pass", "warn")  # a timed figure over its threshold on a busy machine warns
    assert [c["name"] for c in report["checks"]] == list(CHECKS)
    assert report["passed"] == report["total"] == 10
    assert {c["status"] for c in report["checks"][:-2]} == {"pass"}


def test_validate_runs_the_checks_named(cli: Cli) -> None:
    code, out, err = cli("validate", "--check", "schema", "--check", "initialization")
    assert (code, err) == (0, ""), out
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["pass", "initialization"], ["pass", "schema"]]
    assert lines[-1] == "2/2 checks pass: pass"
    code, out, err = cli("validate", "--check", "speed\x1b[31m")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("arccm: --check: unknown check 'speed\\x1b[31m'; known: initialization, connection,")
