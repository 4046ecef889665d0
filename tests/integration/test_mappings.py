"""Every aggregate's mapping round-trips: generate it fully populated, commit it, load it back, compare.

The pgorecki/python-ddd lesson (STYLE.md): a data mapper that saves a field it never loads back passes every
use-case test that does not look at that field.  These properties look at every field, on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from arccm.adapters.container import Container
from arccm.adapters.postgres import tables as t
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.domain.access import Actor, Role
from arccm.domain.batch import BatchStatus, CertificateBatch
from arccm.domain.certificate import Certificate, CompletionKind, CompletionRef, Recipient, Revocation, add_months
from arccm.domain.compliance import ComplianceStanding, ComplianceStatus, Tier
from arccm.domain.enrollment import Attendance, Completion, Enrollment, EnrollmentStatus
from arccm.domain.notification import Category, EmailBatch, EmailBatchStatus, EmailStatus, Notification
from arccm.domain.people import StudentProfile, UserProfile
from arccm.domain.roster import Roster, RosterMember
from arccm.domain.team import Team, TeamMember, TeamRole
from arccm.domain.training_session import SessionStatus, TrainingSession
from arccm.domain.verification_code import RANDOM_BITS, encode
from tests.conftest import PgSchema
from tests.world import World

pytestmark = pytest.mark.needs_postgres
T = TypeVar("T")
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

words = st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), min_size=1, max_size=40).filter(
    lambda s: s.strip() == s and s != ""
)
moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
days = st.dates(min_value=date(2001, 1, 1), max_value=date(2080, 1, 1))
scores = st.none() | st.decimals(min_value=0, max_value=100, places=2)


def fields(value: Any) -> dict[str, Any]:
    return attrs.asdict(value, filter=lambda a, _: a.name != "events", recurse=False)


def assert_same_with_children(loaded: Any, original: Any, children: str) -> None:
    """The aggregate's own fields, then its child rows in order, each compared field by field."""
    assert {k: v for k, v in fields(loaded).items() if k != children} == {
        k: v for k, v in fields(original).items() if k != children
    }
    assert [fields(c) for c in getattr(loaded, children)] == [fields(c) for c in getattr(original, children)]


@attrs.frozen
class Org:
    world: World
    ap: Actor
    ic: Actor
    session: TrainingSession  # certificates need one to come from


@pytest.fixture
def org(pg_schema: PgSchema) -> Org:
    world = World.create(pg_schema.container())
    provider = world.provider()
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    return Org(world, ap, ic, world.session(ap, ic))


def people(world: World, count: int) -> list[uuid.UUID]:
    profiles = [UserProfile(uuid.uuid4(), f"Person {i}", Role.IN) for i in range(count)]
    world.container.bootstrap().load(*profiles)
    return [p.id for p in profiles]


def students(world: World, count: int) -> list[uuid.UUID]:
    made = [StudentProfile(uuid.uuid4(), "Sam", f"Student {i}") for i in range(count)]
    world.container.bootstrap().load(*made)
    return [s.id for s in made]


def round_trip(
    container: Container, value: T, add: Callable[[UnitOfWork, T], None], get: Callable[[UnitOfWork], T | None]
) -> T:
    with container.unit_of_work()(None) as uow:
        add(uow, value)
        uow.commit()
    with container.unit_of_work()(None) as uow:
        loaded = get(uow)
    assert loaded is not None
    return loaded


def a_certificate(
    org: Org, data: st.DataObject, holder: uuid.UUID, text: st.SearchStrategy[str], **rest: Any
) -> Certificate:
    """A certificate of ``org``'s session for ``holder``, its names drawn from ``text``, the rest as given."""
    return Certificate(
        id=uuid.uuid4(),
        code=encode(uuid.uuid4().int >> (128 - RANDOM_BITS)),  # keys are fresh per example, not drawn
        completion=CompletionRef(CompletionKind.SESSION_ENROLLMENT, uuid.uuid4()),
        recipient=Recipient(data.draw(text), user_id=holder),
        course_id=org.world.course.id,
        course_name=data.draw(text),
        location_id=org.session.location_id,
        issued_by=org.ap.user_id,
        provider_id=org.session.provider_id,
        session_id=org.session.id,
        **rest,
    )


