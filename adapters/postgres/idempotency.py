"""Idempotency keys in PostgreSQL (migration 0017; adapters/http/idempotency.py says what they mean): each call
is one short transaction as the actor, under the table's row-level security — a user's keys are their own."""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import text

from arccm.adapters.idempotency import Claimed, Stored
from arccm.adapters.postgres.database import Database
from arccm.domain.access import Actor

# a key is taken when it is new, expired, or running past its lock with the same request (its process died);
# two requests racing for a new key meet at the primary key: the second waits for the first's commit, then finds
# the row running and takes nothing
CLAIM = text("""
INSERT INTO idempotency_keys (user_id, key, fingerprint, state, locked_until, expires_at)
VALUES (:user_id, :key, :fingerprint, 'running', now() + make_interval(secs => :lock),
        now() + make_interval(secs => :ttl))
ON CONFLICT (user_id, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, state = 'running', status = NULL, media_type = NULL, body = NULL,
        created_at = now(), locked_until = excluded.locked_until, expires_at = excluded.expires_at
    WHERE idempotency_keys.expires_at <= now()
       OR (idempotency_keys.state = 'running' AND idempotency_keys.locked_until <= now()
           AND idempotency_keys.fingerprint = excluded.fingerprint)
RETURNING true
""")
HELD = text(
    "SELECT fingerprint, state, status, media_type, body FROM idempotency_keys WHERE user_id = :user_id AND key = :key"
)
FINISH = text(
    "UPDATE idempotency_keys SET state = 'done', status = :status, media_type = :media_type, body = :body"
    " WHERE user_id = :user_id AND key = :key AND state = 'running'"
)
RELEASE = text("DELETE FROM idempotency_keys WHERE user_id = :user_id AND key = :key AND state = 'running'")
# a user's expired keys go when they next claim one (the expiry index finds them; nobody else's are touched)
PURGE = text("DELETE FROM idempotency_keys WHERE user_id = :user_id AND expires_at <= now() AND key <> :key")


@attrs.frozen
class PostgresIdempotency:
    database: Database

    def claim(self, actor: Actor, key: str, fingerprint: str, lock_seconds: int, ttl_seconds: int) -> Claimed:
        named: dict[str, Any] = {"user_id": actor.user_id, "key": key}
        with self.database.transaction(actor) as connection:
            connection.execute(PURGE, named)
            taken = connection.execute(
                CLAIM, {**named, "fingerprint": fingerprint, "lock": lock_seconds, "ttl": ttl_seconds}
            ).first()
            held = None if taken else connection.execute(HELD, named).one_or_none()
            connection.commit()
        if taken:
            return "new"
        if held is None:  # deleted between the two statements (released): the caller may simply retry
            return "running"
        if held.fingerprint != fingerprint:
            return "mismatch"
        if held.state == "running":
            return "running"
        return Stored(int(held.status), str(held.media_type), bytes(held.body))

    def finish(self, actor: Actor, key: str, stored: Stored) -> None:
        with self.database.transaction(actor) as connection:
            connection.execute(FINISH, {"user_id": actor.user_id, "key": key, "status": stored.status,
                                        "media_type": stored.media_type, "body": stored.body})  # fmt: skip
            connection.commit()

    def release(self, actor: Actor, key: str) -> None:
        with self.database.transaction(actor) as connection:
            connection.execute(RELEASE, {"user_id": actor.user_id, "key": key})
            connection.commit()
