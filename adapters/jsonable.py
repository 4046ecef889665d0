"""Values as JSON-ready data, for every delivery adapter (the CLI's ``--json``, the HTTP API)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs


def plain(data: Any) -> Any:
    """``data`` (attrs classes, tuples, sets, ids, dates, enums, decimals) as JSON-ready values."""
    if attrs.has(type(data)):
        return {k: plain(v) for k, v in attrs.asdict(data, recurse=False).items()}
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [plain(v) for v in data]
    if isinstance(data, set | frozenset):
        return sorted((plain(v) for v in data), key=str)
    if isinstance(data, datetime):
        return data.isoformat()
    if isinstance(data, uuid.UUID | date | Decimal):
        return str(data)
    if isinstance(data, enum.Enum):
        return plain(data.value)
    return data
