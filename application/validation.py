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
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar
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


def problem(value: object, annotation: Any, field: str, depth: int = 0) -> InvalidValue | None:
    """Why ``value`` does not fit ``annotation`` (None when it does)."""
    if annotation is Any or depth > 4:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if any(problem(value, option, field, depth + 1) is None for option in options):
            return None
        return _wrong(field, annotation)
    if annotation is type(None):
        return None if value is None else InvalidValue(field, "must be empty")
    if origin in (frozenset, set, tuple, list):
        return _collection(value, annotation, origin, field, depth)
    if origin is not None:  # Callable and other generics: trusted
        return None
    if not isinstance(annotation, type):
        return None
    return _instance(value, annotation, field, depth)


def _instance(value: object, annotation: type, field: str, depth: int) -> InvalidValue | None:
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
    if attrs.has(annotation) and not issubclass(annotation, enum.Enum):
        return _fields(value, annotation, field, depth)
    return None


def _collection(value: object, annotation: Any, origin: type, field: str, depth: int) -> InvalidValue | None:
    if not isinstance(value, origin):
        return _wrong(field, annotation)
    items = typing.get_args(annotation)
    item = items[0] if items else Any
    elements: Iterable[object] = value  # type: ignore[assignment]  # checked just above: a collection
    for index, element in enumerate(elements):
        found = problem(element, item, f"{field}[{index}]", depth + 1)
        if found is not None:
            return found
    return None


def _fields(value: object, cls: type, field: str, depth: int) -> InvalidValue | None:
    hints = _hints(cls)
    for attribute in attrs.fields(cls):
        if not attribute.init:
            continue
        found = problem(getattr(value, attribute.name), hints.get(attribute.name, Any), attribute.name, depth + 1)
        if found is not None:
            return found
    return None


@functools.cache
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


@functools.cache
def _hints(target: Any) -> Mapping[str, Any]:
    return typing.get_type_hints(target)


def _wrong(field: str, annotation: Any) -> InvalidValue:
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    names = [_NAMES.get(o, getattr(o, "__name__", str(o))) for o in options if o is not type(None)]
    wanted = " or ".join(names) if names else _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    if options and type(None) in options:
        wanted += " (or left out)"
    return InvalidValue(field, f"must be {wanted}")


def check_arguments(function: Callable[..., Any], *args: Any, **kwargs: Any) -> InvalidValue | None:
    """The first argument of this call that does not fit its annotation, if any."""
    bound = _signature(function).bind_partial(*args, **kwargs)
    hints = _hints(function)
    for name, value in bound.arguments.items():
        if name == "self":
            continue
        found = problem(value, hints.get(name, Any), name)
        if found is not None:
            return found
    return None


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
