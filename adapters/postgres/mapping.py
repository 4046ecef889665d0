"""One typed mapping per aggregate: its table, how rows become the aggregate, how it is snapshot, how it is written.

A unit of work keeps what it loaded for change next to a snapshot; at commit each
mapping writes back only what differs from the snapshot.  Single-row aggregates
share ``RowMapping``; aggregates with children (a session and its enrollments, a
roster and its members, a team and its members) have their own mapping in
``adapters/postgres/mappings.py``.  Row ↔ object translation lives in
``adapters/postgres/rows.py``, one pair of functions per table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from uuid import UUID

import attrs
from sqlalchemy import Insert, Table, Update, bindparam, func, insert, update

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork

T = TypeVar("T")
Row = Any  # a result row (SQLAlchemy's RowMapping)


class ConcurrentUpdate(RuntimeError):
    """A row changed under a unit of work that held its lock: a bug, not a business outcome."""


class AggregateMapping(Protocol[T]):
    """How one aggregate is stored."""

    @property
    def kind(self) -> str: ...

    @property
    def table(self) -> Table: ...

    @property
    def bulk(self) -> bool:
        """True: new ones are written with the commit, many in one statement; False: inserted at once."""
        ...

    def key(self, value: T) -> UUID: ...

    def selectable(self) -> tuple[Any, ...]:
        """What a SELECT of the root row lists."""
        ...

    def build(self, uow: PostgresUnitOfWork, rows: Sequence[Row]) -> list[T]:
        """Aggregates from rows of the root table (children fetched for all of them at once)."""
        ...

    def snapshot(self, value: T) -> Any: ...

    def insert(self, uow: PostgresUnitOfWork, value: T) -> None: ...

    def flush(self, uow: PostgresUnitOfWork, value: T, before: Any) -> Any:
        """Write back what changed since ``before`` (a snapshot); returns the snapshot of what is stored now."""
        ...


def insert_row(uow: PostgresUnitOfWork, table: Table, params: dict[str, Any]) -> None:
    uow.write(_insert(table), params, keys=tuple(params))


@functools.cache
def _insert(table: Table) -> Insert:
    """Built once per table: the columns come from each call's parameters (no statement to construct per row)."""
    return insert(table)


@functools.cache
def _update(table: Table, keys: tuple[str, ...], columns: tuple[str, ...], touch: bool, versioned: bool) -> Update:
    """Built once per shape of change, so writing a row back constructs no statement."""
    where = [table.c[k] == bindparam(f"key_{k}") for k in keys]
    if versioned:
        where.append(table.c.version == bindparam("key_version"))
    values: dict[str, Any] = {c: bindparam(c) for c in columns}
    if touch:
        values["updated_at"] = func.now()
    return update(table).where(*where).values(values)


def update_row(
    uow: PostgresUnitOfWork,
    table: Table,
    params: dict[str, Any],
    before: dict[str, Any],
    keys: Collection[str] = ("id",),
    touch: bool = True,
    versioned: bool = False,
) -> None:
    """Update one row's changed columns (``keys`` identify it).  ``versioned``: the row must still carry the version
    it was loaded with — it is held, so anything else is a bug."""
    if params == before:  # the common case, compared in C
        return
    changed = {k: v for k, v in params.items() if k not in keys and before.get(k) != v}
    if not changed:
        return
    bound = {**changed, **{f"key_{k}": params[k] for k in keys}}
    if versioned:
        bound["key_version"] = before["version"]
    count = uow.write(_update(table, tuple(keys), tuple(changed), touch, versioned), bound)
    if versioned and count != 1:
        raise ConcurrentUpdate(f"{table.name} {params['id']} changed under a unit of work holding its lock")


@attrs.frozen
class RowMapping(Generic[T]):
    """An aggregate that is one row: ``load`` maps a row to it, ``params`` back to the row's columns."""

    kind: str
    table: Table
    load: Callable[[Row], T]
    params: Callable[[T], dict[str, Any]]
    bulk: bool = False
    touch: bool = True  # stamp updated_at on every update
    versioned: bool = False
    # what a SELECT of the row lists (default: every column); profiles read contact details through functions
    columns: tuple[Any, ...] | None = None

    def selectable(self) -> tuple[Any, ...]:
        return self.columns if self.columns is not None else tuple(self.table.c)

    def key(self, value: T) -> UUID:
        key: UUID = self.params(value)["id"]
        return key

    def build(self, uow: PostgresUnitOfWork, rows: Sequence[Row]) -> list[T]:
        return [self.load(row) for row in rows]

    def snapshot(self, value: T) -> dict[str, Any]:
        return self.params(value)

    def insert(self, uow: PostgresUnitOfWork, value: T) -> None:
        insert_row(uow, self.table, self.params(value))

    def flush(self, uow: PostgresUnitOfWork, value: T, before: Any) -> dict[str, Any]:
        params = self.params(value)
        update_row(uow, self.table, params, before, touch=self.touch, versioned=self.versioned)
        return params


class AggregateRepository(Generic[T]):
    """What every repository of an aggregate does the same way: hold one for change, look at one, add one."""

    mapping: AggregateMapping[T]

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get_for_update(self, key: UUID) -> T | None:
        return self._uow.get(self.mapping, key, for_update=True)

    def find(self, key: UUID) -> T | None:
        return self._uow.get(self.mapping, key, for_update=False)

    def add(self, value: T) -> None:
        self._uow.add(self.mapping, value)
