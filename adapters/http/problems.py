"""Errors as RFC 9457 ``application/problem+json``: a stable ``type`` per domain error code, the HTTP status that
means it, a sentence a person can read, and for bad input the field and the rule.  Never a stack trace, never an
internal id that the caller did not send."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from arccm.domain.errors import DomainError, InvalidValue

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://arccm.dev/problems/"  # a stable name per problem; docs/http.md lists them

# the domain's codes by what they mean over HTTP; a business rule that refuses the request as things stand is 409
STATUS = {
    "invalid_value": 422,
    "date_out_of_range": 422,
    "unprintable_text": 422,
    "not_found": 404,
    "unknown_code": 404,
    "forbidden": 403,
}


def problem(
    status: int, code: str, title: str, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    sent = dict(headers or {})
    if "retry_after" in extra:
        sent["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=sent or None)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `type` is stable per problem (docs/http.md lists them)",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri", "example": TYPE_BASE + "session_full"},
        "title": {"type": "string", "example": "Session full"},
        "status": {"type": "integer", "example": 409},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "The field (or header) that was refused"},
        "rule": {"type": "string", "description": "The rule it broke"},
        "retry_after": {"type": "integer", "description": "Seconds to wait (also the Retry-After header)"},
        "request_id": {"type": "string", "description": "For a 500: the id the server's log has it under"},
    },
}
WHAT = {
    400: "The body is not JSON in UTF-8",
    401: "No valid bearer token",
    403: "The caller may not do this (role, scope, or not active)",
    404: "Not found, or outside the caller's scope",
    409: "A business rule refuses it as things stand (the type says which), or its Idempotency-Key is in use",
    413: "The body is too large",
    422: "A field is not valid (the problem names it and the rule)",
    429: "Too many requests from this address; see Retry-After",
    503: "The database cannot be reached, or the server is stopping; retry after Retry-After",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for routes that may answer with these problems (OpenAPI, and schemathesis's checks)."""
    return {s: {"description": WHAT[s], "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}} for s in statuses}


API_PROBLEMS = documented(400, 401, 403, 404, 409, 413, 422, 503)


def from_domain(error: DomainError) -> JSONResponse:
    status = STATUS.get(error.code, 409)
    title = error.code.replace("_", " ").capitalize()
    if isinstance(error, InvalidValue):
        return problem(status, error.code, title, error.message, field=error.field, rule=error.rule)
    return problem(status, error.code, title, error.message)
