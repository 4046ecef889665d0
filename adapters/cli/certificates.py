"""`arccm certificates …`: batches, verification, PDFs, expiry and reminders."""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import typer
from returns.result import Failure, Result
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from arccm.adapters.container import Container
from arccm.application import commands
from arccm.application.commands import RemindRecertification
from arccm.application.use_cases.certificates import BatchProgress, BatchReport
from arccm.domain.access import Actor
from arccm.domain.certificate import CompletionKind
from arccm.domain.errors import DomainError

app = typer.Typer(no_args_is_help=True, help="Issue, verify, render and maintain certificates.")
# one line per message whatever the width: rich wraps at 80 columns when stderr is not a terminal
err = Console(stderr=True, soft_wrap=True)


@contextmanager
def running() -> Iterator[Container]:
    from arccm.adapters.config import ConfigError
    from arccm.adapters.postgres.database import DatabaseUnavailable
    from arccm.adapters.runtime import from_env

    try:
        container = from_env()
    except (ConfigError, DatabaseUnavailable) as error:
        err.print(f"arccm: {error}", markup=False)
        raise typer.Exit(2) from None
    try:
        yield container
    finally:
        container.lifecycle().shutdown()


def value(outcome: Result[Any, DomainError]) -> Any:
    """The success, or one line on stderr naming what went wrong, and exit code 1."""
    if isinstance(outcome, Failure):
        error = outcome.failure()
        err.print(f"arccm: {error.code}: {error.message}", markup=False)
        raise typer.Exit(1)
    return outcome.unwrap()


def identifier(option: str, text: str, what: str) -> uuid.UUID:
    """``text`` as an id, or one line on stderr naming the option (with a short excerpt of the value) and exit 2."""
    try:
        return uuid.UUID(text)
    except ValueError:
        err.print(f"arccm: {option}: not {what} id: {excerpt(text)!r}", markup=False)
        raise typer.Exit(2) from None


def acting(container: Container, user: str) -> Actor:
    actor: Actor = value(container.resolve_actor()(identifier("--as", user, "a user")))
    return actor


def _print_report(report: BatchReport) -> None:
    typer.echo(json.dumps(_report_dict(report), indent=2, default=str))


def _report_dict(report: BatchReport) -> dict[str, Any]:
    data = attrs.asdict(report, recurse=True)
    data.pop("certificate_ids")
    data["certificates"] = len(report.certificate_ids)
    return data


@app.command()
def batch(
    user: str = typer.Option(..., "--as", help="User id of the person issuing (their permissions apply)."),
    session: str | None = typer.Option(None, help="Certify the completed learners of this session."),
    roster: str | None = typer.Option(None, help="Certify the completed members of this roster."),
    chunk: int = typer.Option(1000, help="Certificates per transaction."),
    preview: bool = typer.Option(False, "--preview", help="Show who would and would not get one; write nothing."),
    name: str | None = typer.Option(None, help="A name for the batch."),
) -> None:
    """Issue certificates for a session or a roster, in chunks, resumably."""
    if (session is None) == (roster is None):
        err.print("arccm: give exactly one of --session or --roster")
        raise typer.Exit(2)
    kind = CompletionKind.SESSION_ENROLLMENT if session else CompletionKind.ROSTER_MEMBER
    source = (
        identifier("--session", session, "a session") if session else identifier("--roster", roster or "", "a roster")
    )
    with running() as container:
        command = commands.BatchIssueCertificates(kind, source, chunk_size=chunk, preview=preview, name=name)
        actor = acting(container, user)
        _run_batch(actor, lambda on: container.batch_issue_certificates()(on[0], command, on[1]))


@app.command()
def resume(
    batch_id: str = typer.Argument(..., help="The batch to finish."),
    user: str = typer.Option(..., "--as", help="User id of the person issuing."),
) -> None:
    """Finish an interrupted batch: no duplicates, nothing missed."""
    target = identifier("BATCH_ID", batch_id, "a batch")
    with running() as container:
        actor = acting(container, user)
        _run_batch(actor, lambda on: container.resume_batch()(on[0], target, on[1]))