@EXAMPLES
@given(data=st.data())
def test_a_certificate_round_trips(org: Org, data: st.DataObject) -> None:
    holder = people(org.world, 1)[0]
    issued = data.draw(days)
    revoked = data.draw(st.booleans())
    certificate = a_certificate(
        org,
        data,
        holder,
        words,
        issue_date=issued,
        expiry_date=add_months(issued, data.draw(st.integers(1, 120))),
        instructor_ids=frozenset({org.ic.user_id}),
        instructor_name=data.draw(words),
        lead_instructor_id=org.ic.user_id,
        batch_id=data.draw(st.none() | st.uuids()),
        revocation=Revocation(data.draw(words), org.ap.user_id, data.draw(moments)) if revoked else None,
        expired_on=data.draw(st.none() | days),
        version=data.draw(st.integers(1, 1000)),
    )
    loaded = round_trip(
        org.world.container,
        certificate,
        lambda uow, c: uow.certificates.add(c),
        lambda uow: uow.certificates.find(certificate.id),
    )
    assert fields(loaded) == fields(certificate)


# what a bulk write sends as arrays (certificates, notices, change-log rows): any text, including what an array
# literal or a JSON document would have to escape
hostile = st.sampled_from(["{a,b}", '"quoted"', "back\\slash", "it's", "NULL", "{}", "a, b", "é ✓ 漢"]) | st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=30
).filter(lambda s: s.strip() == s and s != "")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | hostile,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile, inner, max_size=3),
    max_leaves=8,
)


@EXAMPLES
@given(data=st.data())
def test_many_certificates_and_notices_written_at_once_round_trip_whatever_their_text(
    org: Org, data: st.DataObject
) -> None:
    """A unit of work writes its new certificates and notices in one statement per table, each column sent as
    one array: every row comes back as it went, in any number, with any text, null or empty array."""
    holders = people(org.world, data.draw(st.integers(1, 8)))
    certificates = [
        a_certificate(
            org,
            data,
            holder,
            hostile,
            issue_date=date(2026, 1, 1),
            expiry_date=date(2028, 1, 1),
            instructor_ids=data.draw(st.sampled_from([frozenset(), frozenset({org.ic.user_id})])),
            instructor_name=data.draw(st.just("") | hostile),
            batch_id=data.draw(st.none() | st.uuids()),
        )
        for holder in holders
    ]
    notices = [
        Notification(
            id=uuid.uuid4(),
            category=Category.CERTIFICATE_ISSUED,
            title=data.draw(hostile),
            message=data.draw(hostile),
            dedupe_key=str(uuid.uuid4()),
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            user_id=holder,
            email=data.draw(st.just("") | st.emails()),
            context=data.draw(st.dictionaries(hostile, json_values, max_size=4)),
        )
        for holder in holders
    ]
    with org.world.container.unit_of_work()(None) as uow:
        for certificate, notice in zip(certificates, notices, strict=True):
            uow.certificates.add(certificate)
            uow.notifications.add(notice)
        uow.commit()
    with org.world.container.unit_of_work()(None) as uow:
        assert [fields(uow.certificates.find(c.id)) for c in certificates] == [fields(c) for c in certificates]
        assert [fields(uow.notifications.get_for_update(n.id)) for n in notices] == [fields(n) for n in notices]


@EXAMPLES
@given(data=st.data())
def test_a_profile_round_trips(org: Org, data: st.DataObject) -> None:
    profile = UserProfile(
        id=uuid.uuid4(),
        display_name=data.draw(words),
        role=data.draw(st.sampled_from(Role)),
        email=data.draw(st.emails() | st.just("")),
        phone=data.draw(st.from_regex(r"\+?[0-9 ]{0,15}", fullmatch=True)),
        provider_id=data.draw(st.none() | st.just(org.world.providers[0].id)),
        location_id=data.draw(st.none() | st.just(org.world.locations[0].id)),
        compliance=data.draw(
            st.builds(ComplianceStanding, st.integers(0, 100), st.sampled_from(Tier), st.sampled_from(ComplianceStatus))
        ),
    )
    loaded = round_trip(
        org.world.container, profile, lambda uow, p: uow.profiles.add(p), lambda uow: uow.profiles.find(profile.id)
    )
    assert fields(loaded) == fields(profile)


