"""`arccm sessions|people|rosters|batches …`: find what you need an id for, in the acting user's scope."""

from __future__ import annotations

from datetime import date

import typer

from arccm.adapters.cli.common import (
    AFTER_HELP,
    AS_HELP,
    JSON_HELP,
    LIMIT_HELP,
    acting,
    emit_json,
    fail,
    fields,
    identifier,
    page,
    running,
    table,
    value,
)

sessions = typer.Typer(no_args_is_help=True, help="Find training sessions and look at one.")
people = typer.Typer(no_args_is_help=True, help="Find users and external learners.")
rosters = typer.Typer(no_args_is_help=True, help="Find rosters (external learners' classes) and look at one.")
batches = typer.Typer(no_args_is_help=True, help="Find certificate batches and look at one.")

SESSION_COLUMNS = ("starts_at", "title", "status", "seats_taken", "max_capacity", "waitlist_length", "id")
ENROLLMENT_COLUMNS = ("enrolled_at", "learner_id", "status", "waitlist_position", "attendance", "completion", "id")
PERSON_COLUMNS = ("name", "kind", "role", "active", "id")
ROSTER_COLUMNS = ("name", "members", "max_capacity", "instructor_id", "id")
MEMBER_COLUMNS = ("student_id", "attendance", "completion", "id")
BATCH_COLUMNS = ("issue_date", "name", "status", "done", "total", "issued", "not_eligible", "id")

USER = typer.Option(..., "--as", metavar="USER", help=AS_HELP)
AS_JSON = typer.Option(False, "--json", help=JSON_HELP)
LIMIT = typer.Option(50, metavar="N", help=LIMIT_HELP)
AFTER = typer.Option(None, metavar="CURSOR", help=AFTER_HELP)


def _day(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{option}: expected a date like 2026-06-01, got {text[:40]!r}") from None


@sessions.command(name="list")
def list_sessions(
    user: str = USER,
    status: str | None = typer.Option(None, metavar="STATUS", help="scheduled, in_progress, completed or cancelled."),
    start: str | None = typer.Option(None, "--from", metavar="DAY", help="Starting on or after this day (UTC)."),
    end: str | None = typer.Option(None, "--to", metavar="DAY", help="Starting before this day (UTC)."),
    limit: int = LIMIT,
    after: str | None = AFTER,
    as_json: bool = AS_JSON,
) -> None:
    """The sessions the user may read, in order of their start."""
    first, last = _day("--from", start), _day("--to", end)
    with running() as container:
        actor = acting(container, user)
        found = value(container.directory().sessions(actor, status, first, last, after, limit))
    page(found, SESSION_COLUMNS, as_json)


@sessions.command(name="show")
def show_session(
    session_id: str = typer.Argument(..., metavar="SESSION_ID"), user: str = USER, as_json: bool = AS_JSON
) -> None:
    """One session, with the enrollments the user may read."""
    target = identifier("SESSION_ID", session_id, "a session")
    with running() as container:
        detail = value(container.directory().session(acting(container, user), target))
    if as_json:
        emit_json(detail)
        return
    fields(detail.session)
    table(detail.enrollments, ENROLLMENT_COLUMNS, title="enrollments")


@people.command(name="find")
def find_people(
    text: str = typer.Argument(..., metavar="NAME_OR_EMAIL", help="Part of a name, or a whole e-mail address."),
    user: str = USER,
    limit: int = LIMIT,
    after: str | None = AFTER,
    as_json: bool = AS_JSON,
) -> None:
    """Users and external learners the user may read, by name (letter case ignored) or e-mail."""
    with running() as container:
        found = value(container.directory().people(acting(container, user), text, after, limit), "NAME_OR_EMAIL")
    page(found, PERSON_COLUMNS, as_json)


@rosters.command(name="list")
def list_rosters(user: str = USER, limit: int = LIMIT, after: str | None = AFTER, as_json: bool = AS_JSON) -> None:
    """The rosters the user may read, by name."""
    with running() as container:
        found = value(container.directory().rosters(acting(container, user), after, limit))
    page(found, ROSTER_COLUMNS, as_json)


@rosters.command(name="show")
def show_roster(
    roster_id: str = typer.Argument(..., metavar="ROSTER_ID"), user: str = USER, as_json: bool = AS_JSON
) -> None:
    """One roster and its members."""
    target = identifier("ROSTER_ID", roster_id, "a roster")
    with running() as container:
        detail = value(container.directory().roster(acting(container, user), target))
    if as_json:
        emit_json(detail)
        return
    fields(detail.roster)
    table(detail.members, MEMBER_COLUMNS, title="members")


@batches.command(name="list")
def list_batches(user: str = USER, limit: int = LIMIT, after: str | None = AFTER, as_json: bool = AS_JSON) -> None:
    """The certificate batches the user may read (or started), newest first."""
    with running() as container:
        found = value(container.directory().batches(acting(container, user), after, limit))
    page(found, BATCH_COLUMNS, as_json)


@batches.command(name="show")
def show_batch(
    batch_id: str = typer.Argument(..., metavar="BATCH_ID"), user: str = USER, as_json: bool = AS_JSON
) -> None:
    """One batch: its source, status and progress (resume a running one with `certificates resume`)."""
    target = identifier("BATCH_ID", batch_id, "a batch")
    with running() as container:
        detail = value(container.directory().batch(acting(container, user), target))
    if as_json:
        emit_json(detail)
    else:
        fields(detail)
