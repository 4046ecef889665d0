"""The PostgreSQL unit of work: one transaction, an identity map with snapshots, and one write at commit.

Reading for change holds the row (``SELECT … FOR UPDATE``) and tracks the
aggregate next to a snapshot; at commit each aggregate's mapping writes back only
what changed.  New aggregates are inserted at once (so foreign keys see them),
except those whose mapping writes in bulk (certificates, notifications), which go
in with the commit, many rows in one statement.  Order at commit: changes to held
rows, then the bulk inserts, then the domain events of everything the unit
touched into ``change_log`` — all in the same transaction.

Driver errors are translated here, at the adapter's edge, into the port's own:
a deadlock or serialization failure is ``Retryable``; a unique violation of one of
the invariants that a race can hit is ``InvariantConflict``.  The repositories
live in ``adapters/postgres/repositories/``, one module per aggregate.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

import attrs
import psycopg
from sqlalchemy import ARRAY, Connection, Executable, Result, Select, bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, ColumnElement

from arccm.adapters.events_codec import encode, encode_scope
from arccm.adapters.postgres import driver, rows
from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.database import Database
from arccm.adapters.postgres.mapping import AggregateMapping, Row
from arccm.adapters.postgres.repositories.availability import PostgresAvailabilityRepository
from arccm.adapters.postgres.repositories.batches import PostgresBatchRepository
from arccm.adapters.postgres.repositories.certificates import PostgresCertificateRepository
from arccm.adapters.postgres.repositories.compliance import PostgresComplianceRepository
from arccm.adapters.postgres.repositories.notifications import PostgresNotificationRepository
from arccm.adapters.postgres.repositories.people import PostgresProfileRepository
from arccm.adapters.postgres.repositories.reference import PostgresReferenceRepository
from arccm.adapters.postgres.repositories.rosters import PostgresRosterRepository
from arccm.adapters.postgres.repositories.sessions import PostgresSessionRepository
from arccm.adapters.postgres.repositories.teams import PostgresTeamRepository
from arccm.application.ports.unit_of_work import InvariantConflict, OutOfScope, Retryable, UnitOfWorkFactory
from arccm.domain.access import Actor
from arccm.domain.events import DomainEvent

T = TypeVar("T")
INSERT_ROWS = 1000  # rows per INSERT of many rows
# unique indexes a race between two units of work can hit; anything else violated is a bug and raises as it is
RACE_INVARIANTS = frozenset(
    {
        "one_live_certificate_per_completion",
        "one_current_certificate_per_holder",
        "one_running_batch_per_source",
        "one_active_enrollment",
        "notifications_dedupe_key_key",
    }
)
_CHANGE_LOG = ("topic", "event", "payload", "occurred_at", "kind", "location_id", "provider_id", "created_by",
               "instructor_ids", "subject_id", "learner_ids", "actor_id")  # fmt: skip


def translate(error: DBAPIError | psycopg.Error) -> Exception | None:
    """The port's error for a driver error a race can cause, or None when it is a fault or a bug."""
    cause: Any = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(cause, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
        return Retryable(type(cause).__name__)
    if isinstance(cause, psycopg.errors.UniqueViolation):
        name = cause.diag.constraint_name or ""
        if name in RACE_INVARIANTS:
            return InvariantConflict(name)
    return None


class PostgresUnitOfWork:
    def __init__(self, actor: Actor | None, database: Database) -> None:
        self.actor = actor
        self._database = database
        self._transaction: Any = None
        self._connection: Connection | None = None
        self._held: dict[tuple[str, UUID], tuple[AggregateMapping[Any], Any, Any]] = {}
        self._bulk: dict[str, list[Any]] = {}  # new rows written with the commit, per mapping kind
        self.sessions = PostgresSessionRepository(self)
        self.certificates = PostgresCertificateRepository(self)
        self.reference = PostgresReferenceRepository(self)
        self.profiles = PostgresProfileRepository(self)
        self.rosters = PostgresRosterRepository(self)
        self.teams = PostgresTeamRepository(self)
        self.compliance = PostgresComplianceRepository(self)
        self.availability = PostgresAvailabilityRepository(self)
        self.batches = PostgresBatchRepository(self)
        self.notifications = PostgresNotificationRepository(self)

    # --- connection ---------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its with-block")
        return self._connection

    def run(self, sql: str, params: dict[str, Any] | None = None) -> Result[Any]:
        return self.connection.execute(text(sql), params or {})

    def execute(self, statement: Executable) -> Result[Any]:
        return self.connection.execute(statement)

    def fetch(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows of a statement built once (``functools.cache``), run on the driver's cursor (``driver.py``)."""
        return driver.fetch(self.connection, statement, params)

    def write(self, statement: ClauseElement, params: Mapping[str, Any], keys: Sequence[str] | None = None) -> int:
        """Run a write built once on the driver's cursor; the rows it changed."""
        return driver.write(self.connection, statement, params, keys)

    def __enter__(self) -> Self:
        self._transaction = self._database.transaction(self.actor, writer=True)
        self._connection = self._transaction.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._transaction.__exit__(exc_type, exc, tb)
        finally:
            self._connection, self._held, self._bulk = None, {}, {}
        if isinstance(exc, DBAPIError | psycopg.Error):  # a driver error outside driver.errors comes unwrapped
            translated = translate(exc)
            if translated is not None:
                raise translated from exc

    # --- identity map ------------------------------------------------------------------

    def held(self, mapping: AggregateMapping[T], key: UUID) -> T | None:
        entry = self._held.get((mapping.kind, key))
        return None if entry is None else entry[1]

    def hold(self, mapping: AggregateMapping[T], value: T) -> T:
        """Track ``value`` for change: what differs from now is written at commit."""
        self._held[(mapping.kind, mapping.key(value))] = (mapping, value, mapping.snapshot(value))
        return value

    def add(self, mapping: AggregateMapping[T], value: T) -> None:
        if mapping.bulk:
            self._bulk.setdefault(mapping.kind, []).append(value)
        else:
            mapping.insert(self, value)
        self.hold(mapping, value)

    def pending(self, mapping: AggregateMapping[T]) -> list[T]:
        """New aggregates of this kind not written yet (they go in with the commit)."""
        return list(self._bulk.get(mapping.kind, []))

    def load(
        self,
        mapping: AggregateMapping[T],
        where: ColumnElement[bool],
        *,
        for_update: bool,
        order_by: Sequence[Any] = (),
        limit: int | None = None,
        skip_locked: bool = False,
    ) -> list[T]:
        """Aggregates whose root row matches ``where``; what this unit already holds is returned as held.

        ``for_update`` holds the rows until the unit ends and tracks the aggregates for change; otherwise they
        are only looked at (changes to them are not saved)."""
        statement = select(*mapping.selectable()).where(where).order_by(*order_by).limit(limit)
        if for_update:  # FOR NO KEY UPDATE: holds the row against change, yet lets foreign keys point at it
            statement = statement.with_for_update(key_share=True, skip_locked=skip_locked)
        found = list(self.execute(statement).mappings())
        return self.adopt(mapping, found, for_update)

    def adopt(self, mapping: AggregateMapping[T], found: Sequence[Row], for_update: bool) -> list[T]:
        fresh = [row for row in found if (mapping.kind, row["id"]) not in self._held]
        built = {mapping.key(value): value for value in mapping.build(self, fresh)}
        out: list[T] = []
        for row in found:
            known = self.held(mapping, row["id"])
            if known is None:
                known = built[row["id"]]
                if for_update:
                    self.hold(mapping, known)
            out.append(known)
        return out

    def get(self, mapping: AggregateMapping[T], key: UUID, for_update: bool, refuse_hidden: bool = True) -> T | None:
        """One aggregate by its key: what this unit holds already, else loaded (and held when ``for_update``)."""
        known = self.held(mapping, key)
        if known is not None:
            return known
        found = self.fetch(_by_key(mapping, for_update), {"key": key})  # type: ignore[arg-type]
        loaded = self.adopt(mapping, found, for_update)
        if not loaded and refuse_hidden:
            self.refuse_if_hidden(mapping.table.name, mapping.kind, key)
        return loaded[0] if loaded else None

    def refuse_if_hidden(self, table: str, kind: str, key: UUID) -> None:
        """Row-level security hid a row this actor asked for by key: raise ``OutOfScope`` if it exists."""
        if self.actor is not None and self.run("SELECT arccm_row_exists(:t, :k)", {"t": table, "k": key}).scalar():
            raise OutOfScope(kind)

    # --- commit -------------------------------------------------------------------------

    def commit(self) -> None:
        events: list[DomainEvent] = []
        waiting = {id(value) for values in self._bulk.values() for value in values}
        for key, (mapping, value, before) in list(self._held.items()):
            if id(value) not in waiting:  # a new bulk row is written whole, with its latest state, below
                self._held[key] = (mapping, value, mapping.flush(self, value, before))
            raised = getattr(value, "events", None)
            if raised:
                events.extend(raised)
                raised.clear()
        self._write_bulk()
        self._write_events(events)
        self.connection.commit()
        self._database.committed()

    def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()

    def _write_bulk(self) -> None:
        certificates = self._bulk.pop("certificate", [])
        self.insert_many("certificates", [rows.certificate_params(c) for c in certificates])
        notices = _one_per_key([rows.notification_params(n) for n in self._bulk.pop("notification", [])])
        # no conflict target: with one, row-level security would check each new row against the SELECT policy
        self.insert_many("notifications", notices, on_conflict="ON CONFLICT DO NOTHING")
        if self._bulk:
            raise RuntimeError(f"no bulk writer for {sorted(self._bulk)}")

    def insert_many(self, table: str, params: Sequence[dict[str, Any]], on_conflict: str = "") -> None:
        """Write many rows through this unit of work's own transaction, ``INSERT_ROWS`` at a time, each column sent
        as one array (``INSERT … SELECT … FROM unnest(…)``): a statement of a few parameters, parsed and prepared
        once, where a multi-row ``VALUES`` of thousands of placeholders was split by the driver at every run (a
        third of a batch issuance's time, docs/performance.md). PostgreSQL refuses COPY FROM into a table under
        row-level security, which every table is."""
        if not params:
            return
        columns = list(params[0])
        if len(params) == 1:  # one row (an enrollment's change-log row): its values as they are, no arrays to build
            sql, values = _values_insert(table, tuple(columns), on_conflict)
            with driver.errors(self.connection, sql, None) as connection, connection.cursor() as cursor:
                cursor.execute(sql, [put(params[0][c]) for c, put in zip(columns, values, strict=True)])
            return
        sql, arrays = _unnest_insert(table, tuple(columns), on_conflict)
        with driver.errors(self.connection, sql, None) as connection, connection.cursor() as cursor:
            for start in range(0, len(params), INSERT_ROWS):
                chunk = params[start : start + INSERT_ROWS]
                cursor.execute(
                    sql, [[to_array(p[c]) for p in chunk] for c, to_array in zip(columns, arrays, strict=True)]
                )

    def _write_events(self, events: list[DomainEvent]) -> None:
        actor = self.actor.user_id if self.actor else None
        self.insert_many(
            "change_log",
            [
                dict(zip(_CHANGE_LOG, (
                    e.topic, e.name, json.dumps({"fields": encode(e), "scope": encode_scope(e.scope)}), e.occurred_at,
                    e.scope.kind.value, e.scope.location_id, e.scope.provider_id, e.scope.created_by,
                    sorted(e.scope.instructors), e.scope.subject_id, sorted(e.scope.learners), actor), strict=True))
                for e in events
            ],
        )  # fmt: skip


@functools.cache
def _by_key(mapping: AggregateMapping[Any], for_update: bool) -> Select[Any]:
    """One row by id — built once per mapping, so a lookup costs no statement construction."""
    statement = select(*mapping.selectable()).where(mapping.table.c.id == bindparam("key"))
    return statement.with_for_update(key_share=True) if for_update else statement


def _one_per_key(notices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most one notice per dedupe key."""
    seen: set[str] = set()
    out = []
    for notice in notices:
        if notice["dedupe_key"] not in seen:
            seen.add(notice["dedupe_key"])
            out.append(notice)
    return out


@attrs.frozen
class PostgresUnitOfWorkFactory:
    database: Database

    def __call__(self, actor: Actor | None) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(actor, self.database)


if TYPE_CHECKING:  # the adapter satisfies the port (mypy checks this; nothing runs)

    def _satisfies(factory: PostgresUnitOfWorkFactory) -> UnitOfWorkFactory:
        return factory


def _as_is(value: Any) -> Any:
    return value


def _uuid_array_literal(value: Any) -> str | None:
    return None if value is None else "{" + ",".join(str(v) for v in value) + "}"


def _json_text(value: Any) -> str | None:
    """A JSON column's value as text: a ``str`` is JSON already (the change log's payload), anything else is dumped."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


@functools.cache
def _values_insert(table: str, columns: tuple[str, ...], on_conflict: str) -> tuple[str, list[Callable[[Any], Any]]]:
    """``INSERT INTO table (columns) VALUES (%b::type, …)`` of one row, and how to put each value: the one-row
    form of ``_unnest_insert`` (a uuid[] column sent as a list, a JSON one as its text)."""
    found = t.metadata.tables[table]
    typed: list[str] = []
    values: list[Callable[[Any], Any]] = []
    for name in columns:
        kind = found.c[name].type
        if isinstance(kind, JSONB):
            typed.append("CAST(%b::text AS jsonb)")
            values.append(_json_text)
        else:
            typed.append(f"%b::{kind.compile(dialect=postgresql.dialect())}")  # type: ignore[no-untyped-call]
            values.append(_as_is)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(typed)}) {on_conflict}", values


