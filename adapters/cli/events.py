"""`arccm events tail`: the live change feed, as JSON lines, as one user may see it."""

from __future__ import annotations

import queue

import typer

from arccm.adapters.cli.common import AS_HELP, RESYNC, acting, excerpt, fail, running, say
from arccm.adapters.events_codec import change_json
from arccm.application.ports.change_feed import Change, Cursor
from arccm.application.ports.subscriptions import TOPICS

app = typer.Typer(no_args_is_help=True, help="The change feed.")


@app.command()
def tail(
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    topics: list[str] = typer.Option(
        sorted(TOPICS), "--topics", metavar="TOPIC", help="Topics to follow (repeat the option)."
    ),
    since: str | None = typer.Option(
        None, metavar="CURSOR", help="Resume after this cursor (TXID:ID); default: from the start."
    ),
    max_events: int | None = typer.Option(None, "--max", min=1, metavar="N", help="Stop after this many events."),
) -> None:
    """Print every change the user may see, then follow new ones as they commit."""
    try:
        start = Cursor.parse(since) if since is not None else None
        if start is not None and not (0 <= start.txid < 2**63 and 0 <= start.id < 2**63):
            raise ValueError("out of range")
    except ValueError:
        raise fail(f"--since: expected TXID:ID (two whole numbers below 2^63), got {excerpt(since or '')!r}") from None
    unknown = set(topics) - TOPICS
    if unknown:
        named = excerpt(", ".join(sorted(unknown)))
        raise fail(f"--topics: unknown {named}; known: {', '.join(sorted(TOPICS))}")
    with running() as container:
        actor = acting(container, user)
        arrived: queue.Queue[Change] = queue.Queue()
        subscription = container.subscriptions().subscribe(actor, frozenset(topics), arrived.put, since=start)
        printed = 0
        try:
            while max_events is None or printed < max_events:
                try:
                    typer.echo(change_json(arrived.get(timeout=0.5)))
                    printed += 1
                except queue.Empty:
                    if subscription.health().resync_required:
                        say("resync required: the cursor is older than the retained feed")
                        raise typer.Exit(RESYNC) from None
        except KeyboardInterrupt:
            pass
        finally:
            container.subscriptions().stop()


@app.command()
def prune(
    older_than: str = typer.Option(
        "30d", "--older-than", metavar="DAYS", help="Drop changes recorded longer ago than this (e.g. 30d)."
    ),
) -> None:
    """Apply the feed's retention (as the database owner); readers behind it are told to resync."""
    import re
    from datetime import UTC, datetime, timedelta

    from arccm.adapters.postgres.read_models import prune_change_log
    from arccm.adapters.runtime import configured

    match = re.fullmatch(r"(\d{1,5})d?", older_than.strip())
    if match is None:
        raise fail(f"--older-than: expected a number of days like 30d (at most 99999), got {excerpt(older_than)!r}")
    database = configured().database()
    cutoff = datetime.now(UTC) - timedelta(days=int(match.group(1)))
    typer.echo(f"pruned {prune_change_log(database, cutoff)} changes recorded before {cutoff.isoformat()}")
