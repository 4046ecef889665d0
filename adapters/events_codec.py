"""Domain events to and from JSON-ready dicts, for the change log and the event stream."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from arccm.domain import events as domain_events
from arccm.domain.access import Resource, ResourceKind, Role
from arccm.domain.events import DomainEvent

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    name: value
    for name, value in vars(domain_events).items()
    if isinstance(value, type) and issubclass(value, DomainEvent) and value is not DomainEvent
}


def to_json(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Role | ResourceKind):
        return value.value
    if isinstance(value, frozenset):
        return sorted(str(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    return value


def encode_scope(scope: Resource) -> dict[str, Any]:
    return {field.name: to_json(getattr(scope, field.name)) for field in attrs.fields(Resource)}


def encode(event: DomainEvent) -> dict[str, Any]:
    """Event fields (without occurred_at and scope), JSON-ready."""
    return {
        field.name: to_json(getattr(event, field.name))
        for field in attrs.fields(type(event))
        if field.name not in ("occurred_at", "scope")
    }


_TYPES: dict[type, dict[str, str]] = {}


def _field_types(cls: type) -> dict[str, str]:
    if cls not in _TYPES:
        _TYPES[cls] = {field.name: str(field.type) for field in attrs.fields(cls)}
    return _TYPES[cls]


def _from_json(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if "UUID" in kind and "frozenset" in kind:
        return frozenset(UUID(v) for v in value)
    if kind.startswith("UUID"):
        return UUID(value)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "Decimal":
        return Decimal(value)
    if kind.startswith("tuple"):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if kind.startswith("Role"):
        return Role(value)
    if kind == "ResourceKind":
        return ResourceKind(value)
    return value


def decode_scope(data: dict[str, Any]) -> Resource:
    types = _field_types(Resource)
    return Resource(**{name: _from_json(types[name], value) for name, value in data.items()})


def decode(name: str, fields: dict[str, Any], occurred_at: datetime, scope: Resource) -> DomainEvent:
    cls = EVENT_TYPES[name]
    types = _field_types(cls)
    values = {key: _from_json(types[key], value) for key, value in fields.items()}
    return cls(occurred_at=occurred_at, scope=scope, **values)


def change_json(change: Any) -> str:
    """One change of the feed as one line of JSON: its cursor, topic, event, time, fields and context."""
    import json

    event = change.event
    return json.dumps(
        {
            "cursor": str(change.cursor),
            "topic": event.topic,
            "event": event.name,
            "occurred_at": event.occurred_at.isoformat(),
            "data": encode(event),
            "context": dict(change.context),
        },
        sort_keys=True,
    )