def _enrollments(
    data: st.DataObject, session_id: uuid.UUID, learners: list[uuid.UUID], capacity: int
) -> list[Enrollment]:
    out, seated, waiting = [], 0, 0
    for learner in learners:
        status = data.draw(st.sampled_from(EnrollmentStatus))
        if status is EnrollmentStatus.ENROLLED and seated >= capacity:
            status = EnrollmentStatus.CANCELLED
        seated += status is EnrollmentStatus.ENROLLED
        waiting += status is EnrollmentStatus.WAITLISTED
        enrolled_at = data.draw(moments)
        out.append(
            Enrollment(
                id=uuid.uuid4(),
                session_id=session_id,
                learner_id=learner,
                status=status,
                enrolled_at=enrolled_at,
                enrolled_by=data.draw(st.none() | st.just(learner)),
                waitlist_position=waiting if status is EnrollmentStatus.WAITLISTED else None,
                attendance=data.draw(st.sampled_from(Attendance)),
                completion=data.draw(st.sampled_from(Completion)),
                practical_score=data.draw(scores),
                written_score=data.draw(scores),
                completion_reason=data.draw(st.none() | words),
                completed_at=data.draw(st.none() | moments),
                cancelled_at=enrolled_at if status is EnrollmentStatus.CANCELLED else None,
            )
        )
    return sorted(out, key=lambda e: (e.enrolled_at, e.id))


@EXAMPLES
@given(data=st.data())
def test_a_session_with_its_enrollments_round_trips(org: Org, data: st.DataObject) -> None:
    starts = data.draw(moments)
    capacity = data.draw(st.integers(1, 6))
    session_id = uuid.uuid4()
    learners = people(org.world, data.draw(st.integers(0, 8)))
    session = TrainingSession(
        id=session_id,
        course_id=org.world.course.id,
        title=data.draw(words),
        location_id=org.world.locations[0].id,
        lead_instructor_id=org.ic.user_id,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=data.draw(st.integers(1, 10_000))),
        max_capacity=capacity,
        provider_id=data.draw(st.none() | st.just(org.world.providers[0].id)),
        allow_waitlist=data.draw(st.booleans()),
        created_by=data.draw(st.none() | st.just(org.ap.user_id)),
        status=data.draw(st.sampled_from(SessionStatus)),
        version=data.draw(st.integers(1, 1000)),
        enrollments=_enrollments(data, session_id, learners, capacity),
    )
    loaded = round_trip(
        org.world.container, session, lambda uow, s: uow.sessions.add(s), lambda uow: uow.sessions.find(session_id)
    )
    assert_same_with_children(loaded, session, "enrollments")


@EXAMPLES
@given(data=st.data())
def test_a_roster_with_its_members_round_trips(org: Org, data: st.DataObject) -> None:
    members = [
        RosterMember(
            id=uuid.uuid4(),
            student_id=student,
            added_at=data.draw(moments),
            attendance=data.draw(st.sampled_from(Attendance)),
            practical_score=data.draw(scores),
            written_score=data.draw(scores),
            completion=data.draw(st.sampled_from(Completion)),
            completion_reason=data.draw(st.none() | words),
            completed_at=data.draw(st.none() | moments),
        )
        for student in students(org.world, data.draw(st.integers(0, 6)))
    ]
    roster = Roster(
        id=uuid.uuid4(),
        name=data.draw(words),
        course_id=org.world.course.id,
        location_id=org.world.locations[0].id,
        instructor_id=org.ic.user_id,
        max_capacity=data.draw(st.integers(max(1, len(members)), 50)),
        provider_id=data.draw(st.none() | st.just(org.world.providers[0].id)),
        created_by=data.draw(st.none() | st.just(org.ap.user_id)),
        members=sorted(members, key=lambda m: (m.added_at, m.id)),
    )
    loaded = round_trip(
        org.world.container, roster, lambda uow, r: uow.rosters.add(r), lambda uow: uow.rosters.find(roster.id)
    )
    assert_same_with_children(loaded, roster, "members")


@EXAMPLES
@given(data=st.data())
def test_a_team_with_its_members_round_trips(org: Org, data: st.DataObject) -> None:
    members = [
        TeamMember(user, data.draw(st.sampled_from(TeamRole)), data.draw(moments))
        for user in people(org.world, data.draw(st.integers(0, 5)))
    ]
    team = Team(
        id=uuid.uuid4(),
        name=data.draw(words),
        provider_id=data.draw(st.none() | st.just(org.world.providers[0].id)),
        location_id=data.draw(st.none() | st.just(org.world.locations[0].id)),
        created_by=data.draw(st.none() | st.just(org.ap.user_id)),
        members=sorted(members, key=lambda m: (m.added_at, m.user_id)),
    )
    loaded = round_trip(
        org.world.container, team, lambda uow, t: uow.teams.add(t), lambda uow: uow.teams.get_for_update(team.id)
    )
    assert_same_with_children(loaded, team, "members")


