"""Wrong types at the library's edge come back as the typed ``invalid_value`` failure, naming the field (issue 10).

Found by calling the public API the way an untrusted caller (the HTTP layer to come) would: a ``None`` actor,
``None`` dates, a UUID as a string, a naive datetime, a time zone that is a folder.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure

from arccm.application import commands as c
from arccm.application.validation import InvalidArgument
from arccm.domain.access import Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.errors import InvalidValue
from tests.world import NOW, World

WORLD = World.create()
PROVIDER = WORLD.provider()
AP = WORLD.user(Role.AP, PROVIDER)


def test_a_none_actor_is_refused_by_name() -> None:
    outcome = WORLD.container.enroll_learner()(None, c.EnrollLearner(uuid.uuid4(), uuid.uuid4()))  # type: ignore[arg-type]
    assert isinstance(outcome, Failure)
    assert outcome.failure().field == "actor"
    assert outcome.failure().code == "invalid_value"


def test_a_uuid_given_as_text_is_refused_by_name() -> None:
    command = c.EnrollLearner(str(uuid.uuid4()), uuid.uuid4())  # type: ignore[arg-type]
    assert WORLD.container.enroll_learner()(AP, command) == Failure(InvalidValue("session_id", "must be a UUID"))


def test_an_actor_with_a_role_given_as_text_is_refused() -> None:
    forged = attrs.evolve(AP, role="SA")
    outcome = WORLD.container.enroll_learner()(forged, c.EnrollLearner(uuid.uuid4(), uuid.uuid4()))
    assert outcome == Failure(InvalidValue("role", "must be Role"))


def test_none_dates_and_a_naive_datetime_are_refused() -> None:
    view = WORLD.container.view_calendar()
    assert view(AP, None, date(2026, 1, 2), "UTC") == Failure(InvalidValue("start", "must be a date"))  # type: ignore[arg-type]
    naive = datetime(2026, 1, 1, 9)
    command = c.ScheduleSession(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "x", naive, naive + timedelta(hours=1), 5)
    outcome = WORLD.container.schedule_session()(AP, command)
    assert outcome == Failure(InvalidValue("starts_at", "must be timezone-aware"))


@pytest.mark.parametrize("zone", ["America", "America/", "../etc/passwd", "A" * 300, "Mars/Olympus", "", "UTC\x00"])
def test_a_time_zone_that_is_not_one_is_refused_not_raised(zone: str) -> None:
    outcome = WORLD.container.view_calendar()(AP, date(2026, 1, 1), date(2026, 1, 2), zone)
    assert isinstance(outcome, Failure)
    assert outcome.failure().field == "timezone"


def test_read_models_refuse_a_missing_date_instead_of_answering_wrongly() -> None:
    """``certificates(actor, today=None)`` reported an expired certificate as active."""
    with pytest.raises(InvalidArgument, match="today: must be a date"):
        WORLD.container.read_models().certificates(AP, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="actor"):
        WORLD.container.read_models().dashboard(None, NOW.date())  # type: ignore[arg-type]


JUNK = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.floats(allow_nan=True), st.binary(max_size=3))


@given(session_id=JUNK, completion_id=JUNK, issue_date=JUNK)
def test_any_junk_in_a_command_is_a_typed_failure_never_an_exception(
    session_id: object, completion_id: object, issue_date: object
) -> None:
    command = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session_id, completion_id, issue_date)  # type: ignore[arg-type]
    outcome = WORLD.container.issue_certificate()(AP, command)
    assert isinstance(outcome, Failure)
    assert outcome.failure().code in ("invalid_value", "not_found")
