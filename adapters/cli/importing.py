"""``arccm import legacy``: move an organization off the replaced system (docs/import.md)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import attrs
import typer

from arccm.adapters.cli import common
from arccm.adapters.cli.common import REFUSED, fail

app = typer.Typer(no_args_is_help=True, help="Import an organization's data from another system.")


@app.command()
def legacy(
    source: str = typer.Option(
        ..., "--from", metavar="URL", help="The replaced system's PostgreSQL database (read only, in one snapshot)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan and report; write nothing anywhere."),
    mapping: Path | None = typer.Option(
        None, "--mapping", metavar="PATH", help="TOML: location owners, time zones, status values, course names."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole outcome as one JSON document."),
    report_path: Path | None = typer.Option(None, "--report", metavar="PATH", help="Also write it to this file."),
    chunk: int = typer.Option(2_000, "--chunk", metavar="N", min=1, max=100_000, help="Rows per transaction."),
) -> None:
    """Import the replaced system's database: every source row imported, merged or quarantined with a reason,
    old verification codes kept.  Idempotent: a rerun imports nothing new and reports the same; a run killed
    half-way is finished by the next.  Exit 0 when done (or planned, with --dry-run), 1 when conflicts stop the
    run (the report says which: settle them in the mapping file), 2 for a bad option or mapping file."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from arccm.adapters.legacy.run import ImportRefused, checked_url, read_mapping, run_import
    from arccm.adapters.runtime import configured
    from arccm.adapters.system import SecureCodes

    try:
        rules = read_mapping(mapping)
        checked_url(source)
    except ImportRefused as refused:
        raise fail(str(refused)) from None
    if report_path is not None and not report_path.parent.is_dir():
        raise fail("--report: its directory does not exist")
    database = configured().database()
    database.check_reachable()
    if not dry_run and database.current() != database.head():  # (at head, no DDL: it would wait for every reader)
        database.upgrade()
    codes = SecureCodes()
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn())
    raw = database.owner_engine().raw_connection()
    try:
        with Progress(*columns, console=common.err, disable=common.QUIET or as_json) as bar:
            tasks: dict[str, Any] = {}

            def progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total or 1)
                bar.update(tasks[table], completed=done if total else 1)

            try:
                outcome = run_import(
                    raw.driver_connection,
                    database.schema,
                    source,
                    rules,
                    lambda: codes.new_code().canonical,
                    dry_run=dry_run,
                    progress=progress,
                    chunk=chunk,
                )
            except ImportRefused as refused:
                if refused.report is not None:
                    _emit(refused.report, as_json, report_path)
                raise fail(str(refused), REFUSED if refused.report is not None else common.USAGE) from None
    finally:
        raw.close()
    _emit(outcome, as_json, report_path)


def _emit(outcome: dict[str, Any], as_json: bool, report_path: Path | None) -> None:
    text = json.dumps(outcome, indent=2, default=str, ensure_ascii=False)
    if report_path is not None:
        try:
            descriptor, name = tempfile.mkstemp(dir=report_path.parent, prefix=f".{report_path.name[:64]}.")
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            os.replace(name, report_path)
        except OSError as error:  # the import is done: say where the report could not go, print it anyway
            common.say(f"--report: cannot write it: {error.strerror or type(error).__name__}")
    if as_json:
        typer.echo(text)
        return
    report = outcome["report"]
    rows = [
        _Line(table, c["source"], c["imported"], c["merged"], c["quarantined"], _reasons(c["reasons"]))
        for table, c in report["tables"].items()
        if c["source"]
    ]
    common.table(rows, ["table", "source", "imported", "merged", "quarantined", "reasons"])
    t = report["totals"]
    verb = "would import" if outcome["dry_run"] else "imported"
    typer.echo(f"{verb} {t['imported']:,}, merged {t['merged']:,}, quarantined {t['quarantined']:,} of {t['source']:,}")
    for field, values in report["unmapped"].items():
        typer.echo(f"unmapped {field}: " + ", ".join(f"{v!r} ×{n}" for v, n in values.items()))
    for conflict in report["conflicts"]:
        typer.echo(f"conflict: {conflict}")
    if report["duplicate_legacy_codes"]:
        typer.echo("legacy codes held twice (verify neither): " + ", ".join(report["duplicate_legacy_codes"]))
    if report["not_imported"]:
        typer.echo(
            "not imported (docs/import.md): " + ", ".join(f"{t} {n:,} rows" for t, n in report["not_imported"].items())
        )
    if not outcome["dry_run"]:
        written = sum(outcome["written"].values())
        check = outcome["content_check"] or {}
        typer.echo(
            f"this run wrote {written:,} rows; certificates checked against the source: {check.get('compared', 0):,},"
            f" mismatches {len(check.get('mismatches', []))}"
        )


@attrs.frozen
class _Line:
    table: str
    source: int
    imported: int
    merged: int
    quarantined: int
    reasons: str


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{r} {n}" for r, n in reasons.items())
