"""The Supabase bindings are a hint: they must wake a follower for every change-log row it may read."""

from __future__ import annotations

import uuid

from hypothesis import example, given
from hypothesis import strategies as st

from arccm.adapters.realtime.supabase import IN_LIMIT, covers, filters, interest
from arccm.domain.access import Actor, Resource, ResourceKind, Role, can_read
from tests.realtime_server import filter_matches
from tests.strategies import resources

IDS = st.sampled_from([uuid.UUID(int=n) for n in range(1, 7)])
ACTORS = st.builds(
    Actor,
    user_id=IDS,
    role=st.sampled_from(list(Role)),
    provider_id=st.none() | IDS,
    location_ids=st.frozensets(IDS, max_size=3),
)


def row(resource: Resource) -> dict[str, str | None]:
    """The change-log columns a Supabase filter can test, as the server compares them (text)."""
    return {
        "kind": resource.kind.value,
        "location_id": None if resource.location_id is None else str(resource.location_id),
        "provider_id": None if resource.provider_id is None else str(resource.provider_id),
        "created_by": None if resource.created_by is None else str(resource.created_by),
        "subject_id": None if resource.subject_id is None else str(resource.subject_id),
    }


def wakes(actors: list[Actor], resource: Resource) -> bool:
    return any(filter_matches(condition, row(resource)) for condition in filters(interest(actors)))


@given(st.lists(ACTORS, min_size=1, max_size=4), resources(IDS))
@example(  # found by CI: an AP was not woken for a notice addressed to itself
    actors=[Actor(uuid.UUID(int=1), Role.AP)],
    resource=Resource(ResourceKind.NOTIFICATION, subject_id=uuid.UUID(int=1)),
)
def test_every_follower_is_woken_for_every_row_it_may_read(actors: list[Actor], resource: Resource) -> None:
    if any(can_read(actor, resource) for actor in actors):
        assert wakes(actors, resource)


@given(ACTORS, resources(IDS))
def test_a_trainee_is_not_woken_for_other_peoples_certificates(actor: Actor, resource: Resource) -> None:
    """The hint is narrow where a filter can say it: a learner hears of certificates only when they are the subject."""
    if actor.role in (Role.IT, Role.IN) and resource.kind.value == "certificate":
        assert wakes([actor], resource) == (resource.subject_id == actor.user_id)


@given(st.lists(ACTORS, max_size=4), st.lists(ACTORS, max_size=4))
def test_wider_interest_covers_narrower(some: list[Actor], more: list[Actor]) -> None:
    assert covers(interest(some + more), interest(some))
    assert covers(interest(some + more), interest(more))
    admin = Actor(uuid.uuid4(), Role.SA)
    assert covers(interest([*some, admin]), interest(more))
    assert not covers(interest(some), interest([admin])) or any(a.role in (Role.SA, Role.AD) for a in some)


def test_an_administrator_needs_no_filter_and_long_lists_are_split() -> None:
    admin = Actor(uuid.uuid4(), Role.SA)
    assert filters(interest([admin, Actor(uuid.uuid4(), Role.IN)])) == [None]
    learners = [Actor(uuid.uuid4(), Role.IN) for _ in range(IN_LIMIT + 1)]
    conditions = [c for c in filters(interest(learners)) if c and c.startswith("subject_id=")]
    assert len(conditions) == 2
    assert sum(len(c.split(",")) for c in conditions) == IN_LIMIT + 1
