"""The CLI on PostgreSQL, as an operator runs it."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection

pytestmark = pytest.mark.needs_postgres
HEAD = "0026"  # the newest revision; bump with each migration
ARCCM = str(Path(sys.executable).parent / "arccm")


def arccm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCCM, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **env}, check=False
    )


def test_migrate_check_health_and_run_the_demo_twice(pg_url: str, cli_schema: str) -> None:
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": cli_schema}
    assert arccm(env, "db", "current").stdout.strip() == f"current base, head {HEAD}"
    upgraded = arccm(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"at {HEAD}"
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
    # the demo's revocation is in the audit trail, with who did it
    trail = arccm(env, "audit", "--table", "certificates")
    assert trail.returncode == 0, trail.stderr
    entries = [json.loads(line) for line in trail.stdout.splitlines()]
    revoked = [e for e in entries if e["operation"] == "UPDATE" and "revoked_at" in e.get("new_values", {})]
    assert len(revoked) == 2  # once per demo run
    assert all(e["actor_id"] and e["table"] == "certificates" and e["row_id"] for e in revoked)
    mine = arccm(env, "audit", "--actor", revoked[0]["actor_id"], "--since", "2000-01-01")
    assert mine.returncode == 0
    assert {json.loads(line)["actor_id"] for line in mine.stdout.splitlines()} == {revoked[0]["actor_id"]}
    assert arccm(env, "audit", "--row", "x").returncode == 2  # a row needs its table
    assert arccm(env, "audit", "--actor", "nobody").returncode == 2
    assert arccm(env, "audit", "--since", "yesterday").returncode == 2
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


@pytest.fixture
def cli_schema(pg_url: str) -> Iterator[str]:
    """A schema of the test's own, dropped afterwards (the CLI creates it; nothing else would remove it)."""
    name = f"t_cli_{uuid.uuid4().hex[:10]}"
    yield name
    from sqlalchemy import text

    with engine_for(pg_url) as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@contextmanager
