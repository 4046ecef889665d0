"""The library's edge: arguments are checked against their annotations before any use case runs.

arccm is embedded and, through the HTTP and CLI adapters, fed untrusted input.  A ``None`` actor, a string where
a UUID belongs or a date where a datetime belongs must come back as the typed ``invalid_value`` failure that names
the field — not as an ``AttributeError`` three layers down, or a driver error.  ``boundary`` does that for every
handler's ``__call__``; ``check_arguments`` is the same check for callers (read models) that report by raising
``InvalidArgument``.
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ParamSpec, TypeVar
from uuid import UUID

import attrs
from returns.result import Failure

from arccm.domain.errors import InvalidValue

P = ParamSpec("P")
R = TypeVar("R")


class InvalidArgument(ValueError):
    """Raised by queries that return plain values (read models) when an argument has the wrong type."""

    def __init__(self, error: InvalidValue) -> None:
        super().__init__(error.message)
        self.error = error


_NAMES = {UUID: "a UUID", date: "a date", datetime: "a timezone-aware datetime", str: "text", int: "a whole number",
          bool: "true or false", Decimal: "a decimal number", float: "a number"}  # fmt: skip


Check = Callable[[object, str], InvalidValue | None]


@attrs.frozen
class Between:
    """An inclusive range for an ``Annotated`` parameter: ``Annotated[int, Between(0, 10_000)]`` refuses -1 and
    10**20 at the edge (a database would refuse them later, as a driver error)."""

    low: Any
    high: Any


Limit = Annotated[int, Between(0, 100_000)]
"""How many rows a caller may ask for in one read (a page; larger reads page through a cursor)."""
Day = Annotated[date, Between(date(1900, 1, 1), date(9000, 12, 31))]
"""A calendar day arccm computes with (windows and expiry arithmetic stay inside ``date``'s range)."""
Moment = Annotated[datetime, Between(datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 12, 31, tzinfo=UTC))]
"""An instant arccm computes with (converting it to any zone stays inside ``datetime``'s range)."""
Position = Annotated[int, Between(0, 2**63 - 1)]
"""A change-feed position component: a 64-bit transaction id or sequence number."""


def problem(value: object, annotation: Any, field: str) -> InvalidValue | None:
    """Why ``value`` does not fit ``annotation`` (None when it does)."""
    return checker(annotation)(value, field)


@functools.cache
def checker(annotation: Any) -> Check:
    """A check for one annotation, built once: the edge is crossed on every call, so it must cost little."""
    if annotation is Any:
        return _anything
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _annotated(annotation)
    if origin in (typing.Union, types.UnionType):
        return _union(annotation)
    if annotation is type(None):
        return lambda value, field: None if value is None else InvalidValue(field, "must be empty")
    if origin in (frozenset, set, tuple, list):
        return _collection(annotation, origin)
    if origin is not None or not isinstance(annotation, type):  # Callable and other generics: trusted
        return _anything
    if attrs.has(annotation) and not issubclass(annotation, enum.Enum):
        return _attrs_class(annotation)
    return _instance(annotation)


def _anything(value: object, field: str) -> None:
    return None


def _union(annotation: Any) -> Check:
    options = [(option, checker(option)) for option in typing.get_args(annotation)]
    # options a value passes by its exact type alone (no range, no fields, no time zone to look at)
    exact = frozenset(o for o in typing.get_args(annotation) if o is type(None) or _plain_type(o))

    def check(value: object, field: str) -> InvalidValue | None:
        if type(value) in exact:
            return None
        closest = None
        for option, option_check in options:
            found = option_check(value, field)
            if found is None:
                return None
            if isinstance(_plain(option), type) and isinstance(value, _plain(option)):
                closest = found  # the right kind of value, wrong inside (a naive datetime, a command's field)
        return closest or _wrong(field, annotation)

    return check


def _annotated(annotation: Any) -> Check:
    base = checker(typing.get_args(annotation)[0])
    ranges = [m for m in annotation.__metadata__ if isinstance(m, Between)]

    def check(value: object, field: str) -> InvalidValue | None:
        found = base(value, field)
        if found is not None:
            return found
        for bounds in ranges:
            if not bounds.low <= value <= bounds.high:
                return InvalidValue(field, f"must be between {bounds.low} and {bounds.high}")
        return None

    return check


def _plain_type(annotation: Any) -> bool:
    return isinstance(annotation, type) and annotation is not datetime and not attrs.has(annotation)


def _instance(annotation: type) -> Check:
    def check(value: object, field: str) -> InvalidValue | None:
        if type(value) is annotation and annotation is not datetime:  # the common case, at once
            return None
        if annotation is float and isinstance(value, int | Decimal) and not isinstance(value, bool):
            return None
        if annotation is int and isinstance(value, bool):
            return _wrong(field, annotation)
        if annotation is date and isinstance(value, datetime):
            return InvalidValue(field, "must be a date, not a date and time")
        if not isinstance(value, annotation):
            return _wrong(field, annotation)
        if isinstance(value, datetime) and value.tzinfo is None:
            return InvalidValue(field, "must be timezone-aware")
        return None

    return check


