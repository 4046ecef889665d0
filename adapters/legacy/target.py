"""Writing a plan into arccm's schema, as the owner, chunk by chunk: each chunk's rows, the codes of its
certificates and the records of the source rows they account for commit together, so a run killed at any point
leaves whole chunks behind, and the next run skips every unit whose source rows are recorded.  Rows go in as one
``INSERT … SELECT FROM jsonb_to_recordset`` per table and chunk: one statement, so the statement-level triggers
(audit trail, seat counters, certificate counts) run once per chunk, and every CHECK, foreign key and unique index
of the schema judges every row (``COPY`` is refused under row-level security)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

import psycopg

from arccm.adapters.legacy.plan import STEPS, Item, Plan

Progress = Callable[[str, int, int], None]


def _json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), default=str, separators=(",", ":"))


class Target:
    def __init__(self, connection: psycopg.Connection[Any], schema: str) -> None:
        self.connection = connection
        self.schema = schema
        self._types: dict[str, dict[str, str]] = {}
        self._keys: dict[str, str] = {}

    def _table(self, table: str) -> tuple[dict[str, str], str]:
        if table not in self._types:
            relation = f'"{self.schema}"."{table}"'
            rows = self.connection.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass"
                " AND attnum > 0 AND NOT attisdropped",
                (relation,),
            ).fetchall()
            self._types[table] = dict(rows)
            self._keys[table] = self.connection.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", (relation,)
            ).fetchone()[0]  # type: ignore[index]
        return self._types[table], self._keys[table]

    def insert(self, table: str, rows: list[dict[str, Any]], returning: str | None = None) -> list[Any]:
        """Insert rows (a row already there by primary key is left as it is); the ``returning`` column of those
        inserted (without ``returning``, one ``None`` for each)."""
        if not rows:
            return []
        types, key = self._table(table)
        columns = sorted({c for row in rows for c in row})
        unknown = [c for c in columns if c not in types]
        assert not unknown, f"{table} has no column {unknown}"
        spec = ", ".join(f'"{c}" {types[c]}' for c in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        sql = (
            f'INSERT INTO "{self.schema}"."{table}" ({names}) SELECT {names} FROM jsonb_to_recordset(%s::jsonb)'
            f' AS r({spec}) ON CONFLICT ON CONSTRAINT "{key}" DO NOTHING'
        )
        sql += f' RETURNING "{returning}"' if returning else " RETURNING NULL"
        return [r[0] for r in self.connection.execute(sql, (_json(rows),)).fetchall()]

    def recorded(self) -> set[tuple[str, str]]:
        rows = self.connection.execute(f'SELECT source_table, source_id FROM "{self.schema}".import_records').fetchall()
        self.connection.commit()
        return {(t, i) for t, i in rows}

    def write(self, plan: Plan, run_id: UUID, chunk: int = 2_000, progress: Progress | None = None) -> dict[str, int]:
        """Every unit of the plan not already recorded; how many rows each table received."""
        done = self.recorded()
        written: dict[str, int] = defaultdict(int)
        for step in STEPS:
            units = [u for u in plan.units[step] if not _recorded(u, done)]
            total, finished = sum(len(u) for u in units), 0
            batch: list[list[Item]] = []
            size = 0
            for unit in [*units, None]:
                if unit is not None:
                    batch.append(unit)
                    size += len(unit)
                if batch and (unit is None or size >= chunk):
                    written[step] += self._chunk(step, batch, plan, run_id)
                    finished += size
                    if progress:
                        progress(step, finished, total)
                    batch, size = [], 0
            if progress and not total:
                progress(step, 0, 0)
        self._batch_counts(plan)
        return dict(written)

    def _batch_counts(self, plan: Plan) -> None:
        """A batch's counts are those of its imported certificates: a later run that imports more of them (once
        quarantined) brings the counts of a batch an earlier run wrote up to date."""
        counts = [
            {k: item.row[k] for k in ("id", "total", "done", "certificate_count")}
            for unit in plan.units["rosters"]
            for item in unit
        ]
        with self.connection.transaction():
            self.connection.execute(
                f'UPDATE "{self.schema}".rosters b SET total = r.total, done = r.done,'
                " certificate_count = r.certificate_count FROM jsonb_to_recordset(%s::jsonb)"
                " AS r(id uuid, total int, done int, certificate_count int) WHERE b.id = r.id"
                " AND (b.total, b.done, b.certificate_count) IS DISTINCT FROM (r.total, r.done, r.certificate_count)",
                (_json(counts),),
            )

    def _chunk(self, step: str, units: list[list[Item]], plan: Plan, run_id: UUID) -> int:
        items = [item for unit in units for item in unit]
        rows, codes = [], []
        for item in items:
            if item.row.get("_existing"):  # a person arccm already had: only the records point at them
                continue
            row = dict(item.row)
            code = row.pop("_legacy_code", None)
            if code:
                codes.append({"code": code, "certificate_id": row["id"]})
            rows.append(row)
        records = [
            {"source_table": t, "source_id": i, "target_table": step, "target_id": _target(item), "outcome": outcome,
             "run_id": run_id}
            for item in items for t, i, outcome in item.sources
        ]  # fmt: skip
        with self.connection.transaction():
            if step == "certificates":
                self._relink(rows, "superseded_by_id")
            inserted = self.insert(step, rows, returning="id" if step == "training_sessions" else None)
            if step == "certificates":
                self._relink(rows, "supersedes_id")
            raised = [{"id": s, "max_capacity": plan.raised[s]} for s in inserted if s in plan.raised]
            if raised:  # after the insert, so the trail shows the legacy capacity and the raise (docs/import.md)
                self.connection.execute(
                    f'UPDATE "{self.schema}".training_sessions s SET max_capacity = r.max_capacity'
                    " FROM jsonb_to_recordset(%s::jsonb) AS r(id uuid, max_capacity int) WHERE s.id = r.id",
                    (_json(raised),),
                )
            self.insert("legacy_codes", codes)
            self.insert("import_records", records)
        return len(inserted)

    def _relink(self, rows: list[dict[str, Any]], column: str) -> None:
        """A holder's certificates for one course are one unit, oldest first, each superseded by the next.  When
        a later run imports one that was quarantined before (its status mapped since, say), the unit's others
        are already there and their links are set: ``superseded_by_id`` before the insert — the one that stops
        being current stops before its successor arrives (one current per holder and course; that key is checked
        at commit) — and ``supersedes_id`` after it (that key is checked at once)."""
        links = [{"id": r["id"], column: r.get(column)} for r in rows]
        self.connection.execute(
            f'UPDATE "{self.schema}".certificates c SET {column} = r.{column} FROM jsonb_to_recordset(%s::jsonb)'
            f" AS r(id uuid, {column} uuid) WHERE c.id = r.id AND c.{column} IS DISTINCT FROM r.{column}",
            (_json(links),),
        )


def _target(item: Item) -> Any:
    return item.row.get("id") or item.row.get("location_id") or item.row.get("user_id")


def _recorded(unit: list[Item], done: set[tuple[str, str]]) -> bool:
    sources = [(t, i) for item in unit for t, i, _ in item.sources]
    return bool(sources) and all(s in done for s in sources)
