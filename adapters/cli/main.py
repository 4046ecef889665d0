"""The `arccm` command line: every failure is one line on stderr with a documented exit code (cli/common.py)."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import typer

# typer (from 0.29) carries its own copy of click: its exceptions and parameters are these, not the click package's
from typer._click import core as click_core
from typer._click import exceptions as click_errors
from typer.core import TyperArgument, TyperOption

from arccm.adapters.cli import common
from arccm.adapters.cli.common import INTERNAL, INTERRUPTED, USAGE, excerpt, fail
from arccm.adapters.config import ConfigError

app = typer.Typer(no_args_is_help=True, help="arccm: training sessions, enrollments, certificates.")
db = typer.Typer(no_args_is_help=True, help="Schema migrations (run as the database owner).")
app.add_typer(db, name="db")


def _register() -> None:
    from arccm.adapters.cli import audit, certificates, events, finding, importing

    app.add_typer(finding.sessions, name="sessions")
    app.add_typer(finding.people, name="people")
    app.add_typer(certificates.app, name="certificates")
    app.add_typer(finding.rosters, name="rosters")
    app.add_typer(finding.batches, name="batches")
    app.add_typer(events.app, name="events")
    app.add_typer(importing.app, name="import")
    app.command(name="audit")(audit.audit)


def placeholders(command: click_core.Command) -> click_core.Command:
    """Help that names each value (``CODE``, ``PATH``, ``N``) and nothing for a flag: typer 0.29 prints a type
    (``<str>``, ``<bool>``) beside every argument and flag, metavar or not."""
    for param in command.params:
        if isinstance(param, TyperArgument) or (isinstance(param, TyperOption) and param.is_flag):
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
    helper = command.get_help_option(click_core.Context(command))
    if helper is not None:
        helper.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        placeholders(sub)
    return command


def run(args: list[str] | None = None) -> None:
    """The console script (``args`` default to the command line's): run a command; whatever goes wrong is one
    line on stderr and a documented exit code."""
    command = placeholders(typer.main.get_command(app))
    try:
        code = command.main(args, prog_name="arccm", standalone_mode=False)
    except typer.Exit as done:
        code = done.exit_code
    except click_errors.NoArgsIsHelpError:  # the help was printed: asking for nothing is a usage error
        code = USAGE
    except click_errors.UsageError as error:
        below = error.ctx.command_path.partition(" ")[2] if error.ctx else ""
        where = " ".join(("arccm", below, "--help")) if below else "arccm --help"
        common.say(f"{excerpt(error.format_message(), 300)} (see {where})")
        code = USAGE
    except click_errors.ClickException as error:
        common.say(excerpt(error.format_message(), 300))
        code = error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        common.say("interrupted")
        code = INTERRUPTED
    except ConfigError as error:
        common.say(str(error))
        code = USAGE
    except Exception as error:  # a bug or an infrastructure fault: one line; the traceback only when asked for
        code = _unexpected(error)
    sys.exit(code if isinstance(code, int) else 0)


def _unexpected(error: Exception) -> int:
    from arccm.adapters.postgres.database import DatabaseUnavailable

    if isinstance(error, DatabaseUnavailable):
        common.say(str(error))
        return USAGE
    if common.VERBOSE:
        traceback.print_exception(error)
    name = type(error).__name__
    lost = "OperationalError" in name or "ConnectionError" in name or isinstance(error, ConnectionError)
    reason = "lost the database connection" if lost else "internal error"
    first_line = excerpt(str(error).strip().splitlines()[0] if str(error).strip() else name, 200)
    hint = "" if common.VERBOSE else " (run with --verbose for the traceback)"
    common.say(f"{reason}: {name}: {first_line}{hint}")
    return USAGE if lost else INTERNAL


@app.command()
def demo(
    memory: bool = typer.Option(False, "--memory", help="Run on the in-memory store instead of PostgreSQL."),
) -> None:
    """Run the end-to-end story (on the embedded PostgreSQL unless ARCCM_DATABASE_URL is set), in schema
    arccm_demo unless ARCCM_DB_SCHEMA names another: the demo never mixes its organization with yours."""
    import attrs

    from arccm.adapters.cli.demo import run_demo
    from arccm.adapters.config import Settings
    from arccm.adapters.container import Container
    from arccm.adapters.runtime import from_env

    settings = Settings.from_env()
    own_schema = not os.environ.get("ARCCM_DB_SCHEMA", "").strip()
    if own_schema:
        settings = attrs.evolve(settings, schema=DEMO_SCHEMA)
        if not memory:
            _drop_schema(settings)  # the demo's own: each run tells its story afresh
    container = Container() if memory else from_env(settings)
    try:
        run_demo(container=container)
    finally:
        container.lifecycle().shutdown()
    if not memory:
        typer.echo(
            f"\nThe demo's organization is in schema {settings.schema}. Look around, as its administrator:\n"
            f"  ARCCM_DB_SCHEMA={settings.schema} arccm sessions list --as sam@example.org\n"
            f"  ARCCM_DB_SCHEMA={settings.schema} arccm certificates list --as sam@example.org"
        )


DEMO_SCHEMA = "arccm_demo"


def _drop_schema(settings: Any) -> None:
    from arccm.adapters.runtime import configured

    database = configured(settings).database()
    database.check_reachable()
    database.drop_schema()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", metavar="PORT", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", metavar="N", min=1, max=64, help="Worker processes."),
) -> None:
    """Serve the HTTP API, the public verification pages and the health endpoints (docs/http.md), on the
    configured database or an embedded one; migrates it first.  SIGTERM or Ctrl-C stops it gracefully."""
    import signal

    import uvicorn

    from arccm.adapters.runtime import from_env

    from_env().lifecycle().shutdown()  # reachable and at head, once, before any worker starts
    common.note(f"serving on http://{host}:{port}")
    # uvicorn stops gracefully on SIGTERM (no new connections, in-flight requests finished, the app's shutdown run),
    # then raises the signal again under the handler found before it: by then all is done, so exit 0
    signal.signal(signal.SIGTERM, lambda *_: None)
    from arccm.adapters.http import events

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            events.SHUTTING_DOWN.set()  # open event streams end now, instead of holding the shutdown up
            super().handle_exit(sig, frame)

    config = uvicorn.Config("arccm.adapters.http.app:app_from_env", factory=True, host=host, port=port,
                            workers=workers, log_level="warning", timeout_graceful_shutdown=30)  # fmt: skip
    if workers == 1:
        Server(config).run()
    else:  # each worker process runs uvicorn's own server: its streams end at the graceful timeout
        uvicorn.run(config.app, factory=True, host=host, port=port, workers=workers, log_level="warning",
                    timeout_graceful_shutdown=30)  # fmt: skip


@app.command()
def token(
    user: str = typer.Option(..., "--as", metavar="USER", help="The user the token is for: an id or an e-mail."),
    ttl: int = typer.Option(60, "--ttl", metavar="MINUTES", min=1, max=7 * 24 * 60, help="Minutes until it expires."),
    as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP),
) -> None:
    """Mint a bearer token for the HTTP API (HS256 with ARCCM_JWT_SECRET, as a Supabase project issues them), for
    development and tests."""
    from datetime import UTC, datetime, timedelta

    from arccm.adapters.config import Settings
    from arccm.adapters.http.auth import mint
    from arccm.adapters.runtime import from_env

    settings = Settings.from_env()
    if settings.jwt_secret is None:
        raise common.fail("ARCCM_JWT_SECRET is not set: a token needs the secret the server checks it with")
    container = from_env(migrate=False)
    try:
        actor = common.acting(container, user)
    finally:
        container.lifecycle().shutdown()
    expires = datetime.now(UTC) + timedelta(minutes=ttl)
    minted = mint(actor.user_id, settings.jwt_secret, timedelta(minutes=ttl))
    if as_json:
        common.emit_json({"token": minted, "user_id": actor.user_id, "expires_at": expires})
    else:
        typer.echo(minted)


@app.command()
def health() -> None:
    """Print the database's health: status, latency, pool, migration revision."""
    from arccm.adapters.runtime import from_env

    container = from_env(migrate=False)
    report = container.lifecycle().health()
    report["stats"] = container.lifecycle().stats()
    typer.echo(json.dumps(report, indent=2, default=str))
    container.lifecycle().shutdown()
    if report["status"] == "error":
        raise typer.Exit(1)


def _database() -> Any:
    """The configured (or embedded) database, through the container, checked reachable; migrations run as its owner."""
    from arccm.adapters.runtime import configured

    database = configured().database()
    database.check_reachable()
    return database


@app.command()
def validate(
    as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP),
    checks: list[str] = typer.Option(
        [], "--check", metavar="NAME", help="Run only this check (repeatable); all ten by default."
    ),
) -> None:
    """Check this deployment: the ten checks of docs/cli.md, each with its figures and, when it fails, what to do.
    The organization's data is never written: the checks that must write or measure do so in scratch schemas that
    are dropped at the end.  Exit 0 when no check fails, 1 otherwise."""
    from arccm.adapters.config import Settings
    from arccm.adapters.postgres.validation import CHECKS, FAIL, Validation

    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        raise common.fail(f"--check: unknown check {common.excerpt(unknown[0])!r}; known: {', '.join(CHECKS)}")
    settings = Settings.from_env()
    database = _database()
    try:
        report = Validation(database, settings.jwt_secret, only=frozenset(checks) or None).run()
    finally:
        database.shutdown()
    if as_json:
        common.emit_json({"grade": report.grade, "passed": report.passed, "total": len(report.checks),
                          "checks": list(report.checks)})  # fmt: skip
    else:
        for check in report.checks:
            figures = ", ".join(f"{k} {v}" for k, v in check.figures.items() if v not in ([], None, {}))
            typer.echo(f"{check.status:<5} {check.name:<17} {figures}")
            if check.recommendation:
                typer.echo(f"      → {check.recommendation}")
        typer.echo(f"{report.passed}/{len(report.checks)} checks pass: {report.grade}")
    if report.grade == FAIL:
        raise typer.Exit(common.REFUSED)