def _attrs_class(annotation: type) -> Check:
    own = _instance(annotation)
    fields: list[tuple[str, Check]] = []

    def check(value: object, field: str) -> InvalidValue | None:
        found = own(value, field)
        if found is not None:
            return found
        if not fields:  # resolved on first use (a class may name itself)
            hints = _hints(annotation)
            fields.extend((a.name, checker(hints.get(a.name, Any))) for a in attrs.fields(annotation) if a.init)
        for name, check_field in fields:
            found = check_field(getattr(value, name), name)
            if found is not None:
                return found
        return None

    return check


def _collection(annotation: Any, origin: type) -> Check:
    items = typing.get_args(annotation)
    if origin is tuple and items and items[-1] is not Ellipsis:
        return _fixed_tuple(annotation, items)
    item = checker(items[0] if items else Any)

    def check(value: object, field: str) -> InvalidValue | None:
        if not isinstance(value, origin):
            return _wrong(field, annotation)
        elements: Iterable[object] = value  # type: ignore[assignment]  # checked just above: a collection
        for index, element in enumerate(elements):
            found = item(element, f"{field}[{index}]")
            if found is not None:
                return found
        return None

    return check


def _fixed_tuple(annotation: Any, items: tuple[Any, ...]) -> Check:
    """``tuple[A, B]``: exactly two elements, the first an A, the second a B."""
    checks = [checker(item) for item in items]

    def check(value: object, field: str) -> InvalidValue | None:
        if not isinstance(value, tuple) or len(value) != len(checks):
            return _wrong(field, annotation)
        for index, (element, check_element) in enumerate(zip(value, checks, strict=True)):
            found = check_element(element, f"{field}[{index}]")
            if found is not None:
                return found
        return None

    return check


@functools.cache
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


@functools.cache
def _hints(target: Any) -> Mapping[str, Any]:
    return typing.get_type_hints(target, include_extras=True)


def _wrong(field: str, annotation: Any) -> InvalidValue:
    annotation = _plain(annotation)
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    options = tuple(_plain(o) for o in options)
    names = [_NAMES.get(o, getattr(o, "__name__", str(o))) for o in options if o is not type(None)]
    wanted = " or ".join(names) if names else _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    if options and type(None) in options:
        wanted += " (or left out)"
    return InvalidValue(field, f"must be {wanted}")


def _plain(annotation: Any) -> Any:
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


def check_arguments(function: Callable[..., Any], *args: Any, **kwargs: Any) -> InvalidValue | None:
    """The first argument of this call that does not fit its annotation, if any."""
    compiled = _compiled(function)
    checks: Iterable[tuple[str, Check, Any]]
    if compiled is None:  # *args or **kwargs in the signature: bind the slow, general way
        bound = _signature(function).bind_partial(*args, **kwargs)
        hints = _hints(function)
        checks = ((name, checker(hints.get(name, Any)), value) for name, value in bound.arguments.items())
    else:
        ordered, by_name = compiled
        if len(args) > len(ordered):
            raise TypeError("too many positional arguments")
        unknown = kwargs.keys() - by_name.keys()
        if unknown:
            raise TypeError(f"got an unexpected keyword argument {sorted(unknown)[0]!r}")
        checks = (
            *((name, check, value) for (name, check), value in zip(ordered, args, strict=False)),
            *((name, by_name[name], value) for name, value in kwargs.items()),
        )
    for name, check, value in checks:
        if name == "self":
            continue
        found = check(value, name)
        if found is not None:
            return found
    return None


@functools.cache
def _compiled(function: Callable[..., Any]) -> tuple[list[tuple[str, Check]], dict[str, Check]] | None:
    """Each parameter's check in order and by name, built once per function (binding by ``inspect`` on every
    call cost more than the checks themselves)."""
    parameters = _signature(function).parameters.values()
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
        return None
    hints = _hints(function)
    ordered = [(p.name, checker(hints.get(p.name, Any))) for p in parameters if p.kind is not p.KEYWORD_ONLY]
    return ordered, {p.name: checker(hints.get(p.name, Any)) for p in parameters if p.kind is not p.POSITIONAL_ONLY}


@functools.cache
def argument_checks(function: Callable[..., Any]) -> dict[str, Check]:
    """Each parameter's check, by name — for callers that pass arguments by name and want no binding cost."""
    hints = _hints(function)
    return {name: checker(hints.get(name, Any)) for name in _signature(function).parameters if name != "self"}


def boundary(method: Callable[P, R]) -> Callable[P, R]:
    """Check a use case's arguments before it runs; a misfit is a ``Failure(InvalidValue)``, naming the field."""

    @functools.wraps(method)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            found = check_arguments(method, *args, **kwargs)
        except TypeError as error:  # a missing or unexpected argument: the caller's bug, said plainly
            raise TypeError(f"{method.__qualname__}: {error}") from None
        if found is not None:
            return Failure(found)  # type: ignore[return-value]
        return method(*args, **kwargs)

    return checked


def checked_query(method: Callable[P, R]) -> Callable[P, R]:
    """The same check for a query returning a plain value: a misfit raises ``InvalidArgument``."""

    @functools.wraps(method)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        found = check_arguments(method, *args, **kwargs)
        if found is not None:
            raise InvalidArgument(found)
        return method(*args, **kwargs)

    return checked
