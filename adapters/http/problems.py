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


def problem(status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_domain(error: DomainError) -> JSONResponse:
    status = STATUS.get(error.code, 409)
    title = error.code.replace("_", " ").capitalize()
    if isinstance(error, InvalidValue):
        return problem(status, error.code, title, error.message, field=error.field, rule=error.rule)
    return problem(status, error.code, title, error.message)
