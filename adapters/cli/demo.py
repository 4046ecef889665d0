"""`arccm demo`: a short end-to-end story, told as it happens.

schedule → enroll past capacity into the waitlist → cancel and promote → attend
→ assess → complete → issue → verify → revoke → verify again — and who was
refused what along the way.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs
from returns.result import Failure, Result
from rich.console import Console

from arccm.adapters.container import Container
from arccm.adapters.system import ManualClock
from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from arccm.domain.access import Actor, Role
from arccm.domain.certificate import Certificate, CompletionKind
from arccm.domain.compliance import ComplianceStanding, ComplianceStatus, Tier
from arccm.domain.course import AssessmentRule, Course
from arccm.domain.enrollment import Attendance, Enrollment
from arccm.domain.errors import DomainError
from arccm.domain.people import AuthorizedProvider, InstructorProfile, Location, UserProfile, actor_for
from arccm.domain.training_session import TrainingSession

T = TypeVar("T")
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


class Story:
    def __init__(self, container: Container, console: Console) -> None:
        self.container, self.console = container, console
        self.actors: dict[str, Actor] = {}
        self.names: dict[uuid.UUID, str] = {}

    def say(self, text: str) -> None:
        self.console.print(text)

    def step(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def attempt(self, who: str, what: str, outcome: Result[T, DomainError]) -> T | None:
        if isinstance(outcome, Failure):
            self.say(f"  [red]✗ refused[/red] {who} → {what}: {self.named(outcome.failure().message)}")
            return None
        self.say(f"  [green]✓[/green] {who} → {what}")
        value: T = outcome.unwrap()
        return value

    def named(self, message: str) -> str:
        """A domain message with the ids the story knows put as the names a reader knows them by."""
        return _ID.sub(lambda m: self.names.get(uuid.UUID(m[0]), m[0]), message)

    def person(self, key: str, name: str, role: Role, provider: AuthorizedProvider | None = None) -> UserProfile:
        profile = UserProfile(
            uuid.uuid4(), name, role, email=f"{key}@example.org", provider_id=provider.id if provider else None
        )
        self.actors[key] = actor_for(profile, provider)
        self.names[profile.id] = name
        return profile


def build_world(story: Story) -> dict[str, Any]:
    north = Location(uuid.uuid4(), "Northside Hall", "America/Toronto")
    harbor = Location(uuid.uuid4(), "Harbor Centre", "America/Halifax")
    northside = AuthorizedProvider(uuid.uuid4(), "Northside Safety Training", frozenset({north.id}))
    harborside = AuthorizedProvider(uuid.uuid4(), "Harbor First Aid", frozenset({harbor.id}))
    course = Course(
        uuid.uuid4(),
        "CPR Level C",
        f"CPR-C-{uuid.uuid4().hex[:6]}",  # a code per run: the demo may run again on the same database
        validity_months=12,
        required_specialties=frozenset({"cpr"}),
        rule=AssessmentRule(Decimal("0.6"), Decimal("0.4"), Decimal(75), requires_both_scores=True),
    )
    people = {
        "sam": story.person("sam", "Sam Admin", Role.SA),
        "alice": story.person("alice", "Alice Provider", Role.AP, northside),
        "hank": story.person("hank", "Hank Harbor", Role.AP, harborside),
        "irene": story.person("irene", "Irene Instructor", Role.IC, northside),
        "paul": story.person("paul", "Paul Provisional", Role.IP, northside),
        "tina": story.person("tina", "Tina Trainee", Role.IT, northside),
    }
    for key, name in (("lee", "Lee Chen"), ("mia", "Mia Okafor"), ("noor", "Noor Haddad"), ("omar", "Omar Diaz")):
        people[key] = story.person(key, name, Role.IN)
    good = ComplianceStanding(100, Tier.ROBUST, ComplianceStatus.COMPLIANT)
    for key in ("irene", "paul", "tina"):
        people[key].compliance = good
    valid_until = date(2028, 1, 1)
    qualifications = [
        InstructorProfile(people[k].id, frozenset({"cpr", "first_aid"}), 8, valid_until) for k in ("irene", "paul")
    ] + [InstructorProfile(people["tina"].id, frozenset({"cpr"}), 4, valid_until)]
    story.container.bootstrap().load(north, harbor, northside, harborside, course, *people.values(), *qualifications)
    return {"north": north, "course": course, "people": people}


def run_demo(console: Console | None = None, container: Container | None = None) -> Container:
    container = container or Container()
    clock = ManualClock(START)
    container.clock.override(clock)
    story = Story(container, console or Console())
    world = build_world(story)
    world["feed_start"] = _feed_position(container, story.actors["sam"])
    zone = ZoneInfo(world["north"].timezone)
    world["starts"] = datetime(2026, 12, 5, 9, 0, tzinfo=zone)
    world["clock"] = clock
    session = schedule_chapter(story, world)
    seats = enroll_chapter(story, world, session)
    clock.current = world["starts"].astimezone(UTC)
    class_day_chapter(story, world, session, seats)
    certificate = certify_chapter(story, world, session, seats)
    verify_chapter(story, certificate, clock)
    feed_chapter(story, world["feed_start"])
    return container


def _feed_position(container: Container, admin: Actor) -> Cursor:
    """Where the feed stands now, so a second run of the demo on the same database tells only its own story."""
    cursor, feed = Cursor.origin(), container.change_feed()
    while (batch := feed.read(admin, cursor, limit=10_000)).changes:
        cursor = batch.cursor
    return cursor


def schedule_chapter(story: Story, world: dict[str, Any]) -> TrainingSession:
    people, a, starts = world["people"], story.actors, world["starts"]
    story.step("1. Scheduling")
    schedule = story.container.schedule_session()
    plan = c.ScheduleSession(
        world["course"].id,
        world["north"].id,
        people["irene"].id,
        "CPR Level C — Saturday",
        starts,
        starts + timedelta(hours=7),
        max_capacity=2,
        assistant_ids=frozenset({people["tina"].id}),
    )
    story.attempt("Hank (AP, Harbor First Aid)", "schedule at Northside Hall", schedule(a["hank"], plan))
    trainee_lead = attrs.evolve(plan, lead_instructor_id=people["tina"].id, assistant_ids=frozenset())
    story.attempt("Alice (AP, Northside)", "schedule with trainee Tina as lead", schedule(a["alice"], trainee_lead))
    session = story.attempt(
        "Alice (AP, Northside)", "schedule 2 seats, Irene leading, Tina assisting", schedule(a["alice"], plan)
    )
    assert session is not None
    story.names[session.id] = "this session"
    story.say(f"    starts {session.starts_at.isoformat()} ({starts.tzinfo}), capacity 2, waitlist on")
    return session


def enroll_chapter(story: Story, world: dict[str, Any], session: TrainingSession) -> dict[str, Enrollment]:
    people, a = world["people"], story.actors
    story.step("2. Enrolling past capacity")
    enroll = story.container.enroll_learner()
    seats: dict[str, Enrollment] = {}
    for key in ("lee", "mia", "noor", "omar"):
        world["clock"].advance(timedelta(minutes=7))  # sign-ups trickle in
        name = story.names[people[key].id]
        enrollment = story.attempt(
            "Alice", f"enroll {name}", enroll(a["alice"], c.EnrollLearner(session.id, people[key].id))
        )
        if enrollment is not None:
            seats[key] = enrollment
            story.names[enrollment.id] = f"{name}'s enrollment"
            where = f"waitlist #{enrollment.waitlist_position}" if enrollment.waitlist_position else "seat"
            story.say(f"    → {enrollment.status.value} ({where})")
    story.attempt("Alice", "enroll Lee twice", enroll(a["alice"], c.EnrollLearner(session.id, people["lee"].id)))
    story.attempt("Irene (IC)", "enroll someone", enroll(a["irene"], c.EnrollLearner(session.id, people["omar"].id)))

    story.step("3. A cancellation promotes the head of the waitlist")
    cancel = c.CancelEnrollment(session.id, seats["mia"].id)
    story.attempt("Alice", "cancel Mia's enrollment", story.container.cancel_enrollment()(a["alice"], cancel))
    for row in story.container.read_models().enrollments(a["alice"]):
        where = f" #{row.waitlist_position}" if row.waitlist_position else ""
        story.say(f"    {story.names[row.learner_id]:<12} {row.status}{where}")
    return seats


def class_day_chapter(
    story: Story, world: dict[str, Any], session: TrainingSession, seats: dict[str, Enrollment]
) -> None:
    people, a, container = world["people"], story.actors, story.container
    story.step("4. Class day: attendance and assessment")
    story.attempt("Irene", "start the session", container.start_session()(a["irene"], c.StartSession(session.id)))
    attend = container.record_attendance()
    tina_marks = c.RecordAttendance(session.id, seats["lee"].id, Attendance.ATTENDED)
    story.attempt("Tina (IT, assisting)", "record attendance", attend(a["tina"], tina_marks))
    assess, complete = container.record_assessment(), container.complete_enrollment()
    scores = {"lee": (Decimal(92), Decimal(88)), "noor": (Decimal(95), Decimal(60))}
    for key, (practical, written) in scores.items():
        name, seat = story.names[people[key].id], seats[key].id
        story.attempt(
            "Irene",
            f"mark {name} attended",
            attend(a["irene"], c.RecordAttendance(session.id, seat, Attendance.ATTENDED)),
        )
        scored = c.RecordAssessment(session.id, seat, practical, written)
        story.attempt("Irene", f"score {name}: practical {practical}, written {written}", assess(a["irene"], scored))
        done = story.attempt(
            "Irene", f"decide completion for {name}", complete(a["irene"], c.CompleteEnrollment(session.id, seat))
        )
        if done is not None:
            story.say(f"    → {done.completion.value}")
    story.attempt("Irene", "close the session", container.complete_session()(a["irene"], c.CompleteSession(session.id)))


def certify_chapter(
    story: Story, world: dict[str, Any], session: TrainingSession, seats: dict[str, Enrollment]
) -> Certificate:
    a = story.actors
    story.step("5. Certificates")
    issue = story.container.issue_certificate()
    lee = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, seats["lee"].id)
    noor = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, seats["noor"].id)
    story.attempt("Paul (IP)", "issue Lee's certificate", issue(a["paul"], lee))
    story.attempt("Irene (IC)", "issue Noor's certificate", issue(a["irene"], noor))
    certificate = story.attempt("Irene (IC)", "issue Lee's certificate", issue(a["irene"], lee))
    assert certificate is not None
    story.say(f"    code {certificate.code.display}, valid {certificate.issue_date} → {certificate.expiry_date}")
    again = story.attempt("Irene (IC)", "issue Lee's certificate again", issue(a["irene"], lee))
    story.say(f"    → the same certificate: {again is not None and again.id == certificate.id}")
    return certificate


def verify_chapter(story: Story, certificate: Certificate, clock: ManualClock) -> None:
    a = story.actors
    story.step("6. Anyone can verify")
    verify = story.container.verify_certificate()
    typed = certificate.code.canonical.lower()
    _show(story, "a stranger", f"verify '{typed}'", verify(c.VerifyCertificate(typed)))
    _show(story, "an employer", "verify with the name 'lee chen'", verify(c.VerifyCertificate(typed, "lee chen")))
    mistyped = _typo(certificate.code.display)
    _show(story, "a stranger", f"verify mistyped '{mistyped}'", verify(c.VerifyCertificate(mistyped)))

    story.step("7. Revocation")
    revoke = story.container.revoke_certificate()
    reason = c.RevokeCertificate(certificate.id, "assessment irregularity")
    story.attempt("Irene (IC)", "revoke Lee's certificate", revoke(a["irene"], reason))
    clock.advance(timedelta(days=3))
    story.attempt("Alice (AP)", "revoke Lee's certificate", revoke(a["alice"], reason))
    _show(story, "a stranger", "verify again", verify(c.VerifyCertificate(certificate.code.display)))


def feed_chapter(story: Story, start: Cursor) -> None:
    story.step("8. The change feed, as each reader may see it")
    feed = story.container.change_feed()
    for key in ("sam", "alice", "hank", "irene", "lee", "omar"):
        batch = feed.read(story.actors[key], start, limit=10_000)
        names = sorted({change.event.name for change in batch.changes})
        shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
        story.say(f"  {story.names[story.actors[key].user_id]:<16} {len(batch.changes):>3} events  {shown}")


def _typo(display: str) -> str:
    swapped = display[1] + display[0] + display[2:]
    return swapped if swapped != display else display[:1] + ("1" if display[1] != "1" else "2") + display[2:]


def _show(story: Story, who: str, what: str, outcome: Result[Any, DomainError]) -> None:
    answer = story.attempt(who, what, outcome)
    if answer is not None:
        public = answer.certificate
        revoked = f", revoked on {public.revoked_on}" if public.revoked_on else ""
        confirmed = "" if answer.name_confirmed is None else f", name confirmed: {answer.name_confirmed}"
        story.say(
            f"    → [bold]{public.status}[/bold]: {public.recipient_name}, {public.course_name}, "
            f"{public.issue_date} → {public.expiry_date}, issued by {public.issuer_name}{revoked}{confirmed}"
        )
