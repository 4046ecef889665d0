"""SQLAlchemy statements run on the driver's own cursor: compiled once, then sent by psycopg alone.

A unit of work's statements are few and fixed in shape (a row by key, a session's enrollments, an insert, an
update of the changed columns); each is built once (``functools.cache``) and compiled here once.  Through
SQLAlchemy's ``Connection.execute`` the same statement cost 130–270 µs of CPU more than through the driver: an
execution context, result metadata built from the cursor's description (a psycopg ``Column`` per column),
row objects — for a statement the server answers in 30–50 µs (docs/performance.md, issue 15, eighth session).

What SQLAlchemy's execution added that the result needs is kept: the parameters as compiled (bind names,
expanding ``IN`` is not used), the types' bind processors (booleans, numerics, arrays) and result processors,
applied as SQLAlchemy would.  Errors are the driver's (``psycopg.Error``): the unit of work translates them as it
does its bulk writes' (a lost race becomes ``Retryable``/``InvariantConflict``), after ``errors`` wrapped them as
SQLAlchemy would (``sqlalchemy.exc.OperationalError`` and the rest), so that whoever catches those — the HTTP
edge answers 503 for a database that went away — sees the same exception whichever path sent the statement.  The statement runs in the
transaction of the unit of work's connection, whose first statement SQLAlchemy sent (``Database.begun``), so a
dead pooled connection is still found and replaced there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]


@attrs.frozen
class Compiled:
    """One statement as the driver runs it: SQL with ``%(name)s`` placeholders and what each value needs."""

    sql: str
    construct: Callable[[Mapping[str, Any]], dict[str, Any]]
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]
    # (label, SQLAlchemy type) of each result column, in order; none for a text statement (its columns are not
    # typed, and SQLAlchemy processes none of them either)
    columns: tuple[tuple[str, Any], ...]
    # the result processors by label, found at the first run (a type's processor depends on the server's type of
    # the column, which only the cursor's description tells): empty until then
    results: list[tuple[tuple[str, Callable[[Any], Any]], ...]] = attrs.field(factory=list)

    def processors(self, cursor: Any) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        if not self.results:  # the description builds an object per column: asked once per statement
            found = []
            for (label, type_), column in zip(self.columns, cursor.description, strict=True):
                processor = type_._cached_result_processor(DIALECT, column.type_code)
                if processor is not None:
                    found.append((label, processor))
            self.results.append(tuple(found))
        return self.results[0]


@functools.lru_cache(maxsize=1024)  # statements built once each (functools.cache): a few hundred
def compiled(statement: ClauseElement, keys: tuple[str, ...] | None = None) -> Compiled:
    """``statement`` compiled for psycopg (``keys``: the columns an INSERT or UPDATE writes, when it lists none)."""
    done: Any = statement.compile(dialect=DIALECT, column_keys=list(keys) if keys is not None else None)
    if done.literal_execute_params or done.post_compile_params:
        raise ValueError("expanding or literal-execute parameters are not compiled once")
    columns = tuple((c[0], c[3]) for c in getattr(done, "_result_columns", ()))
    return Compiled(done.string, done.construct_params, tuple(done._bind_processors.items()), columns)


def _cursor(connection: Any) -> Any:
    return connection.cursor(row_factory=dict_row)


@contextmanager
def errors(connection: Connection, sql: str, params: Any) -> Iterator[Any]:
    """The driver's connection under ``connection``; a driver error raised inside comes out as SQLAlchemy's
    ``Connection.execute`` would have raised it — and when the server is gone, ``connection`` is marked invalid as
    it would have been, so that its rollback does not touch the dead socket and the pool replaces it."""
    driver_connection = connection.connection.driver_connection
    try:
        yield driver_connection
    except psycopg.Error as error:
        gone = connection.dialect.is_disconnect(error, driver_connection, None)  # type: ignore[arg-type]
        if gone:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql, params, error, psycopg.Error, connection_invalidated=gone, dialect=connection.dialect
        ) from error


def _params(statement: Compiled, params: Mapping[str, Any]) -> dict[str, Any]:
    bound = statement.construct(params)
    for name, process in statement.binds:
        if name in bound:
            bound[name] = process(bound[name])
    return bound


def fetch(connection: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of a SELECT (or a statement RETURNING rows) on ``connection``'s driver connection, in its
    transaction, each a dict by column label."""
    done = compiled(statement)
    bound = _params(done, params)
    with errors(connection, done.sql, bound) as driver_connection, _cursor(driver_connection) as cursor:
        cursor.execute(done.sql, bound)
        found: list[dict[str, Any]] = cursor.fetchall()
        processors = done.processors(cursor) if found and done.columns else ()
    for row in found if processors else ():
        for name, process in processors:
            row[name] = process(row[name])
    return found


def write(
    connection: Connection, statement: ClauseElement, params: Mapping[str, Any], keys: Sequence[str] | None = None
) -> int:
    """Run an INSERT, UPDATE or DELETE on ``connection``'s driver connection; returns the rows it changed."""
    done = compiled(statement, tuple(keys) if keys is not None else None)
    bound = _params(done, params)
    with errors(connection, done.sql, bound) as driver_connection, driver_connection.cursor() as cursor:
        cursor.execute(done.sql, bound)
        count: int = cursor.rowcount
    return count
