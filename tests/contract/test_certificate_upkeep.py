"""Certificates after issue: notifications, expiry, reminders, e-mail, PDF — on every backend."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from email import message_from_bytes
from typing import Any

import attrs
import pypdfium2
import pytest
import zxingcpp
from aiosmtpd.controller import Controller

from arccm.adapters.container import Container
from arccm.adapters.email.smtp import SmtpMailer
from arccm.adapters.memory.outbox import MemoryMailer
from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from arccm.domain.access import Role
from arccm.domain.certificate import Certificate, CompletionKind
from arccm.domain.errors import Forbidden, NotPrintable, Unprintable
from arccm.domain.people import UserProfile
from arccm.domain.templates import CertificateLayout, EmailTemplate
from tests.world import NOW, World, ok


@pytest.fixture
def world(make_container: Callable[[], Container]) -> World:
    return World.create(make_container())


def certify(world: World, issue_date: date | None = None, email: str = "") -> tuple[Certificate, Any]:
    """Run a class for one learner and certify them; returns the certificate and the AP who issued it."""
    provider = world.provider()
    ap = world.user(Role.AP, provider)
    ic = world.user(Role.IC, provider)
    learner = UserProfile(uuid.uuid4(), "Jane Doe", Role.IN, email=email, location_id=world.locations[-1].id)
    world.container.bootstrap().load(learner)
    session = world.session(ap, ic)
    enrollment = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, learner.id)))
    world.run_class(session, {enrollment.id: (95, 95)})
    command = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id, issue_date=issue_date)
    return ok(world.container.issue_certificate()(ap, command)), ap


def learner_of(world: World, certificate: Certificate) -> Any:
    assert certificate.recipient.user_id is not None
    return ok(world.container.resolve_actor()(certificate.recipient.user_id))


def test_the_holder_is_notified_on_issue_and_revocation(world: World) -> None:
    certificate, ap = certify(world, email="jane@example.org")
    world.clock.advance(timedelta(minutes=5))
    ok(world.container.revoke_certificate()(ap, c.RevokeCertificate(certificate.id, "wrong person")))
    holder = learner_of(world, certificate)
    notes = world.container.read_models().notifications(holder)
    assert [n.category for n in notes] == ["certificate_issued", "certificate_revoked"]
    assert all(n.email_status == "pending" for n in notes)
    assert world.container.read_models().notifications(ap) == []  # addressed to the holder only


def test_the_feed_and_the_read_models_agree_on_who_reads_a_notice(world: World) -> None:
    """Notices are personal: the holder and SA/AD read them, in the feed as in ``notifications()`` — the AP at the
    location read neither way once this was decided (issue 10: the feed showed the AP NotificationCreated events
    ``notifications()`` did not)."""
    certificate, ap = certify(world, email="jane@example.org")
    ok(world.container.revoke_certificate()(ap, c.RevokeCertificate(certificate.id, "wrong person")))
    holder = learner_of(world, certificate)
    feed = world.container.change_feed()
    for reader in (ap, holder, world.admin):
        seen = [ch.event for ch in feed.read(reader, Cursor.origin(), limit=10_000).changes]
        notices = {e.notification_id for e in seen if e.name == "NotificationCreated"}
        assert notices == {n.id for n in world.container.read_models().notifications(reader)}
    assert {n.id for n in world.container.read_models().notifications(holder)}  # the holder has some


def test_a_holder_does_not_learn_who_revoked_their_certificate_from_the_feed(world: World) -> None:
    certificate, ap = certify(world)
    ok(world.container.revoke_certificate()(ap, c.RevokeCertificate(certificate.id, "wrong person")))
    holder = learner_of(world, certificate)
    from arccm.adapters.events_codec import encode

    seen = world.container.change_feed().read(holder, Cursor.origin(), limit=10_000).changes
    revoked = [ch for ch in seen if ch.event.name == "CertificateRevoked"]
    assert len(revoked) == 1
    assert str(ap.user_id) not in str(encode(revoked[0].event))


def test_learners_do_not_read_team_membership_events(world: World) -> None:
    """docs/access.md lists no teams among IT/IN (or IC/IP) reads, and the read models show them none; the feed
    sent them their own TeamMemberAdded (issue 10)."""
    provider = world.provider()
    ap = world.user(Role.AP, provider)
    team = ok(
        world.container.create_team()(world.admin, c.CreateTeam("Responders", provider.id, world.locations[-1].id))
    )
    members = [world.user(role, provider) for role in (Role.IN, Role.IT, Role.IC)]
    for member in members:
        ok(world.container.add_team_member()(ap, c.AddTeamMember(team.id, member.user_id)))
    feed = world.container.change_feed()
    for member in members:
        assert [
            ch for ch in feed.read(member, Cursor.origin(), limit=10_000).changes if ch.event.topic == "teams"
        ] == []
    assert len([ch for ch in feed.read(ap, Cursor.origin()).changes if ch.event.topic == "teams"]) == 4


def test_expiry_is_recorded_once_with_an_event(world: World) -> None:
    certificate, _ = certify(world, issue_date=date(2020, 1, 1))  # 24 months: expired in 2022
    expire = world.container.expire_certificates()
    assert ok(expire(None)) == 1
    assert ok(expire(None)) == 0
    feed = world.container.change_feed().read(world.admin, Cursor.origin(), limit=10_000)
    assert [ch.event.name for ch in feed.changes].count("CertificateExpired") == 1
    learner = world.user(Role.IN)
    assert isinstance(expire(learner).failure(), Forbidden)
    statuses = {s.id: s.status for s in world.container.read_models().certificates(world.admin, NOW.date())}
    assert statuses[certificate.id] == "expired"


def test_reminders_list_open_sessions_and_are_never_sent_twice(world: World) -> None:
    issue = NOW.date() - timedelta(days=700)  # expires about 30 days from NOW
    certificate, ap = certify(world, issue_date=issue, email="jane@example.org")
    assert 0 <= (certificate.expiry_date - NOW.date()).days <= 31
    ic = world.user(Role.IC, world.providers[-1])
    upcoming = world.session(ap, ic, capacity=8, location=world.locations[-1], starts_in=timedelta(days=12))
    remind = world.container.remind_recertification()
    first = ok(remind(None, c.RemindRecertification(45)))
    assert (first.created, first.already_reminded) == (1, 0)
    second = ok(remind(None, c.RemindRecertification(45)))
    assert (second.created, second.already_reminded) == (0, 1)
    (reminder,) = [
        n for n in world.container.read_models().notifications(world.admin) if n.category == "recertification_reminder"
    ]
    assert upcoming.title in reminder.message
    assert "8 seats open" in reminder.message
    mailer = world.container.mailer()
    assert isinstance(mailer, MemoryMailer)
    sent = ok(world.container.send_notification_emails()(None))
    assert (sent.sent, sent.failed) == (2, 0)  # the issue notice and the reminder
    assert ok(world.container.send_notification_emails()(None)).sent == 0
    subjects = sorted(m.subject for m in mailer.sent)
    assert subjects == [
        f"Your {certificate.course_name} certificate",
        f"Your {certificate.course_name} certificate expires on {certificate.expiry_date.isoformat()}",
    ]


def test_a_locations_email_template_is_used(world: World) -> None:
    certificate, _ = certify(world, email="jane@example.org")
    template = EmailTemplate("certificate_issued", "Well done, $recipient_name", "Code $code", certificate.location_id)
    with world.container.unit_of_work()(None) as uow:
        uow.reference.add_email_template(template)
        uow.commit()
    ok(world.container.send_notification_emails()(None))
    (message,) = world.container.mailer().sent
    assert (message.subject, message.body) == ("Well done, Jane Doe", f"Code {certificate.code.display}")


def test_the_pdf_carries_a_qr_code_to_the_verification_url(world: World) -> None:
    certificate, ap = certify(world)
    with world.container.unit_of_work()(None) as uow:
        uow.reference.set_certificate_layout(
            certificate.location_id, CertificateLayout(title="Certificate of Training")
        )
        uow.commit()
    rendered = ok(world.container.render_certificate()(ap, certificate.code.canonical.lower()))
    assert rendered.media_type == "application/pdf"
    assert rendered.content.startswith(b"%PDF")
    page = pypdfium2.PdfDocument(rendered.content)[0]
    text = page.get_textpage().get_text_range()
    for printed in ("Certificate of Training", "Jane Doe", certificate.course_name, certificate.code.display):
        assert printed in text
    (qr,) = zxingcpp.read_barcodes(page.render(scale=2).to_pil())
    assert qr.text == f"http://localhost:8000/verify/{certificate.code.display}"
    stranger = world.user(Role.IN)
    assert isinstance(world.container.render_certificate()(stranger, certificate.code.display).failure(), Forbidden)
    # a name the fonts cannot print: refused, never a certificate with a blank for a name
    with world.container.unit_of_work()(None) as uow:
        stored = uow.certificates.get_for_update(certificate.id)
        assert stored is not None
        stored.recipient = attrs.evolve(stored.recipient, name="王小明")  # (as a data correction would)
        uow.commit()
    unprintable = world.container.render_certificate()(ap, certificate.code.display).failure()
    assert isinstance(unprintable, Unprintable)
    assert (unprintable.field, unprintable.characters) == ("recipient_name", "王小明")
    # a revoked certificate is not printed: a clean copy would pass for a valid one
    ok(world.container.revoke_certificate()(ap, c.RevokeCertificate(certificate.id, "issued in error")))
    refused = world.container.render_certificate()(ap, certificate.code.display).failure()
    assert isinstance(refused, NotPrintable)
    assert refused.status == "revoked"


# --- SMTP ------------------------------------------------------------------------------------


class Inbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives and can refuse one address."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.refuse: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.received.append((recipient, envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[bytes]:
        return [content for recipient, content in self.received if recipient == address]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port to check its own start-up
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


def test_smtp_delivery_records_and_retries_a_refused_recipient_never_sending_twice(
    world: World, inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    world.container.mailer.override(SmtpMailer("127.0.0.1", port, sender="certificates@example.org"))
    for address in ("a@example.org", "b@example.org", "bounce@example.org"):
        certify(world, email=address)
    server.refuse.add("bounce@example.org")
    send = world.container.send_notification_emails()

    first = ok(send(None, c.SendNotificationEmails("issue notices")))
    assert (first.sent, first.failed) == (2, 1)
    assert len(server.to("a@example.org")) == len(server.to("b@example.org")) == 1
    assert server.to("bounce@example.org") == []
    failed = [n for n in world.container.read_models().notifications(world.admin) if n.email_status == "failed"]
    assert len(failed) == 1
    assert failed[0].email_attempts == 1

    server.refuse.clear()
    second = ok(send(None, c.SendNotificationEmails("retry")))
    assert (second.sent, second.failed) == (1, 0)
    assert ok(send(None, c.SendNotificationEmails("nothing left"))).sent == 0
    for address in ("a@example.org", "b@example.org", "bounce@example.org"):
        (content,) = server.to(address)
        message = message_from_bytes(content)
        assert message["From"] == "certificates@example.org"
        assert message["Subject"].startswith("Your CPR Level C certificate")
    assert {n.email_status for n in world.container.read_models().notifications(world.admin)} == {"sent"}


def test_an_unreachable_smtp_server_is_recorded_as_failed_not_raised(world: World) -> None:
    certify(world, email="a@example.org")
    world.container.mailer.override(SmtpMailer("127.0.0.1", 1, timeout=2))
    report = ok(world.container.send_notification_emails()(None))
    assert (report.sent, report.failed) == (0, 1)
