"""Write rules: ``may(actor, action, target)`` against DESIGN §2, as properties."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from arccm.domain.access import (
    ADMINS,
    Action,
    Actor,
    Resource,
    ResourceKind,
    Role,
    audience,
    can_read,
    may,
)
from arccm.domain.errors import Forbidden
from tests.strategies import resources as shared_resources

ids = st.sampled_from([uuid.UUID(int=i) for i in range(1, 7)])
roles = st.sampled_from(list(Role))
actors = st.builds(
    Actor,
    user_id=ids,
    role=roles,
    provider_id=st.none() | ids,
    location_ids=st.frozensets(ids, max_size=3),
)
resources = shared_resources(ids)


def allowed(actor: Actor, action: Action, target: Resource) -> bool:
    return isinstance(may(actor, action, target), Success)


@given(actors, st.sampled_from(list(Action)), resources)
def test_a_refusal_always_says_why(actor: Actor, action: Action, target: Resource) -> None:
    outcome = may(actor, action, target)
    if isinstance(outcome, Failure):
        error = outcome.failure()
        assert isinstance(error, Forbidden)
        assert error.reason
        assert error.action == action.value


@given(actors, resources)
def test_session_management_is_for_admins_and_providers_at_their_locations(actor: Actor, target: Resource) -> None:
    for action in (Action.SCHEDULE_SESSION, Action.CHANGE_SESSION, Action.CANCEL_SESSION, Action.ENROLL):
        expected = actor.role in ADMINS or (actor.role is Role.AP and target.location_id in actor.location_ids)
        assert allowed(actor, action, target) == expected


@given(actors, resources)
def test_attendance_is_for_the_sessions_own_lead_level_instructors(actor: Actor, target: Resource) -> None:
    if actor.role in (Role.IC, Role.IP):
        expected = actor.user_id in target.instructors
    elif actor.role in (Role.IT, Role.IN):
        expected = False
    else:
        expected = actor.role in ADMINS or target.location_id in actor.location_ids
    assert allowed(actor, Action.RECORD_ATTENDANCE, target) == expected
    assert allowed(actor, Action.RECORD_ASSESSMENT, target) == expected


@given(actors, resources)
def test_issuing(actor: Actor, target: Resource) -> None:
    if actor.role is Role.IC:
        expected = actor.user_id in target.instructors
    elif actor.role in (Role.IP, Role.IT, Role.IN):
        expected = False
    else:
        expected = actor.role in ADMINS or target.location_id in actor.location_ids
    assert allowed(actor, Action.ISSUE_CERTIFICATE, target) == expected


@given(actors, resources)
def test_revoke_and_reinstate(actor: Actor, target: Resource) -> None:
    revoke = actor.role in ADMINS or (actor.role is Role.AP and target.location_id in actor.location_ids)
    assert allowed(actor, Action.REVOKE_CERTIFICATE, target) == revoke
    assert allowed(actor, Action.REINSTATE_CERTIFICATE, target) == (actor.role in ADMINS)


@given(actors, resources)
def test_nobody_but_sa_grants_a_role_at_or_above_their_own(actor: Actor, target: Resource) -> None:
    if allowed(actor, Action.MANAGE_USER, target) and actor.role is not Role.SA:
        assert target.granted_role is None or target.granted_role.rank < actor.role.rank
        assert target.role is not Role.SA
    if actor.role is Role.AP and allowed(actor, Action.MANAGE_USER, target):
        assert target.role in (Role.IC, Role.IP, Role.IT, Role.IN)
        assert target.provider_id == actor.provider_id
    if actor.role in (Role.IC, Role.IP, Role.IT, Role.IN):
        assert not allowed(actor, Action.MANAGE_USER, target)
    if actor.role is Role.SA:
        assert allowed(actor, Action.MANAGE_USER, target)


@given(actors, resources)
def test_teams(actor: Actor, target: Resource) -> None:
    assert allowed(actor, Action.CREATE_TEAM, target) == (actor.role in ADMINS)
    members = actor.role in ADMINS or (
        actor.role is Role.AP and target.provider_id is not None and target.provider_id == actor.provider_id
    )
    assert allowed(actor, Action.MANAGE_TEAM_MEMBERS, target) == members


@given(actors, resources)
def test_anyone_verifies_and_admins_read_everything(actor: Actor, target: Resource) -> None:
    assert allowed(actor, Action.VERIFY_CERTIFICATE, target)
    if actor.role in ADMINS:
        assert can_read(actor, target)


@given(actors, resources)
def test_trainees_read_only_their_own_rows_and_their_sessions(actor: Actor, target: Resource) -> None:
    if actor.role not in (Role.IT, Role.IN) or target.kind is ResourceKind.REFERENCE:
        return
    if can_read(actor, target):
        if target.kind is ResourceKind.SESSION:
            assert actor.user_id in target.learners | target.instructors
        else:
            assert target.subject_id == actor.user_id


@settings(max_examples=1000)
@given(actors, resources)
def test_nobody_outside_a_resources_audience_reads_it(actor: Actor, target: Resource) -> None:
    """The feed's fan-out finds readers by ``audience``: it must never leave out one that ``can_read``."""
    if can_read(actor, target):
        assert audience(target).reaches(actor)
