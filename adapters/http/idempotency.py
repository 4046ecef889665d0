"""``Idempotency-Key`` (IETF httpapi draft "The Idempotency-Key HTTP Header Field") on every non-idempotent POST.

The first request with a key runs and its response — success or problem — is stored under the key for the user who
sent it; a replay of the same request gets that response again (with ``Idempotent-Replayed: true``) and runs
nothing.  The same key while the first request is still running is 409 ``idempotency_key_in_use``; the same key
with a different request (method, route or body) is 422 ``idempotency_key_reused``.  A response the server failed
to produce (5xx, an exception, the actor refused mid-way) is not stored: the key is released and a retry runs.
Keys are stored in PostgreSQL (migration 0017) or in memory and expire after ``TTL_SECONDS``; a key whose request
died with its process is free again after ``LOCK_SECONDS``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from fastapi import Header, Request
from fastapi.responses import Response
from pydantic import BaseModel

from arccm.adapters.http.common import Refused
from arccm.adapters.http.problems import problem
from arccm.adapters.idempotency import IdempotencyStore, Stored
from arccm.domain.access import Actor

TTL_SECONDS = 24 * 3600
LOCK_SECONDS = 120  # longer than any request may run (the server's own timeouts are shorter)
REPLAYED = "Idempotent-Replayed"

KEY = Header(
    None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    pattern=r"^[\x21-\x7e]+$",
    description="Any unique printable ASCII text (a UUID, say) naming this request: a retry with the same key and"
    " body gets the first response, and runs nothing again.",
)


def fingerprint(request: Request, body: BaseModel | None) -> str:
    payload = body.model_dump(mode="json") if body is not None else None
    text = json.dumps([request.method, request.url.path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _ran(run: Callable[[], Response]) -> Response:
    try:
        return run()
    except Refused as refused:
        return refused.response


def once(
    request: Request, actor: Actor, key: str | None, body: BaseModel | None, run: Callable[[], Response]
) -> Response:
    """``run()``'s response, at most once per ``key`` (none: every time)."""
    if key is None:
        return _ran(run)
    store: IdempotencyStore = request.app.state.container.idempotency()
    claimed = store.claim(actor, key, fingerprint(request, body), LOCK_SECONDS, TTL_SECONDS)
    if claimed == "running":
        return problem(409, "idempotency_key_in_use", "Idempotency key in use",
                       "A request with this Idempotency-Key is still running; retry when it has answered.",
                       field="Idempotency-Key", retry_after=1)  # fmt: skip
    if claimed == "mismatch":
        return problem(422, "idempotency_key_reused", "Idempotency key reused",
                       "This Idempotency-Key was used for a different request.", field="Idempotency-Key",
                       rule="names one request: the same method, route and body")  # fmt: skip
    if isinstance(claimed, Stored):
        return Response(claimed.body, claimed.status, {REPLAYED: "true"}, media_type=claimed.media_type)
    try:
        response = _ran(run)
    except BaseException:
        store.release(actor, key)
        raise
    if response.status_code >= 500:
        store.release(actor, key)
        return response
    store.finish(
        actor, key, Stored(response.status_code, response.media_type or "application/json", bytes(response.body))
    )
    return response
