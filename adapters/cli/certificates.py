"""`arccm certificates …`: batches, verification, PDFs, expiry and reminders."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
err = Console(stderr=True)


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


def acting(container: Container, user: str) -> Actor:
    try:
        user_id = uuid.UUID(user)
    except ValueError:
        err.print(f"arccm: --as: not a user id: {user!r}", markup=False)
        raise typer.Exit(2) from None
    actor: Actor = value(container.resolve_actor()(user_id))
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
    source = uuid.UUID(session or roster or "")
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
    with running() as container:
        actor = acting(container, user)
        target = uuid.UUID(batch_id)
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
    """What anyone may learn from a code."""
    with running() as container:
        answer = value(container.verify_certificate()(commands.VerifyCertificate(code, name)))
        typer.echo(
            json.dumps({**attrs.asdict(answer.certificate), "name_confirmed": answer.name_confirmed}, default=str)
        )


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
        output.write_bytes(rendered.content)
        typer.echo(f"wrote {output} ({len(rendered.content)} bytes) for {rendered.document.verification_url}")


@app.command()
def expire() -> None:
    """Record every certificate past its expiry date (once each, with an event)."""
    with running() as container:
        count = value(container.expire_certificates()(None))
        typer.echo(f"recorded {count} expired certificates")


def _days(text: str) -> int:
    match = re.fullmatch(r"(\d+)d?", text.strip())
    if match is None:
        err.print(f"arccm: --within: expected a number of days like 30d, got {text!r}", markup=False)
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