def engine_for(pg_url: str) -> Iterator[Connection]:
    """The owner's connection, in a transaction committed at the end."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from arccm.adapters.postgres.database import normalize_url

    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def test_certificate_commands(pg_url: str, cli_schema: str, tmp_path: Path) -> None:
    import pypdfium2
    import zxingcpp
    from sqlalchemy import text

    schema = cli_schema
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": schema, "ARCCM_PUBLIC_URL": "https://verify.example.org"}
    assert arccm(env, "demo").returncode == 0
    with engine_for(pg_url) as connection:
        code = connection.execute(text(f'SELECT verification_code FROM "{schema}".certificates')).scalar_one()

    verified = arccm(env, "certificates", "verify", code.lower())
    assert verified.returncode == 1, verified.stderr  # revoked: a script can tell (0 is for an active certificate)
    answer = json.loads(verified.stdout)
    assert answer["status"] == "revoked"
    assert answer["recipient_name"] == "L. C***"
    assert json.loads(arccm(env, "certificates", "verify", code, "--name", "Lee Chen").stdout)["name_confirmed"] is True
    # a name typed in decomposed Unicode, as macOS keyboards produce it, is the same name
    with engine_for(pg_url) as connection:
        connection.execute(
            text(f"UPDATE \"{schema}\".certificates SET recipient_name = 'Zoë Núñez', revoked_at = NULL,"
                 " revoked_by = NULL, revocation_reason = NULL")
        )  # fmt: skip
    active = arccm(env, "certificates", "verify", code, "--name", unicodedata.normalize("NFD", "ZOË NÚÑEZ"))
    assert active.returncode == 0, active.stderr
    assert json.loads(active.stdout)["name_confirmed"] is True
    unconfirmed = arccm(env, "certificates", "verify", code, "--name", "Zoe Nunez")
    assert (unconfirmed.returncode, json.loads(unconfirmed.stdout)["name_confirmed"]) == (1, False)
    typo = ("1" if code[0] != "1" else "2") + code[1:]
    mistyped = arccm(env, "certificates", "verify", typo)
    assert mistyped.returncode == 1
    assert "mistyped_code" in mistyped.stderr

    # a path that cannot be written: one line, exit 2, nothing left behind (the PDF is written whole or not at all)
    for unwritable in (tmp_path / "missing" / "c.pdf", tmp_path, tmp_path / ("x" * 100_000)):
        refused = arccm(env, "certificates", "pdf", code, "-o", str(unwritable))
        assert refused.returncode == 2, refused.stderr
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
        assert refused.stderr.startswith("arccm: --output: cannot write ")
        assert "Traceback" not in refused.stderr
        assert len(refused.stderr) < 300
    # a full disk, as a file-size limit: the write fails part way, and the partial file is removed
    full = subprocess.run(
        [ARCCM, "certificates", "pdf", code, "-o", str(tmp_path / "full.pdf")],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env}, check=False,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (2_000, 2_000)),
    )  # fmt: skip
    assert full.returncode == 2, full.stderr
    assert full.stderr.startswith("arccm: --output: cannot write "), full.stderr
    assert len(full.stderr.splitlines()) == 1, full.stderr
    assert list(tmp_path.iterdir()) == []
    out = tmp_path / "certificate.pdf"
    rendered = arccm(env, "certificates", "pdf", code, "-o", str(out))
    assert rendered.returncode == 0, rendered.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["certificate.pdf"]
    assert rendered.stderr == ""
    # without a public address the QR code points at this machine: said, once
    local = arccm({**env, "ARCCM_PUBLIC_URL": ""}, "certificates", "pdf", code, "-o", str(tmp_path / "local.pdf"))
    assert local.returncode == 0, local.stderr
    assert local.stderr.startswith("arccm: warning: the QR code points to http://localhost:8000/verify/"), local.stderr
    assert len(local.stderr.splitlines()) == 1
    (tmp_path / "local.pdf").unlink()
    (qr,) = zxingcpp.read_barcodes(pypdfium2.PdfDocument(out.read_bytes())[0].render(scale=2).to_pil())
    assert qr.text.startswith("https://verify.example.org/verify/")

    assert arccm(env, "certificates", "expire").stdout.strip() == "recorded 0 expired certificates"
    reminded = arccm(env, "certificates", "remind", "--within", "30d")
    assert reminded.returncode == 0, reminded.stderr
    assert (
        reminded.stdout.strip()
        == "reminders: 0 new, 0 already sent; e-mails: not sent, ARCCM_SMTP_URL is not set (they stay queued)"
    )
    assert arccm(env, "certificates", "remind", "--within", "soon").returncode == 2
    # ids that are not ids, and values too long to echo: one short line, exit 2, no traceback
    someone = str(uuid.uuid4())
    for args in (
        ("certificates", "batch", "--as", someone, "--session", "abc"),
        ("certificates", "batch", "--as", someone, "--roster", "abc"),
        ("certificates", "batch", "--as", "abc", "--session", someone),
        ("certificates", "resume", "abc", "--as", someone),
        ("certificates", "pdf", code, "-o", str(tmp_path / "x.pdf"), "--as", "u" * 131_000),
        ("audit", "--actor", "a" * 131_000),
        ("audit", "--since", "s" * 131_000),
    ):
        bad = arccm(env, *args)
        assert bad.returncode == 2, (args[:3], bad.stderr[:300])
        assert len(bad.stderr.splitlines()) == 1, bad.stderr[:300]
        assert "Traceback" not in bad.stderr
        assert len(bad.stderr) < 300, bad.stderr[:300]
    huge = arccm(env, "certificates", "remind", "--within", "9" * 100_000)
    assert huge.returncode == 2
    assert len(huge.stderr.splitlines()) == 1
    assert "Traceback" not in huge.stderr
    assert len(huge.stderr) < 300


def test_seed_loads_a_scale_once(pg_url: str, cli_schema: str) -> None:
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": cli_schema}
    first = arccm(env, "seed", "--scale", "demo", "--seed", "3")
    assert first.returncode == 0, first.stderr
    assert "seeded scale demo" in first.stdout
    assert "900 session_enrollments" in first.stdout
    again = arccm(env, "seed", "--scale", "demo")
    assert again.returncode == 2
    assert "already holds sessions" in again.stderr
    assert arccm(env, "seed", "--scale", "xl").returncode == 2


def test_events_tail_prints_the_users_own_feed(pg_url: str, cli_schema: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from arccm.adapters.postgres.database import normalize_url

    schema = cli_schema
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": schema}
    assert arccm(env, "demo").returncode == 0
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    with engine.connect() as connection:
        lee = connection.execute(
            text(f"SELECT id FROM \"{schema}\".profiles WHERE display_name = 'Lee Chen'")
        ).scalar_one()
    engine.dispose()
    tailed = arccm(env, "events", "tail", "--as", str(lee), "--topics", "enrollments", "--max", "3")
    assert tailed.returncode == 0, tailed.stderr
    lines = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert [entry["event"] for entry in lines] == ["LearnerEnrolled", "AttendanceRecorded", "AssessmentRecorded"]
    assert all(entry["data"]["learner_id"] == str(lee) for entry in lines)
    cursors = [tuple(int(part) for part in entry["cursor"].split(":")) for entry in lines]
    assert cursors == sorted(cursors)
    resumed = arccm(
        env, "events", "tail", "--as", str(lee), "--topics", "enrollments", "--since", lines[0]["cursor"], "--max", "1"
    )
    assert json.loads(resumed.stdout)["event"] == "AttendanceRecorded"
    assert arccm(env, "events", "tail", "--as", str(lee), "--topics", "gossip").returncode == 2


def test_events_tail_prints_every_topic_the_feed_carries(pg_url: str, cli_schema: str) -> None:
    """All of the feed by default — roster events too — and every topic the feed carries is subscribable (issue 10:
    28 events in the feed, 23 printed; ``--topics rosters`` refused)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from arccm.adapters.container import on_postgres
    from arccm.adapters.postgres.database import normalize_url
    from arccm.application import commands as c

    schema = cli_schema
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": schema}
    assert arccm(env, "demo").returncode == 0
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    with engine.connect() as connection:
        ids = connection.execute(
            text(
                f"SELECT (SELECT id FROM \"{schema}\".profiles WHERE role = 'SA'),"
                f' (SELECT id FROM "{schema}".course_templates LIMIT 1), (SELECT id FROM "{schema}".locations LIMIT 1),'
                f" (SELECT id FROM \"{schema}\".profiles WHERE role = 'IC' LIMIT 1)"
            )
        ).one()
    admin, course, location, instructor = ids
    container = on_postgres(pg_url, schema=schema)  # a roster too: the demo has none
    actor = container.resolve_actor()(admin).unwrap()
    container.create_roster()(actor, c.CreateRoster("Weekend class", course, location, instructor, 10)).unwrap()
    container.lifecycle().shutdown()
    with engine.connect() as connection:
        logged = connection.execute(text(f'SELECT topic, count(*) FROM "{schema}".change_log GROUP BY topic'))
        per_topic = {row[0]: row[1] for row in logged}
    engine.dispose()
    assert "rosters" in per_topic
    everything = arccm(env, "events", "tail", "--as", str(admin), "--max", str(sum(per_topic.values())))
    assert everything.returncode == 0, everything.stderr
    printed = [json.loads(line)["topic"] for line in everything.stdout.splitlines()]
    assert {topic: printed.count(topic) for topic in set(printed)} == per_topic
    rosters = arccm(
        env, "events", "tail", "--as", str(admin), "--topics", "rosters", "--max", str(per_topic["rosters"])
    )
    assert rosters.returncode == 0, rosters.stderr
    assert {json.loads(line)["topic"] for line in rosters.stdout.splitlines()} == {"rosters"}