@db.command()
def upgrade(
    revision: str = typer.Argument("head", metavar="REVISION"),
    as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP),
) -> None:
    """Migrate the schema up to REVISION (default: head)."""
    database = _database()
    database.upgrade(_revision(revision))
    _at(database.current(), database.head(), as_json)


@db.command()
def downgrade(
    revision: str = typer.Argument(..., metavar="REVISION", help="Target revision, or 'base' to remove everything."),
    as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP),
) -> None:
    """Migrate the schema down to REVISION."""
    database = _database()
    database.downgrade(_revision(revision))
    _at(database.current(), database.head(), as_json)


@db.command()
def current(as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP)) -> None:
    """Print the schema's revision and the newest one this release knows."""
    database = _database()
    now, head = database.current(), database.head()
    if as_json:
        common.emit_json({"current": now, "head": head, "up_to_date": now == head})
    else:
        typer.echo(f"current {now or 'base'}, head {head}")


@db.command(name="prune-rollups")
def prune_rollups(as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP)) -> None:
    """Delete the dashboard rollups' rows that count nothing any more (as the owner; safe while serving)."""
    from arccm.adapters.postgres.read_models import prune_rollups as prune

    pruned = prune(_database())
    if as_json:
        common.emit_json(pruned)
    else:
        typer.echo(f"pruned {sum(pruned.values())} rows: " + ", ".join(f"{name} {n}" for name, n in pruned.items()))


