"""Every domain event survives the trip through the change log's JSON unchanged."""

from __future__ import annotations

import json
from datetime import UTC

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arccm.adapters.events_codec import EVENT_TYPES, decode, decode_scope, encode, encode_scope
from arccm.domain.events import DomainEvent
from tests.strategies import resources

ids = st.uuids()
scopes = resources(ids)
moments = st.datetimes(timezones=st.just(UTC))
BY_TYPE = {
    "UUID": ids,
    "datetime": moments,
    "Decimal": st.decimals(min_value=0, max_value=100, places=2),
    "int": st.integers(),
    "str": st.text(),
    "bool": st.booleans(),
    "tuple[tuple[str, str], ...]": st.lists(st.tuples(st.text(), st.text()), max_size=3).map(tuple),
}


def events_of(cls: type[DomainEvent]) -> st.SearchStrategy[DomainEvent]:
    fields = {f.name: BY_TYPE[str(f.type)] for f in attrs.fields(cls) if f.name not in ("occurred_at", "scope")}
    return st.builds(cls, occurred_at=moments, scope=scopes, **fields)


def test_every_event_type_is_known() -> None:
    assert len(EVENT_TYPES) >= 25
    assert {"LearnerEnrolled", "WaitlistPromoted", "CertificateRevoked", "ComplianceChanged"} <= set(EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
@given(data=st.data())
def test_round_trip(name: str, data: st.DataObject) -> None:
    cls = EVENT_TYPES[name]
    event = data.draw(events_of(cls))
    assert (event.name, event.topic) == (name, _topic(event))  # no field may shadow the event's own name
    stored = json.loads(json.dumps({"fields": encode(event), "scope": encode_scope(event.scope)}))
    assert decode(name, stored["fields"], event.occurred_at, decode_scope(stored["scope"])) == event


def _topic(event: DomainEvent) -> str:
    return type(event).topic.fget(event)  # type: ignore[attr-defined,no-any-return]
