"""`arccm audit`: who changed what, and who was refused what — an operator's view (read as the owner)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import attrs
import typer

from arccm.adapters.cli.common import excerpt, fail, identifier, running

SINCE_HELP = "Only entries at or after this time (ISO 8601; a date means its midnight UTC)."


def audit(
    table: str | None = typer.Option(None, "--table", metavar="TABLE", help="Only changes to this table."),
    row: str | None = typer.Option(
        None, "--row", metavar="ROW_ID", help="Only changes to this row (its id; with --table)."
    ),
    actor: str | None = typer.Option(
        None, "--actor", metavar="USER_ID", help="Only what this user did or was refused."
    ),
    since: str | None = typer.Option(None, "--since", metavar="TIME", help=SINCE_HELP),
    limit: int = typer.Option(1000, "--limit", min=1, max=100_000, metavar="N", help="At most this many entries."),
) -> None:
    """Print the audit trail as JSON lines, oldest first: operation, table, row, actor, changed fields, time."""
    actor_id = identifier("--actor", actor, "a user") if actor else None
    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError:
        raise fail(f"--since: expected an ISO 8601 date or time, got {excerpt(since or '')!r}") from None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if row is not None and table is None:
        raise fail("--row: needs --table (row ids are per table)")
    with running() as container:
        for entry in container.audit().history(table, row, actor_id, start, limit):
            fields = {k: v for k, v in attrs.asdict(entry).items() if v is not None}
            typer.echo(json.dumps(fields, sort_keys=True, default=str))