@db.command(name="rotate-key")
def rotate_key(as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP)) -> None:
    """Draw a new key for the standing's proofs (as the owner; safe while serving): every transaction running now is
    checked against the database again at its next statement — a suspension or deactivation reaches it at once."""
    database = _database()
    try:
        database.rotate_guard_key()
    except ValueError as error:
        raise fail(str(error)) from None
    if as_json:
        common.emit_json({"rotated": True, "schema": database.schema})
    else:
        typer.echo(f"rotated the guard key of schema {database.schema}")


def _revision(text: str) -> str:
    """A revision as alembic names them: head, base, or one this release knows (else one line, exit 2)."""
    from arccm.adapters.postgres.database import migration_revisions

    if text not in ("head", "base") and text not in migration_revisions():
        known = ", ".join(migration_revisions())
        raise fail(f"REVISION: expected head, base or one of {known}; got {excerpt(text)!r}")
    return text


def _at(now: str | None, head: str | None, as_json: bool) -> None:
    if as_json:
        common.emit_json({"current": now, "head": head, "up_to_date": now == head})
    else:
        typer.echo(f"at {now or 'base'}")


def _installed() -> str:
    from importlib.metadata import version as installed

    return installed("arccm")


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(_installed())


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(_installed())
        raise typer.Exit


@app.callback()
def main(
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the installed version and exit."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, hints or warnings: errors only."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Say more: a traceback with an internal error."),
) -> None:
    """arccm: training sessions, enrollments, certificates.  Exit codes: 0 done, 1 refused or not valid, 2 usage or
    configuration, 3 resync required, 4 internal error, 130 interrupted (docs/cli.md)."""
    if quiet and verbose:
        raise fail("--quiet and --verbose: choose one")
    common.QUIET, common.VERBOSE = quiet, verbose


_register()


@app.command()
def seed(
    scale: str = typer.Option(
        "demo", metavar="SCALE", help="demo, s, m (≈100k learners, 500k enrollments) or l (ten times m)."
    ),
    seed_value: int = typer.Option(1, "--seed", metavar="N", help="The same seed gives the same data."),
    as_json: bool = typer.Option(False, "--json", help=common.JSON_HELP),
) -> None:
    """Load a deterministic organization by COPY (into the configured or embedded database)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from arccm.adapters.postgres.seed import SCALES, SeedRefused
    from arccm.adapters.postgres.seed import seed as load_seed

    if scale not in SCALES:
        raise fail(f"--scale: must be one of {', '.join(SCALES)}")
    database = _database()
    database.upgrade()
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=common.err, disable=common.QUIET) as bar:
        tasks: dict[str, Any] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        try:
            report = load_seed(database.owner_engine(), database.schema, scale, seed_value, progress=progress)
        except SeedRefused as refused:
            raise fail(str(refused)) from None
    if as_json:
        common.emit_json({"scale": scale, "seconds": report.seconds, "rows": report.rows})
        return
    rows = ", ".join(f"{count:,} {table}" for table, count in report.rows.items() if count)
    typer.echo(f"seeded scale {scale} in {report.seconds}s: {rows}")
