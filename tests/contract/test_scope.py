"""For generated organizations, each actor reads exactly what DESIGN §2 says: no more, no less.

The oracle below is written from the design text, walking the organization
directly; it shares no code with ``can_read``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Success

from arccm.adapters.container import Container
from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from arccm.domain.access import Actor, Role, can_read
from arccm.domain.certificate import CompletionKind
from tests.world import World, ok

organizations = st.fixed_dictionaries(
    {
        "providers": st.integers(1, 3),
        "sessions": st.lists(
            st.tuples(
                st.integers(0, 9),
                st.integers(0, 9),
                st.lists(st.integers(0, 11), max_size=6, unique=True),
                st.booleans(),
            ),
            min_size=1,
            max_size=6,
        ),
    }
)


def build(make_container: Callable[[], Container], spec: dict) -> tuple[World, list[Actor], dict]:  # type: ignore[type-arg]
    world = World.create(make_container())
    providers = [world.provider(locations=2) for _ in range(spec["providers"])]
    aps = [world.user(Role.AP, p) for p in providers]
    instructors = [world.user(role, providers[i % len(providers)]) for i, role in enumerate([Role.IC, Role.IP] * 3)]
    learners = [world.user([Role.IT, Role.IN][i % 2]) for i in range(10)] + instructors[:2]
    facts: dict = {"sessions": [], "enrolled": {}, "certified": {}}  # type: ignore[type-arg]
    used_slots: set[tuple[uuid.UUID, int]] = set()
    for index, (who, lead_index, learner_indexes, certify) in enumerate(spec["sessions"]):
        ap = aps[who % len(aps)]
        lead = instructors[lead_index % len(instructors)]
        slot = (lead.user_id, index)
        if slot in used_slots:
            continue
        used_slots.add(slot)
        location = next(loc for loc in world.locations if loc.id in ap.location_ids)
        session = world.session(ap, lead, capacity=20, location=location, starts_in=timedelta(days=3 + index))
        enrolled = []
        for li in learner_indexes:
            learner = learners[li % len(learners)]
            if learner.user_id == lead.user_id:
                continue
            outcome = world.container.enroll_learner()(ap, c.EnrollLearner(session.id, learner.user_id))
            if isinstance(outcome, Success):
                enrolled.append((outcome.unwrap().id, learner.user_id))
        facts["sessions"].append((session.id, ap, lead.user_id, location.id))
        facts["enrolled"][session.id] = enrolled
        if certify and enrolled:
            world.run_class(session, {enrolled[0][0]: (95, 95)})
            issue = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrolled[0][0])
            facts["certified"][session.id] = ok(world.container.issue_certificate()(ap, issue)).id
    assert world.admin is not None
    return world, [world.admin, *aps, *instructors, *learners], facts


def expected_sessions(actor: Actor, facts: dict) -> set[uuid.UUID]:  # type: ignore[type-arg]
    out = set()
    for session_id, ap, lead, location in facts["sessions"]:
        learners = {learner for _, learner in facts["enrolled"][session_id]}
        if actor.role in (Role.SA, Role.AD):
            out.add(session_id)
        elif actor.role is Role.AP:
            if location in actor.location_ids or ap.user_id == actor.user_id:
                out.add(session_id)
        elif actor.role in (Role.IC, Role.IP):
            if lead == actor.user_id or actor.user_id in learners:
                out.add(session_id)
        elif actor.user_id in learners:
            out.add(session_id)
    return out


def expected_enrollments(actor: Actor, facts: dict) -> set[uuid.UUID]:  # type: ignore[type-arg]
    out = set()
    for session_id, ap, lead, location in facts["sessions"]:
        for enrollment_id, learner in facts["enrolled"][session_id]:
            if actor.role in (Role.SA, Role.AD):
                out.add(enrollment_id)
            elif actor.role is Role.AP:
                if location in actor.location_ids or ap.user_id == actor.user_id:
                    out.add(enrollment_id)
            elif actor.role in (Role.IC, Role.IP):
                if actor.user_id in (lead, learner):
                    out.add(enrollment_id)
            elif learner == actor.user_id:
                out.add(enrollment_id)
    return out


def expected_certificates(actor: Actor, facts: dict) -> set[uuid.UUID]:  # type: ignore[type-arg]
    out = set()
    for session_id, ap, lead, location in facts["sessions"]:
        certificate = facts["certified"].get(session_id)
        if certificate is None:
            continue
        recipient = facts["enrolled"][session_id][0][1]
        if (
            actor.role in (Role.SA, Role.AD)
            or (actor.role is Role.AP and (location in actor.location_ids or ap.user_id == actor.user_id))
            or (actor.role in (Role.IC, Role.IP) and (actor.user_id in (lead, recipient)))
            or (actor.role in (Role.IT, Role.IN) and recipient == actor.user_id)
        ):
            out.add(certificate)
    return out


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=organizations)
def test_each_actor_reads_exactly_its_scope(make_container: Callable[[], Container], spec: dict) -> None:  # type: ignore[type-arg]
    world, actors, facts = build(make_container, spec)
    reads = world.container.read_models()
    today = world.clock.now().date()
    feed = world.container.change_feed()
    everything = feed.read(world.admin, Cursor.origin(), 100_000).changes  # type: ignore[arg-type]
    for actor in actors:
        # the change feed is filtered where it is read, by the same rules as everything else
        visible = [ch.cursor for ch in everything if can_read(actor, ch.event.scope)]
        assert [ch.cursor for ch in feed.read(actor, Cursor.origin(), 100_000).changes] == visible, actor.role
        assert {s.id for s in reads.sessions(actor)} == expected_sessions(actor, facts), actor.role
        assert {e.id for e in reads.enrollments(actor)} == expected_enrollments(actor, facts), actor.role
        assert {c.id for c in reads.certificates(actor, today)} == expected_certificates(actor, facts), actor.role