def test_db_prune_rollups_deletes_what_counts_nothing_and_leaves_the_dashboards_alone(
    pg_url: str, cli_schema: str
) -> None:
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": cli_schema}
    assert arccm(env, "demo").returncode == 0
    first = arccm(env, "db", "prune-rollups", "--json")
    assert first.returncode == 0, first.stderr
    pruned = json.loads(first.stdout)
    assert set(pruned) == {"session_rollups", "dashboard_counts", "certificate_rollups"}
    assert pruned["session_rollups"] > 0  # the demo runs its class: the session's scheduled key counts nothing now
    again = arccm(env, "db", "prune-rollups")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("pruned 0 rows: session_rollups 0,")


def test_db_rotate_key_draws_a_new_key_and_refuses_a_schema_that_has_none(pg_url: str, cli_schema: str) -> None:
    from sqlalchemy import text

    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": cli_schema}
    assert arccm(env, "db", "upgrade").returncode == 0
    keys = " ".join(f'(SELECT last_value FROM "{cli_schema}".arccm_guard_key_{half}),' for half in "ab")
    keys = f"SELECT {keys.rstrip(',')}"
    with engine_for(pg_url) as connection:
        before = tuple(connection.execute(text(keys)).one())
    rotated = arccm(env, "db", "rotate-key", "--json")
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout) == {"rotated": True, "schema": cli_schema}
    with engine_for(pg_url) as connection:
        after = tuple(connection.execute(text(keys)).one())
    assert None not in after
    assert after[0] != before[0]
    assert after[1] != before[1]
    assert arccm(env, "db", "downgrade", "0022").returncode == 0
    refused = arccm(env, "db", "rotate-key")
    assert refused.returncode == 2
    assert "before revision 0023" in refused.stderr, refused.stderr


