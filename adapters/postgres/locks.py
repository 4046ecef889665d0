"""Holding things that are not (yet) rows: a person's certification for a course, a batch's source.

Transaction-level advisory locks, taken in one statement and in a fixed order (by key), so two units of work
asking for overlapping sets cannot deadlock; released at commit or rollback (safe through a
transaction-pooling pgbouncer)."""

from __future__ import annotations

import zlib
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork

# first key of each kind of advisory lock; the second is a 31-bit hash of what is held
CLASSES = {"certificate holder": 0x61726301, "batch source": 0x61726302}
# Kinds held many at a time hash into a bounded set of keys: PostgreSQL's lock table is shared and sized by
# max_locks_per_transaction × max_connections (6,400 slots by default), and a batch chunk of 20,000 holders, one
# lock each, failed with "out of shared memory". 512 keys bound a unit of work to 512 locks whatever its size; two
# holders sharing a key only take turns.
BUCKETS = {"certificate holder": 512}


def lock_key(name: str, buckets: int | None = None) -> int:
    key = zlib.crc32(name.encode()) & 0x7FFFFFFF
    return key % buckets if buckets else key


def hold_keys(uow: PostgresUnitOfWork, kind: str, names: Collection[str]) -> None:
    """Hold every named thing of this kind until the unit of work ends (a hash collision only makes two units
    take turns that need not have)."""
    keys = sorted({lock_key(name, BUCKETS.get(kind)) for name in names})
    if keys:
        uow.run(
            "SELECT pg_advisory_xact_lock(:kind, k) FROM unnest(CAST(:keys AS int[])) WITH ORDINALITY AS u(k, n)"
            " ORDER BY n",
            {"kind": CLASSES[kind], "keys": keys},
        )
