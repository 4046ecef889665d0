"""What every `arccm` command shares: exit codes, one-line errors, the acting user, and output.

Exit codes (docs/cli.md):

* 0 — done; for ``verify``, the certificate is active (and the name, if given, confirmed);
* 1 — refused or not valid: a business outcome (not found, forbidden, revoked, a rule broken);
* 2 — usage or configuration: a bad option or value, an unusable path, an unreachable database;
* 3 — resync required: a change-feed cursor older than the retained feed;
* 4 — internal error: a bug (``--verbose`` prints its traceback);
* 130 — interrupted (Ctrl-C).

Output: with ``--json``, one JSON document on stdout (JSON lines for streams); otherwise a table, drawn by rich
on a terminal and tab-separated lines (never wrapped) when piped.  Errors are one line on stderr.
"""

from __future__ import annotations

import json
import sys
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import typer
from returns.result import Failure, Result
from rich.console import Console

from arccm.adapters.jsonable import plain
from arccm.domain.access import Actor
from arccm.domain.errors import DomainError, InvalidValue

if TYPE_CHECKING:  # the container (and the database adapter under it) is imported when a command first runs
    from arccm.adapters.container import Container

OK, REFUSED, USAGE, RESYNC, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 4, 130
QUIET = False  # --quiet: errors only (no progress bars, hints or warnings)
VERBOSE = False  # --verbose: a traceback with an internal error

# one line per message whatever the width: rich wraps at 80 columns when stderr is not a terminal
err = Console(stderr=True, soft_wrap=True)

AS_HELP = "The acting user, by id or e-mail: their permissions and read scope apply."
JSON_HELP = "Print one JSON document instead of a table."
LIMIT_HELP = "At most this many rows (1–500)."
AFTER_HELP = "The cursor a previous page printed: the page after it."


def printable(text: str) -> str:
    """``text`` with its control and format characters (a newline, a terminal escape, a right-to-left override)
    shown escaped, never acted on by the terminal."""
    return "".join(c.encode("unicode_escape").decode() if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def say(message: str) -> None:
    """``arccm: message`` as one line on stderr, whatever the message holds."""
    err.print(f"arccm: {printable(message)}", markup=False, highlight=False)


def note(message: str) -> None:
    """A hint or warning on stderr, one line, unless --quiet."""
    if not QUIET:
        say(message)


def fail(message: str, code: int = USAGE) -> typer.Exit:
    """One line on stderr; raise the returned exit."""
    say(message)
    return typer.Exit(code)


def excerpt(text: str, limit: int = 80) -> str:
    """At most ``limit`` characters of what someone typed, for a message (never the whole of a huge value)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def running() -> Iterator[Container]:
    from arccm.adapters.config import ConfigError
    from arccm.adapters.postgres.database import DatabaseUnavailable
    from arccm.adapters.runtime import from_env

    try:
        container = from_env()
    except (ConfigError, DatabaseUnavailable) as error:
        raise fail(str(error)) from None
    try:
        yield container
    finally:
        container.lifecycle().shutdown()


def value(outcome: Result[Any, DomainError], option: str | None = None) -> Any:
    """The success, or one line on stderr naming what went wrong: exit 2 for bad input (naming ``option`` when
    given), 1 for a business refusal."""
    if isinstance(outcome, Failure):
        error = outcome.failure()
        if isinstance(error, InvalidValue):
            where = option or error.field
            raise fail(f"{where}: {excerpt(error.rule, 200)}")
        raise fail(f"{error.code}: {excerpt(error.message, 300)}", REFUSED)
    return outcome.unwrap()


def identifier(option: str, text: str, what: str) -> uuid.UUID:
    """``text`` as an id, or one line on stderr naming the option (with a short excerpt of the value) and exit 2."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise fail(f"{option}: not {what} id: {excerpt(text)!r}") from None


def acting(container: Container, user: str) -> Actor:
    """The user named by ``--as``: an id, or an e-mail address (of exactly one user)."""
    resolve = container.resolve_actor()
    if "@" in user:
        actor: Actor = value(resolve.by_email(user), "--as")
        return actor
    resolved: Actor = value(resolve(identifier("--as", user, "a user")))
    return resolved


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(plain(data), ensure_ascii=False, sort_keys=True))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return printable(" ".join(str(value).split()))  # a tab, newline or escape in a value never breaks a line


def table(rows: Sequence[Any], columns: Sequence[str], title: str | None = None) -> None:
    """Rows (attrs instances) as a table: rich on a terminal, tab-separated with a header line otherwise."""
    values = [[_cell(getattr(row, c)) for c in columns] for row in rows]
    if sys.stdout.isatty():
        from rich.table import Table
        from rich.text import Text

        drawn = Table(*columns, title=title, title_justify="left")
        for line in values:
            drawn.add_row(*(Text(cell) for cell in line))  # text as it is: a "[" in a name is no markup
        Console().print(drawn)
        return
    typer.echo("\t".join(columns))
    for line in values:
        typer.echo("\t".join(line))


def fields(record: Any, title: str | None = None) -> None:
    """One record as "field: value" lines."""
    if title and sys.stdout.isatty():
        Console().print(f"[bold]{title}[/bold]")
    for name, field_value in attrs.asdict(record, recurse=False).items():
        if not attrs.has(type(field_value)) and not isinstance(field_value, tuple):
            typer.echo(f"{name}: {_cell(field_value)}")


def page(found: Any, columns: Sequence[str], as_json: bool) -> None:
    """A page of a list, and how to ask for the next one."""
    if as_json:
        emit_json({"items": found.items, "next": found.next})
        return
    table(found.items, columns)
    if found.next:
        note(f"more: --after {found.next}")
