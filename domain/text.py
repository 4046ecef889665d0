"""Free text from people: normalized, bounded, and free of what a database or a screen cannot hold."""

from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from returns.result import Failure, Result, Success

from arccm.domain.errors import DomainError, InvalidValue


def clean_text(field: str, value: str, max_length: int = 200) -> Result[str, InvalidValue]:
    """NFC-normalized and trimmed; refused when blank, too long, or carrying control characters.

    NUL in particular: PostgreSQL text cannot hold it, and a driver error is no answer for a person.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return Failure(InvalidValue(field, "must be valid Unicode text"))
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        return Failure(InvalidValue(field, "must not be blank"))
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n" for ch in text):
        return Failure(InvalidValue(field, "must not contain control characters"))
    if len(text) > max_length:
        return Failure(InvalidValue(field, f"must be at most {max_length} characters"))
    return Success(text)


_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")


def time_zone(field: str, name: object) -> Result[str, DomainError]:
    """An IANA time zone name this machine knows (``America/Toronto``), or a failure naming the field."""
    refused = Failure(InvalidValue(field, f"not an IANA time zone: {str(name)[:64]!r}"))
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        return refused
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a folder ("America") is an OSError, not "not found"
        return refused
    return Success(name)