@EXAMPLES
@given(data=st.data())
def test_a_certificate_batch_round_trips(org: Org, data: st.DataObject) -> None:
    total = data.draw(st.integers(0, 10_000))
    batch = CertificateBatch(
        id=uuid.uuid4(),
        name=data.draw(words),
        source_kind=CompletionKind.SESSION_ENROLLMENT,
        source_id=uuid.uuid4(),
        course_id=org.world.course.id,
        location_id=org.world.locations[0].id,
        issue_date=data.draw(days),
        created_by=data.draw(st.none() | st.just(org.ap.user_id)),
        provider_id=data.draw(st.none() | st.just(org.world.providers[0].id)),
        status=BatchStatus.COMPLETED,  # a running one per source: the source is fresh, but keep it simple
        total=total,
        done=data.draw(st.integers(0, total)),
        issued=data.draw(st.integers(0, total)),
        not_eligible=data.draw(st.integers(0, 10_000)),
    )
    loaded = round_trip(
        org.world.container, batch, lambda uow, b: uow.batches.add(b), lambda uow: uow.batches.get_for_update(batch.id)
    )
    assert fields(loaded) == fields(batch)


@EXAMPLES
@given(data=st.data())
def test_a_notification_and_an_email_batch_round_trip(org: Org, data: st.DataObject) -> None:
    status = data.draw(st.sampled_from(EmailStatus))
    external = data.draw(st.booleans())
    person = students(org.world, 1)[0] if external else people(org.world, 1)[0]
    notification = Notification(
        id=uuid.uuid4(),
        category=data.draw(st.sampled_from(Category)),
        title=data.draw(words),
        message=data.draw(words),
        dedupe_key=str(uuid.uuid4()),
        created_at=data.draw(moments),
        user_id=None if external else person,
        student_id=person if external else None,
        email=data.draw(st.emails()),
        location_id=data.draw(st.none() | st.just(org.world.locations[0].id)),
        context=data.draw(st.dictionaries(words, words, max_size=4)),
        email_status=status,
        email_attempts=data.draw(st.integers(0, 5)),
        email_error=data.draw(st.none() | words),
        emailed_at=data.draw(moments) if status is EmailStatus.SENT else None,
    )
    loaded = round_trip(
        org.world.container,
        notification,
        lambda uow, n: uow.notifications.add(n),
        lambda uow: uow.notifications.get_for_update(notification.id),
    )
    assert fields(loaded) == fields(notification)
    total = data.draw(st.integers(0, 1000))
    processed = data.draw(st.integers(0, total))
    sent = data.draw(st.integers(0, processed))
    batch = EmailBatch(
        id=uuid.uuid4(),
        name=data.draw(words),
        total=total,
        started_at=data.draw(moments),
        status=data.draw(st.sampled_from(EmailBatchStatus)),
        processed=processed,
        sent=sent,
        failed=data.draw(st.integers(0, processed - sent)),
        error=data.draw(st.none() | words),
        completed_at=data.draw(st.none() | moments),
    )
    loaded_batch = round_trip(
        org.world.container,
        batch,
        lambda uow, b: uow.notifications.add_email_batch(b),
        lambda uow: uow.notifications.email_batch(batch.id),
    )
    assert fields(loaded_batch) == fields(batch)


def test_the_driver_reads_every_table_as_sqlalchemy_does(org: Org) -> None:
    """The unit of work's hot statements run on the driver's cursor (adapters/postgres/driver.py) with the types'
    bind and result processors SQLAlchemy would apply: every column of every table reads back the same both ways
    (booleans, numerics, arrays, JSON, dates, nulls)."""
    with org.world.container.unit_of_work()(None) as uow:
        uow.run(
            "INSERT INTO session_enrollments (id, session_id, learner_id, status, attendance_status,"
            " completion_status, practical_score, written_score, enrolled_at)"
            " VALUES (:id, :s, :l, 'enrolled', 'attended', 'completed', 87.5, 90.25, now())",
            {"id": uuid.uuid4(), "s": org.session.id, "l": org.ic.user_id},
        )
        compared = 0
        for table in t.metadata.sorted_tables:
            statement = select(*table.c).limit(50)  # one transaction, one plan: the same rows in the same order
            through_driver = uow.fetch(statement, {})
            assert through_driver == [dict(r) for r in uow.connection.execute(statement).mappings()], table.name
            compared += len(through_driver)
        assert compared > 20