def _run_batch(actor: Actor, run: Any) -> None:
    columns = (TextColumn("issuing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("issuing", total=None)

        def on_progress(progress: BatchProgress) -> None:
            bar.update(task, completed=progress.done, total=progress.total)
            print(f"progress {progress.done}/{progress.total} issued {progress.issued}", flush=True)

        report: BatchReport = value(run((actor, on_progress)))
    _print_report(report)


@app.command()
def verify(
    code: str, name: str | None = typer.Option(None, help="Confirm the holder's name without revealing it.")
) -> None:
    """What anyone may learn from a code.  Exit code 0: the certificate is active (and the name, if given, is the
    holder's); 1: revoked, superseded, expired, unknown, or the name not confirmed — the answer is still printed."""
    with running() as container:
        answer = value(container.verify_certificate()(commands.VerifyCertificate(code, name)))
        typer.echo(
            json.dumps({**attrs.asdict(answer.certificate), "name_confirmed": answer.name_confirmed}, default=str)
        )
    if answer.certificate.status != "active" or answer.name_confirmed is False:
        raise typer.Exit(1)


@app.command()
def pdf(
    code: str,
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the PDF."),
    user: str | None = typer.Option(None, "--as", help="Render as this user (their read scope applies)."),
) -> None:
    """Render a certificate as PDF, with a QR code to its verification page."""
    with running() as container:
        actor = acting(container, user) if user else None
        rendered = value(container.render_certificate()(actor, code))
        _write_whole(output, rendered.content)
        typer.echo(f"wrote {output} ({len(rendered.content)} bytes) for {rendered.document.verification_url}")
    if urlsplit(rendered.document.verification_url).hostname in ("localhost", "127.0.0.1", "::1"):
        err.print(
            f"arccm: warning: the QR code points to {rendered.document.verification_url}, which only this machine"
            " can open: set ARCCM_PUBLIC_URL to the address that serves /verify",
            markup=False,
        )


def _write_whole(output: Path, content: bytes) -> None:
    """The file whole or not at all: written to a temporary file beside it, then renamed over it.  A path that
    cannot be written (no such directory, a directory, no permission, a full disk, a name too long) is one line
    on stderr and exit code 2, and leaves nothing behind."""
    temporary: Path | None = None
    try:
        if output.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        descriptor, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name[:64]}.", suffix=".part")
        temporary = Path(name)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, output)
        temporary = None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        err.print(f"arccm: --output: cannot write {excerpt(str(output))}: {reason}", markup=False)
        raise typer.Exit(2) from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def excerpt(text: str, limit: int = 80) -> str:
    """At most ``limit`` characters of what someone typed, for a message (never the whole of a huge value)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@app.command()
def expire() -> None:
    """Record every certificate past its expiry date (once each, with an event)."""
    with running() as container:
        count = value(container.expire_certificates()(None))
        typer.echo(f"recorded {count} expired certificates")


MAX_DAYS = 3650  # ten years: further ahead than any certificate's validity


def _days(text: str) -> int:
    match = re.fullmatch(r"(\d{1,5})d?", text.strip())
    if match is None or int(match.group(1)) > MAX_DAYS:
        err.print(
            f"arccm: --within: expected a number of days up to {MAX_DAYS} like 30d, got {excerpt(text)!r}",
            markup=False,
        )
        raise typer.Exit(2)
    return int(match.group(1))


@app.command()
def remind(
    within: str = typer.Option("30d", help="How far ahead: certificates expiring within this many days."),
) -> None:
    """One notification and one e-mail per certificate entering its recertification window; never twice."""
    days = _days(within)
    with running() as container:
        report = value(container.remind_recertification()(None, RemindRecertification(days)))
        typer.echo(f"reminders: {report.created} new, {report.already_reminded} already sent; " + _send(container))


@app.command(name="send-emails")
def send_emails() -> None:
    """Send every queued notification e-mail (failed ones are retried; none is sent twice)."""
    with running() as container:
        typer.echo(_send(container))


def _send(container: Container) -> str:
    """Send the queue when SMTP is configured; otherwise say so and leave every message queued."""
    if not container.config.smtp_url():
        return "e-mails: not sent, ARCCM_SMTP_URL is not set (they stay queued)"
    sent = value(container.send_notification_emails()(None))
    return f"e-mails: {sent.sent} sent, {sent.failed} failed (batch {sent.batch_id})"
