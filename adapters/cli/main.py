"""The `arccm` command line. Failures a person can fix are one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from arccm.adapters.config import ConfigError
from arccm.adapters.postgres.database import DatabaseUnavailable

app = typer.Typer(no_args_is_help=True, help="arccm: training sessions, enrollments, certificates.")
db = typer.Typer(no_args_is_help=True, help="Schema migrations (run as the database owner).")
app.add_typer(db, name="db")

F = TypeVar("F", bound=Callable[..., Any])


def _register() -> None:
    from arccm.adapters.cli import audit, certificates, events

    app.add_typer(certificates.app, name="certificates")
    app.add_typer(events.app, name="events")
    app.command(name="audit")(audit.audit)


def friendly(command: F) -> F:
    """Turn configuration and connection problems into one line, not a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigError, DatabaseUnavailable) as error:
            typer.echo(f"arccm: {error}", err=True)
            raise typer.Exit(2) from None

    return run  # type: ignore[return-value]


@app.command()
@friendly
def demo(
    memory: bool = typer.Option(False, "--memory", help="Run on the in-memory store instead of PostgreSQL."),
) -> None:
    """Run the end-to-end story (on the embedded PostgreSQL unless ARCCM_DATABASE_URL is set)."""
    from arccm.adapters.cli.demo import run_demo
    from arccm.adapters.container import Container
    from arccm.adapters.runtime import from_env

    container = Container() if memory else from_env()
    try:
        run_demo(container=container)
    finally:
        container.lifecycle().shutdown()


@app.command()
@friendly
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


@db.command()
@friendly
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the schema up to REVISION (default: head)."""
    database = _database()
    database.upgrade(revision)
    typer.echo(f"at {database.current()}")


@db.command()
@friendly
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base' to remove everything.")) -> None:
    """Migrate the schema down to REVISION."""
    database = _database()
    database.downgrade(revision)
    typer.echo(f"at {database.current() or 'base'}")


@db.command()
@friendly
def current() -> None:
    """Print the schema's revision and the newest one this release knows."""
    database = _database()
    typer.echo(f"current {database.current() or 'base'}, head {database.head()}")


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
) -> None:
    """arccm: training sessions, enrollments, certificates."""


_register()


@app.command()
@friendly
def seed(
    scale: str = typer.Option("demo", help="demo, s, m (≈100k learners, 500k enrollments) or l (ten times m)."),
    seed_value: int = typer.Option(1, "--seed", help="The same seed gives the same data."),
) -> None:
    """Load a deterministic organization by COPY (into the configured or embedded database)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from arccm.adapters.postgres.seed import SCALES, SeedRefused
    from arccm.adapters.postgres.seed import seed as load_seed

    if scale not in SCALES:
        typer.echo(f"arccm: --scale: must be one of {', '.join(SCALES)}", err=True)
        raise typer.Exit(2)
    database = _database()
    database.upgrade()
    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn()) as bar:
        tasks: dict[str, Any] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        try:
            report = load_seed(database.owner_engine(), database.schema, scale, seed_value, progress=progress)
        except SeedRefused as refused:
            typer.echo(f"arccm: {refused}", err=True)
            raise typer.Exit(2) from None
    rows = ", ".join(f"{count:,} {table}" for table, count in report.rows.items() if count)
    typer.echo(f"seeded scale {scale} in {report.seconds}s: {rows}")
