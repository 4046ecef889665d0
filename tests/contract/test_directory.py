"""Finding things (``container.directory()``): the same pages, scopes and refusals on every backend.

The scoped lists are held to the read models the scope property test already checks (``test_scope.py``): paging
through a list, at any page size, yields exactly the rows ``read_models()`` gives the same actor, in the list's
documented order — nothing skipped, nothing twice, nothing outside the scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import attrs
import pytest
from returns.result import Failure, Success

from arccm.adapters.container import Container
from arccm.application import commands as c
from arccm.application.ports.unit_of_work import ActorNotPermitted
from arccm.application.use_cases.directory import _encode
from arccm.domain.access import Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.errors import InvalidValue, NotFound
from tests.world import NOW, World, ok


@pytest.fixture
def world(make_container: Callable[[], Container]) -> World:
    return World.create(make_container())


@pytest.fixture
def org(world: World) -> dict[str, Any]:
    """Two providers; five sessions of the first (two starting at the same moment), two of the second; learners
    enrolled; one class run and certified by a batch; a roster with an external learner."""
    first, second = world.provider(locations=2), world.provider()
    ap1, ap2 = world.user(Role.AP, first), world.user(Role.AP, second)
    ic1, ic2 = world.user(Role.IC, first), world.user(Role.IC, second)
    other = world.user(Role.IC, first)  # leads the session that starts with one of ic1's
    learners = [world.user(Role.IN, first) for _ in range(3)]
    leads = (ic1, ic1, ic1, ic1, other)
    sessions = [world.session(ap1, lead, starts_in=timedelta(days=1 + min(i, 3))) for i, lead in enumerate(leads)]
    sessions += [world.session(ap2, ic2, starts_in=timedelta(days=2 + i)) for i in range(2)]
    enroll = world.container.enroll_learner()
    enrolled = [ok(enroll(ap1, c.EnrollLearner(sessions[0].id, learner.user_id))) for learner in learners]
    ok(enroll(ap1, c.EnrollLearner(sessions[1].id, learners[0].user_id)))
    world.run_class(sessions[0], {e.id: (90, 90) for e in enrolled})
    batch = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, sessions[0].id, chunk_size=2, name="June")
    report = ok(world.container.batch_issue_certificates()(ap1, batch, None))
    jane, ana = world.student("Jane Doe"), world.student("Ana Lima")
    place = next(loc for loc in world.locations if loc.id in ap1.location_ids)
    roster = ok(
        world.container.create_roster()(ap1, c.CreateRoster("Evening CPR", world.course.id, place.id, ic1.user_id, 5))
    )
    ok(world.container.add_roster_member()(ap1, c.AddRosterMember(roster.id, jane.id)))
    return {"ap1": ap1, "ap2": ap2, "ic1": ic1, "ic2": ic2, "learners": learners, "sessions": sessions,
            "batch": report.batch_id, "roster": roster, "students": (jane, ana)}  # fmt: skip


def _all(read: Callable[[str | None], Any]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    for _ in range(100):
        page = ok(read(cursor))
        items.extend(page.items)
        cursor = page.next
        if cursor is None:
            return items
    raise AssertionError("paging did not end")


def test_every_page_size_yields_exactly_the_actors_scope_in_order(world: World, org: dict[str, Any]) -> None:
    directory, reads = world.container.directory(), world.container.read_models()
    today = world.clock.now().date()
    for actor in world.actors.values():
        sessions = list(reads.sessions(actor))
        certificates = sorted(reads.certificates(actor, today), key=lambda x: (x.issue_date, x.id), reverse=True)
        for limit in (1, 2, 500):
            assert _all(lambda after, a=actor, n=limit: directory.sessions(a, after=after, limit=n)) == sessions
            found = _all(lambda after, a=actor, n=limit: directory.certificates(a, after=after, limit=n))
            assert found == certificates
    assert len(ok(directory.sessions(org["ap1"])).items) == 5
    assert [s.id for s in ok(directory.sessions(org["ic2"])).items] == sorted(
        (s.id for s in org["sessions"][5:]), key=lambda i: next(s.starts_at for s in org["sessions"] if s.id == i)
    )


def test_filters_narrow_a_list(world: World, org: dict[str, Any]) -> None:
    directory, sa = world.container.directory(), world.admin
    assert sa is not None
    day = (NOW + timedelta(days=2)).date()
    on_day = ok(directory.sessions(sa, start=day, end=day + timedelta(days=1))).items
    assert {s.id for s in on_day} == {s.id for s in org["sessions"] if s.starts_at.date() == day}
    assert {s.status for s in ok(directory.sessions(sa, status="in_progress")).items} == {"in_progress"}
    holder = org["learners"][1].user_id
    mine = ok(directory.certificates(sa, holder=holder)).items
    assert len(mine) == 1
    assert mine[0].status == "active"
    assert ok(directory.certificates(sa, status="revoked")).items == ()


def test_details_are_read_in_scope_and_hidden_exactly_like_missing_rows(world: World, org: dict[str, Any]) -> None:
    directory, ap1, ap2, ic1 = world.container.directory(), org["ap1"], org["ap2"], org["ic1"]
    first = org["sessions"][0]
    detail = ok(directory.session(ap1, first.id))
    assert detail.session.id == first.id
    assert len(detail.enrollments) == 3
    learner = org["learners"][0]
    own_view = ok(directory.session(world.actors[learner.user_id], first.id))
    assert [e.learner_id for e in own_view.enrollments] == [learner.user_id]  # not the other learners
    assert directory.session(ap2, first.id).failure() == NotFound("session", first.id)
    missing = uuid.uuid4()
    assert directory.session(ap2, missing).failure() == NotFound("session", missing)

    certificate = ok(directory.certificates(ap1)).items[0]
    by_code = ok(directory.certificate(ap1, certificate.code.lower().replace("-", " ")))
    assert by_code.certificate == certificate
    assert by_code.completion_kind == "session_enrollment"
    assert ok(directory.certificate(ic1, str(certificate.id))).certificate == certificate
    assert isinstance(directory.certificate(ap2, certificate.code).failure(), NotFound)
    assert directory.certificate(ap1, "x" * 5000).failure().field == "certificate"

    roster = ok(directory.roster(ic1, org["roster"].id))
    assert (roster.roster.name, roster.roster.members) == ("Evening CPR", 1)
    assert [m.student_id for m in roster.members] == [org["students"][0].id]
    assert [r.id for r in ok(directory.rosters(ic1)).items] == [org["roster"].id]
    assert ok(directory.rosters(org["ic2"])).items == ()
    assert isinstance(directory.roster(ap2, org["roster"].id).failure(), NotFound)

    batch = ok(directory.batch(ap1, org["batch"]))
    assert (batch.name, batch.status, batch.total, batch.issued) == ("June", "completed", 3, 3)
    assert [b.id for b in ok(directory.batches(ap1)).items] == [org["batch"]]
    assert isinstance(directory.batch(ap2, org["batch"]).failure(), NotFound)


def test_people_are_found_by_part_of_a_name_or_an_exact_email_in_scope(world: World, org: dict[str, Any]) -> None:
    directory, sa, ap1, ap2, ic1 = world.container.directory(), world.admin, org["ap1"], org["ap2"], org["ic1"]
    assert sa is not None
    jane = org["students"][0]
    found = ok(directory.people(sa, "jane  DOE")).items
    assert [(p.id, p.kind, p.name) for p in found] == [(jane.id, "learner", "Jane Doe")]
    assert [p.id for p in ok(directory.people(ap1, "doe")).items] == []  # no location: no AP's learner
    ic_profile = world.profiles[ic1.user_id]
    assert [p.id for p in ok(directory.people(sa, f"  {ic_profile.email.upper()} ")).items] == [ic1.user_id]
    assert [p.id for p in ok(directory.people(ap1, ic_profile.email)).items] == [ic1.user_id]
    assert ok(directory.people(ap2, ic_profile.email)).items == ()  # an address outside the scope tells nothing
    assert [p.id for p in ok(directory.people(ic1, "Person")).items] == [ic1.user_id]  # only oneself
    everyone = _all(lambda after: directory.people(sa, "person", after=after, limit=2))
    assert [p.name for p in everyone] == sorted(p.display_name for p in world.profiles.values())
    assert len(everyone) == len(world.profiles)
    assert directory.people(sa, " \t ").failure().field == "text"
    assert directory.people(sa, "x" * 201).failure().field == "text"
    # control characters are refused by rule: a NUL reached PostgreSQL as a driver error (found by schemathesis)
    for junk in ("a\x00b", "\x1b[31m", "ab\x7f"):
        assert directory.people(sa, junk).failure().field == "text", repr(junk)


def test_a_row_added_between_pages_is_neither_skipped_nor_repeated(world: World, org: dict[str, Any]) -> None:
    directory, ap1 = world.container.directory(), org["ap1"]
    page = ok(directory.sessions(ap1, limit=2))
    before = page.items[0].starts_at - NOW  # starts before the cursor: belongs to a page already read
    world.session(ap1, world.user(Role.IC, world.providers[0]), starts_in=before)
    world.session(ap1, org["ic1"], starts_in=timedelta(days=30))  # after it: must come
    rest = _all(lambda after: directory.sessions(ap1, after=after or page.next, limit=2))
    ids = [s.id for s in (*page.items, *rest)]
    assert len(ids) == len(set(ids)) == 6


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d, a: d.sessions(a, limit=0), "limit"),
        (lambda d, a: d.sessions(a, limit=501), "limit"),
        (lambda d, a: d.sessions(a, status="done"), "status"),
        (lambda d, a: d.sessions(a, start=date(2026, 6, 2), end=date(2026, 6, 1)), "end"),
        (lambda d, a: d.sessions(a, after="not a cursor"), "after"),
        (lambda d, a: d.sessions(a, after=_encode("people", ("x", uuid.uuid4()))), "after"),
        (lambda d, a: d.sessions(a, after=_encode("sessions", ("2026-06-01T00:00:00", uuid.uuid4()))), "after"),
        (lambda d, a: d.sessions(a, after="A" * 100_000), "after"),
        (lambda d, a: d.certificates(a, status="valid"), "status"),
        (lambda d, a: d.certificates(a, after=_encode("certificates", ("June", uuid.uuid4()))), "after"),
        (lambda d, a: d.batches(a, limit=-1), "limit"),
        (lambda d, a: d.rosters(a, after=_encode("rosters", ("x",))), "after"),
        (lambda d, a: d.session(a, "not-a-uuid"), "session_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(call: Any, field: str) -> None:
    """Refused by the handler before any backend is asked: one backend shows it (the memory store, at once)."""
    world = World.create()
    outcome = call(world.container.directory(), world.admin)
    assert isinstance(outcome, Failure)
    assert isinstance(outcome.failure(), InvalidValue)
    assert outcome.failure().field == field


def test_an_inactive_actor_finds_nothing(world: World, org: dict[str, Any]) -> None:
    sa, ap1 = world.admin, org["ap1"]
    assert sa is not None
    ok(world.container.set_user_active()(sa, c.SetUserActive(ap1.user_id, False)))
    with pytest.raises(ActorNotPermitted):
        world.container.directory().sessions(ap1)
    assert isinstance(world.container.directory().sessions(sa), Success)


def test_an_operator_names_a_user_by_email(world: World, org: dict[str, Any]) -> None:
    resolve = world.container.resolve_actor()
    ic1 = org["ic1"]
    address = world.profiles[ic1.user_id].email
    assert ok(resolve.by_email(f"  {address.upper()} ")) == ic1
    assert isinstance(resolve.by_email("nobody@example.org").failure(), NotFound)
    assert resolve.by_email("not an address").failure().field == "email"
    assert resolve.by_email("a@" + "b" * 300).failure().field == "email"
    twin = attrs.evolve(world.profiles[ic1.user_id], id=uuid.uuid4(), email=address.upper())
    world.container.bootstrap().load(twin)
    assert "2 users" in resolve.by_email(address).failure().message
