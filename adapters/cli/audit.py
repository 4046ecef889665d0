"""`arccm audit`: who changed what, and who was refused what — an operator's view (read as the owner)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import attrs
import typer

from arccm.adapters.cli.certificates import excerpt, identifier, running

SINCE_HELP = "Only entries at or after this time (ISO 8601; a date means its midnight UTC)."


def audit(
    table: str | None = typer.Option(None, "--table", help="Only changes to this table."),
    row: str | None = typer.Option(None, "--row", help="Only changes to this row (its id; with --table)."),
    actor: str | None = typer.Option(None, "--actor", help="Only what this user did or was refused."),
    since: str | None = typer.Option(None, "--since", help=SINCE_HELP),
    limit: int = typer.Option(1000, "--limit", min=1, max=100_000, help="At most this many entries."),
) -> None:
    """Print the audit trail as JSON lines, oldest first: operation, table, row, actor, changed fields, time."""
    actor_id = identifier("--actor", actor, "a user") if actor else None
    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError:
        typer.echo(f"arccm: --since: expected an ISO 8601 date or time, got {excerpt(since or '')!r}", err=True)
        raise typer.Exit(2) from None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if row is not None and table is None:
        typer.echo("arccm: --row: needs --table (row ids are per table)", err=True)
        raise typer.Exit(2)
    with running() as container:
        for entry in container.audit().history(table, row, actor_id, start, limit):
            fields = {k: v for k, v in attrs.asdict(entry).items() if v is not None}
            typer.echo(json.dumps(fields, sort_keys=True, default=str))