@functools.cache
def _unnest_insert(table: str, columns: tuple[str, ...], on_conflict: str) -> tuple[str, list[Callable[[Any], Any]]]:
    """``INSERT INTO table (columns) SELECT … FROM unnest(%b::type[], …)`` and how to put each value in its array.
    An array column (uuid[]) travels as the text of its literal, a JSON one as its text: unnest takes one value
    per element, and a two-dimensional array would be flattened."""
    found = t.metadata.tables[table]
    selected: list[str] = []
    typed: list[str] = []
    arrays: list[Callable[[Any], Any]] = []
    for number, name in enumerate(columns):
        kind = found.c[name].type
        sql_type = kind.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
        if isinstance(kind, ARRAY):
            if sql_type != "UUID[]":
                raise NotImplementedError(f"insert_many: {table}.{name} is {sql_type}: only uuid[] arrays are sent")
            typed.append("%b::text[]")
            selected.append(f"CAST(u.c{number} AS uuid[])")
            arrays.append(_uuid_array_literal)
        elif isinstance(kind, JSONB):
            typed.append("%b::text[]")
            selected.append(f"CAST(u.c{number} AS jsonb)")
            arrays.append(_json_text)
        else:
            typed.append(f"%b::{sql_type}[]")
            selected.append(f"u.c{number}")
            arrays.append(_as_is)
    names = ", ".join(columns)
    aliases = ", ".join(f"c{number}" for number in range(len(columns)))
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {', '.join(selected)}"
        f" FROM unnest({', '.join(typed)}) AS u({aliases}) {on_conflict}"
    )
    return sql, arrays