def test_events_prune_then_tail_from_the_start_asks_for_a_resync(pg_url: str, cli_schema: str) -> None:
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": cli_schema}
    assert arccm(env, "demo").returncode == 0
    assert arccm(env, "events", "prune", "--older-than", "30d").stdout.startswith("pruned 0 changes")
    pruned = arccm(env, "events", "prune", "--older-than", "0d")
    assert pruned.returncode == 0, pruned.stderr
    assert int(pruned.stdout.split()[1]) > 0
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from arccm.adapters.postgres.database import normalize_url

    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    with engine.connect() as connection:
        admin = connection.execute(
            text(f"SELECT id FROM \"{env['ARCCM_DB_SCHEMA']}\".profiles WHERE role = 'SA'")
        ).scalar_one()
    engine.dispose()
    tail = arccm(env, "events", "tail", "--as", str(admin), "--max", "1")
    assert tail.returncode == 3
    assert "resync required" in tail.stderr


def test_events_tail_wakes_on_supabase_realtime_when_configured(pg_url: str, cli_schema: str) -> None:
    """ARCCM_SUPABASE_URL/KEY switch the feed's wake-ups to Supabase Realtime (here: the local protocol server)."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    from arccm.adapters.container import on_postgres
    from arccm.adapters.postgres.database import normalize_url
    from tests.integration.test_realtime import Commits, write_teams
    from tests.realtime_server import RealtimeServer

    schema = cli_schema
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": schema}
    assert arccm(env, "db", "upgrade").returncode == 0
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    owner = make_url(normalize_url(pg_url)).set(drivername="postgresql").render_as_string(hide_password=False)
    server = RealtimeServer(owner, schema).start()
    admin = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            text(f"INSERT INTO \"{schema}\".profiles (id, email, display_name, role) VALUES (:i, :e, 'Ada', 'SA')"),
            {"i": admin, "e": f"{admin}@example.org"},
        )
    engine.dispose()
    tail = subprocess.Popen(
        [ARCCM, "events", "tail", "--as", admin, "--topics", "teams", "--max", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env, "ARCCM_SUPABASE_URL": server.url, "ARCCM_SUPABASE_KEY": "service-key"},
    )
    try:
        server.wait_until(lambda s: any(c.channels for c in s.active()))  # joined: the tail is listening
        container = on_postgres(pg_url, schema=schema)
        write_teams(container, 1, Commits(1))
        container.database().shutdown(timeout=5)
        out, err = tail.communicate(timeout=60)
    finally:
        tail.kill()
        server.stop()
    assert tail.returncode == 0, err
    assert json.loads(out)["event"] == "TeamCreated"
    assert server.tokens_seen == ["service-key"]
