"""Free text from people: normalized, bounded, and free of what a database or a screen cannot hold."""

from __future__ import annotations

import unicodedata

from returns.result import Failure, Result, Success

from arccm.domain.errors import InvalidValue


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
