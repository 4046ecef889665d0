"""The `arccm` command line."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="arccm: training sessions, enrollments, certificates.")


@app.command()
def demo() -> None:
    """Run the end-to-end story on the in-memory adapter."""
    from arccm.adapters.cli.demo import run_demo

    run_demo()


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as installed

    typer.echo(installed("arccm"))
