"""Every command handler, fed what an untrusted caller could send, on every backend (issue 10: hostile input).

Per field a value of the annotated type as hypothesis makes them (NaN and 10**30 decimals, 2**70 integers, naive
datetimes, NUL characters, ids of things that exist and of things that do not) or junk of another type. A handler
answers with a ``Result``; a value of the wrong type is ``invalid_value`` naming a field; nothing raises — on
PostgreSQL that includes driver errors such as ``integer out of range``.
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from arccm.adapters.container import Container
from arccm.application import commands as c
from arccm.application.validation import Between
from arccm.domain.access import Role
from tests.world import World

JUNK = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.floats(allow_nan=True), st.binary(max_size=3))
UPKEEP = (c.ExpireCertificates, c.RemindRecertification, c.SendNotificationEmails)
COMMANDS = sorted(
    (cls for cls in vars(c).values() if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == c.__name__),
    key=lambda cls: cls.__name__,
)


def _handler_name(command: type) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in command.__name__).lstrip("_")


def _typed(hint: Any, ids: st.SearchStrategy[uuid.UUID]) -> st.SearchStrategy[Any]:
    """A value of ``hint``; UUIDs are often ids that exist, so the fuzz reaches the domain and the database."""
    origin = typing.get_origin(hint)
    if hint is uuid.UUID:
        return ids
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_typed(option, ids) for option in typing.get_args(hint)))
    if hint is datetime:  # naive ones (refused) and aware ones in any zone, as far as year 1 and 9999
        return st.one_of(st.datetimes(), st.datetimes(timezones=st.timezones()))
    if origin is frozenset:
        return st.frozensets(_typed(typing.get_args(hint)[0], ids), max_size=3)
    return st.from_type(hint)


def _ranges(hint: Any) -> list[Between]:
    """The ``Between`` bounds an annotation (or a member of its union) carries."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [bounds for option in typing.get_args(hint) for bounds in _ranges(option)]
    return [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Between)]


def _out_of_range(value: object, ranges: list[Between]) -> bool:
    try:
        return any(not bounds.low <= value <= bounds.high for bounds in ranges)  # type: ignore[operator]
    except TypeError:
        return False


def _is_instance(value: object, hint: object) -> bool:
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for option in options:
        if option is type(None):
            if value is None:
                return True
        elif typing.get_origin(option) is frozenset:
            if isinstance(value, frozenset) and all(isinstance(v, typing.get_args(option)[0]) for v in value):
                return True
        elif isinstance(option, type) and isinstance(value, option) and not (option is int and isinstance(value, bool)):
            if option is datetime:
                return value.tzinfo is not None  # type: ignore[attr-defined]
            return not (option is date and isinstance(value, datetime))
    return False


@pytest.mark.parametrize("command", COMMANDS, ids=lambda cls: cls.__name__)
def test_every_command_handler_answers_hostile_input_with_a_result(
    make_container: Callable[[], Container], command: type
) -> None:
    world = World.create(make_container())
    provider = world.provider()
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    learner, student = world.user(Role.IN), world.student()
    session = world.session(ap, ic)
    enrollment = world.container.enroll_learner()(ap, c.EnrollLearner(session.id, learner.user_id)).unwrap()
    known = [world.course.id, world.locations[0].id, ap.user_id, ic.user_id, learner.user_id, student.id]
    known += [session.id, enrollment.id]
    ids = st.one_of(st.sampled_from(known), st.uuids())
    hints = typing.get_type_hints(command)
    ranges = {name: _ranges(hint) for name, hint in typing.get_type_hints(command, include_extras=True).items()}
    typed = {f.name: _typed(hints[f.name], ids) for f in attrs.fields(command)}
    actors = [world.admin, ap, ic] + ([None] if command in UPKEEP else [])
    handler = getattr(world.container, _handler_name(command))()

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), actor=st.sampled_from(actors))
    def answers(data: st.DataObject, actor: object) -> None:
        # at most one field of another type, so that most examples pass the edge and reach the domain and the database
        odd = data.draw(st.sampled_from([None, *typed]), label="field of another type")
        values = {name: data.draw(JUNK if name == odd else value, label=name) for name, value in typed.items()}
        outcome = handler(command(**values)) if command is c.VerifyCertificate else handler(actor, command(**values))
        assert isinstance(outcome, (Success, Failure))
        wrong = [name for name, value in values.items() if not _is_instance(value, hints[name])]
        if wrong:
            assert isinstance(outcome, Failure)
            assert outcome.failure().code == "invalid_value"
            assert outcome.failure().field in wrong + [n for n, v in values.items() if _out_of_range(v, ranges[n])]

    answers()
