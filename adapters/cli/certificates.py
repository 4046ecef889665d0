"""`arccm certificates …`: find, issue, batch, revoke, reinstate, verify, render, expire and remind."""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from arccm.adapters.cli import common
from arccm.adapters.cli.common import (
    AFTER_HELP,
    AS_HELP,
    JSON_HELP,
    LIMIT_HELP,
    REFUSED,
    USAGE,
    acting,
    emit_json,
    err,
    excerpt,
    fail,
    fields,
    identifier,
    page,
    running,
    value,
)
from arccm.application import commands
from arccm.application.commands import RemindRecertification
from arccm.application.use_cases.certificates import BatchProgress, BatchReport
from arccm.domain.access import Actor
from arccm.domain.certificate import CompletionKind

if TYPE_CHECKING:
    from arccm.adapters.container import Container

app = typer.Typer(no_args_is_help=True, help="Issue, verify, render and maintain certificates.")


def _report_dict(report: BatchReport) -> dict[str, Any]:
    data = attrs.asdict(report, recurse=True)
    data.pop("certificate_ids")
    data["certificates"] = len(report.certificate_ids)
    return data


@app.command()
def batch(
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    session: str | None = typer.Option(
        None, metavar="SESSION_ID", help="Certify the completed learners of this session."
    ),
    roster: str | None = typer.Option(None, metavar="ROSTER_ID", help="Certify the completed members of this roster."),
    chunk: int = typer.Option(1000, metavar="N", help="Certificates per transaction."),
    preview: bool = typer.Option(False, "--preview", help="Show who would and would not get one; write nothing."),
    name: str | None = typer.Option(None, metavar="TEXT", help="A name for the batch."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines: the batch, each chunk, then the report."),
) -> None:
    """Issue certificates for a session or a roster, in chunks, resumably."""
    if (session is None) == (roster is None):
        raise fail("give exactly one of --session or --roster")
    kind = CompletionKind.SESSION_ENROLLMENT if session else CompletionKind.ROSTER_MEMBER
    source = (
        identifier("--session", session, "a session") if session else identifier("--roster", roster or "", "a roster")
    )
    with running() as container:
        command = commands.BatchIssueCertificates(kind, source, chunk_size=chunk, preview=preview, name=name)
        actor = acting(container, user)
        _run_batch(actor, lambda on: container.batch_issue_certificates()(on[0], command, on[1]), as_json)


@app.command()
def resume(
    batch_id: str = typer.Argument(..., metavar="BATCH_ID", help="The batch to finish."),
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON lines: the batch, each chunk, then the report."),
) -> None:
    """Finish an interrupted batch: no duplicates, nothing missed."""
    target = identifier("BATCH_ID", batch_id, "a batch")
    with running() as container:
        actor = acting(container, user)
        _run_batch(actor, lambda on: container.resume_batch()(on[0], target, on[1]), as_json)


def _run_batch(actor: Actor, run: Any, as_json: bool) -> None:
    """Run a batch with a progress bar on a terminal; its id is the first line printed, so that an interrupted run
    can be resumed (``arccm certificates resume BATCH_ID``)."""
    columns = (TextColumn("issuing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=common.QUIET) as bar:
        task = bar.add_task("issuing", total=None)
        announced: list[object] = []

        def on_progress(progress: BatchProgress) -> None:
            if not announced:
                announced.append(progress.batch_id)
                line = {"batch": str(progress.batch_id)} if as_json else f"batch {progress.batch_id}"
                typer.echo(json.dumps(line) if as_json else line)
            bar.update(task, completed=progress.done, total=progress.total)
            if as_json:
                typer.echo(json.dumps({"done": progress.done, "total": progress.total, "issued": progress.issued}))
            else:
                typer.echo(f"progress {progress.done}/{progress.total} issued {progress.issued}")

        report: BatchReport = value(run((actor, on_progress)))
    data = _report_dict(report)
    typer.echo(json.dumps(data, default=str) if as_json else json.dumps(data, indent=2, default=str))


@app.command()
def verify(
    code: str = typer.Argument(..., metavar="CODE", help="The verification code, as printed or typed."),
    name: str | None = typer.Option(None, metavar="NAME", help="Confirm the holder's name without revealing it."),
) -> None:
    """What anyone may learn from a code.  Exit code 0: the certificate is active (and the name, if given, is the
    holder's); 1: revoked, superseded, expired, unknown, or the name not confirmed — the answer is still printed."""
    with running() as container:
        answer = value(container.verify_certificate()(commands.VerifyCertificate(code, name)))
        typer.echo(
            json.dumps({**attrs.asdict(answer.certificate), "name_confirmed": answer.name_confirmed}, default=str)
        )
    if answer.certificate.status != "active" or answer.name_confirmed is False:
        raise typer.Exit(REFUSED)


@app.command()
def pdf(
    code: str = typer.Argument(..., metavar="CODE", help="The certificate's verification code."),
    output: Path = typer.Option(..., "-o", "--output", metavar="PATH", help="Where to write the PDF."),
    user: str | None = typer.Option(None, "--as", metavar="USER", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Render a certificate as PDF, with a QR code to its verification page."""
    with running() as container:
        actor = acting(container, user) if user else None
        rendered = value(container.render_certificate()(actor, code))
        _write_whole(output, rendered.content)
        url = rendered.document.verification_url
        if as_json:
            emit_json({"path": str(output), "bytes": len(rendered.content), "verification_url": url})
        else:
            typer.echo(f"wrote {output} ({len(rendered.content)} bytes) for {url}")
    if urlsplit(rendered.document.verification_url).hostname in ("localhost", "127.0.0.1", "::1"):
        common.note(
            f"warning: the QR code points to {rendered.document.verification_url}, which only this machine"
            " can open: set ARCCM_PUBLIC_URL to the address that serves /verify"
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
        raise fail(f"--output: cannot write {excerpt(str(output))}: {reason}", USAGE) from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


@app.command()
def expire(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Record every certificate past its expiry date (once each, with an event)."""
    with running() as container:
        count = value(container.expire_certificates()(None))
    if as_json:
        emit_json({"expired": count})
    else:
        typer.echo(f"recorded {count} expired certificates")


MAX_DAYS = 3650  # ten years: further ahead than any certificate's validity


def _days(text: str) -> int:
    match = re.fullmatch(r"(\d{1,5})d?", text.strip())
    if match is None or int(match.group(1)) > MAX_DAYS:
        raise fail(f"--within: expected a number of days up to {MAX_DAYS} like 30d, got {excerpt(text)!r}")
    return int(match.group(1))


@app.command()
def remind(
    within: str = typer.Option(
        "30d", metavar="DAYS", help="How far ahead: certificates expiring within this many days."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One notification and one e-mail per certificate entering its recertification window; never twice."""
    days = _days(within)
    with running() as container:
        report = value(container.remind_recertification()(None, RemindRecertification(days)))
        emails = _send(container)
    if as_json:
        emit_json({"reminders": {"created": report.created, "already_sent": report.already_reminded}, "emails": emails})
    else:
        line = f"reminders: {report.created} new, {report.already_reminded} already sent; "
        typer.echo(line + _sent_line(emails))


@app.command(name="send-emails")
def send_emails(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Send every queued notification e-mail (failed ones are retried; none is sent twice)."""
    with running() as container:
        emails = _send(container)
    if as_json:
        emit_json(emails)
    else:
        typer.echo(_sent_line(emails))


def _send(container: Container) -> dict[str, Any]:
    """Send the queue when SMTP is configured; otherwise say so and leave every message queued."""
    if not container.config.smtp_url():
        return {"sent": 0, "failed": 0, "batch": None, "configured": False}
    sent = value(container.send_notification_emails()(None))
    return {"sent": sent.sent, "failed": sent.failed, "batch": str(sent.batch_id), "configured": True}


def _sent_line(emails: dict[str, Any]) -> str:
    if not emails["configured"]:
        return "e-mails: not sent, ARCCM_SMTP_URL is not set (they stay queued)"
    return f"e-mails: {emails['sent']} sent, {emails['failed']} failed (batch {emails['batch']})"


# --- finding and changing one certificate -------------------------------------------------------------------------

CERTIFICATE_COLUMNS = ("code", "recipient_name", "course_name", "issue_date", "expiry_date", "status", "id")


@app.command(name="list")
def list_certificates(
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    holder: str | None = typer.Option(None, metavar="PERSON_ID", help="Only this person's certificates."),
    status: str | None = typer.Option(None, metavar="STATUS", help="active, expired, revoked or superseded."),
    limit: int = typer.Option(50, metavar="N", help=LIMIT_HELP),
    after: str | None = typer.Option(None, metavar="CURSOR", help=AFTER_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The certificates the user may read, newest first."""
    person = identifier("--holder", holder, "a person") if holder else None
    with running() as container:
        actor = acting(container, user)
        found = value(container.directory().certificates(actor, person, status, after, limit), None)
    page(found, CERTIFICATE_COLUMNS, as_json)


@app.command()
def show(
    certificate: str = typer.Argument(..., metavar="CERTIFICATE", help="Its id or verification code."),
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One certificate: holder, source, status, revocation."""
    with running() as container:
        detail = value(container.directory().certificate(acting(container, user), certificate), "CERTIFICATE")
    if as_json:
        emit_json(detail)
        return
    fields(detail.certificate)
    fields(detail)


def _certificate_id(container: Container, actor: Actor, reference: str) -> Any:
    return value(container.directory().certificate(actor, reference), "CERTIFICATE").certificate.id


@app.command()
def issue(
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    session: str | None = typer.Option(None, metavar="SESSION_ID", help="The session the learner completed."),
    enrollment: str | None = typer.Option(None, metavar="ENROLLMENT_ID", help="The learner's enrollment in it."),
    roster: str | None = typer.Option(None, metavar="ROSTER_ID", help="The roster the learner completed."),
    member: str | None = typer.Option(None, metavar="MEMBER_ID", help="The learner's place on it."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Issue one certificate for one completion (a session's enrollment, or a roster's member)."""
    if (
        (session is None) == (roster is None)
        or (session is None) != (enrollment is None)
        or ((roster is None) != (member is None))
    ):
        raise fail("give --session with --enrollment, or --roster with --member")
    if session is not None:
        kind = CompletionKind.SESSION_ENROLLMENT
        parent = identifier("--session", session, "a session")
        completion = identifier("--enrollment", enrollment or "", "an enrollment")
    else:
        kind = CompletionKind.ROSTER_MEMBER
        parent = identifier("--roster", roster or "", "a roster")
        completion = identifier("--member", member or "", "a roster member")
    with running() as container:
        actor = acting(container, user)
        issued = value(container.issue_certificate()(actor, commands.IssueCertificate(kind, parent, completion)))
    _changed(issued, "issued", as_json)


@app.command()
def revoke(
    certificate: str = typer.Argument(..., metavar="CERTIFICATE", help="Its id or verification code."),
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    reason: str = typer.Option(..., metavar="TEXT", help="Why: kept with the certificate and told to its holder."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Revoke a certificate: it no longer verifies as valid, and its holder is told why."""
    with running() as container:
        actor = acting(container, user)
        target = _certificate_id(container, actor, certificate)
        changed = value(container.revoke_certificate()(actor, commands.RevokeCertificate(target, reason)))
    _changed(changed, "revoked", as_json)


@app.command()
def reinstate(
    certificate: str = typer.Argument(..., metavar="CERTIFICATE", help="Its id or verification code."),
    user: str = typer.Option(..., "--as", metavar="USER", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Undo a revocation (SA and AD only)."""
    with running() as container:
        actor = acting(container, user)
        target = _certificate_id(container, actor, certificate)
        changed = value(container.reinstate_certificate()(actor, commands.ReinstateCertificate(target)))
    _changed(changed, "reinstated", as_json)


def _changed(certificate: Any, what: str, as_json: bool) -> None:
    summary = {
        "id": str(certificate.id),
        "code": certificate.code.display,
        "recipient_name": certificate.recipient.name,
    }
    if as_json:
        emit_json({**summary, "result": what})
    else:
        typer.echo(f"{what} {summary['code']} for {summary['recipient_name']} (id {summary['id']})")
