"""Certificate upkeep: recording expiry, recertification reminders, and e-mailing notifications."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.mailer import Mailer, MailError, OutgoingEmail
from arccm.application.ports.read_models import UpcomingSessions
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, in_transaction
from arccm.application.use_cases.certificates.notices import holder_contact, notice
from arccm.application.validation import boundary
from arccm.domain.access import Actor, may_run_upkeep
from arccm.domain.certificate import Certificate, record_expiry
from arccm.domain.errors import DomainError
from arccm.domain.notification import Category, EmailBatch, Notification
from arccm.domain.templates import DEFAULT_EMAILS, EmailTemplate
from arccm.domain.text import clean_text

PAGE = 500


@attrs.frozen
class ExpireCertificatesHandler:
    """Record every certificate that has passed its expiry date, once, with a ``CertificateExpired`` event."""

    ctx: Context

    @boundary
    def __call__(self, actor: Actor | None, cmd: commands.ExpireCertificates | None = None) -> Result[int, DomainError]:
        allowed = may_run_upkeep(actor, "expire certificates")
        if isinstance(allowed, Failure):
            return Failure(allowed.failure())
        day = (cmd.today if cmd else None) or self.ctx.clock.now().date()
        recorded = 0
        while True:
            page = in_transaction(self.ctx, actor, lambda uow: Success(self._page(uow, day)))
            if isinstance(page, Failure):  # a Conflict (a race lost five times over) is said, not raised
                return Failure(page.failure())
            count = page.unwrap()
            recorded += count
            if count == 0:
                return Success(recorded)

    def _page(self, uow: UnitOfWork, today: date) -> int:
        now = self.ctx.clock.now()
        return sum(record_expiry(c, today, now) for c in uow.certificates.expired_unrecorded(today, PAGE))


@attrs.frozen
class ReminderReport:
    created: int
    already_reminded: int


@attrs.frozen
class RemindRecertificationHandler:
    """One reminder (notification + e-mail) per certificate entering its recertification window.

    The reminder lists upcoming sessions of the same course with open seats at
    the learner's locations. Its dedupe key is (certificate, expiry date), so
    running the job again sends nothing twice.
    """

    ctx: Context
    upcoming: UpcomingSessions

    @boundary
    def __call__(self, actor: Actor | None, cmd: commands.RemindRecertification) -> Result[ReminderReport, DomainError]:
        within_days, today = cmd.within_days, cmd.today
        allowed = may_run_upkeep(actor, "send recertification reminders")
        if isinstance(allowed, Failure):
            return Failure(allowed.failure())
        day = today or self.ctx.clock.now().date()
        created = skipped = 0
        after: UUID | None = None
        while True:
            page = in_transaction(self.ctx, actor, partial(self._page, today=day, within=within_days, after=after))
            if isinstance(page, Failure):  # a Conflict (a race lost five times over) is said, not raised
                return Failure(page.failure())
            made, seen, last = page.unwrap()
            created, skipped = created + made, skipped + seen - made
            if last is None:
                return Success(ReminderReport(created, skipped))
            after = last

    def _page(
        self, uow: UnitOfWork, today: date, within: int, after: UUID | None
    ) -> Result[tuple[int, int, UUID | None], DomainError]:
        certificates = uow.certificates.entering_window(today, today + timedelta(days=within), PAGE, after)
        reminders = [self._reminder(uow, c) for c in certificates]
        sent = uow.notifications.existing([r.dedupe_key for r in reminders])
        fresh = [r for r in reminders if r.dedupe_key not in sent]
        for reminder in fresh:
            uow.notifications.add(reminder)
        return Success((len(fresh), len(certificates), certificates[-1].id if certificates else None))

    def _reminder(self, uow: UnitOfWork, certificate: Certificate) -> Notification:
        now = self.ctx.clock.now()
        holder = holder_contact(uow, certificate)
        places = frozenset({certificate.location_id} | ({holder.location_id} if holder.location_id else set()))
        sessions = self.upcoming.open_sessions(certificate.course_id, places, now, limit=5)
        listing = "\n".join(
            f"- {s.title}, {s.starts_at.date().isoformat()}, {s.max_capacity - s.seats_taken} seats open"
            for s in sessions
        )
        extra = {"sessions": listing or "none scheduled yet", "occasion": certificate.expiry_date.isoformat()}
        return notice(self.ctx, certificate, Category.RECERTIFICATION_REMINDER, holder, now, extra)


@attrs.frozen
class SendReport:
    batch_id: UUID
    sent: int
    failed: int


@attrs.frozen
class SendNotificationEmailsHandler:
    """E-mail every notification waiting for it, at most once each.

    A message is claimed (status *sending*, attempt counted) and that claim is
    committed before the message goes out; only then is it marked *sent* or
    *failed*. A failed one is retried on a later run; a claimed one whose
    outcome was lost in a crash is never sent again automatically. Each run is
    recorded in ``email_batch_operations`` (total, processed, sent, failed, error).
    """

    ctx: Context
    mailer: Mailer
    page: int = 100

    @boundary
    def __call__(
        self, actor: Actor | None, cmd: commands.SendNotificationEmails | None = None
    ) -> Result[SendReport, DomainError]:
        allowed = may_run_upkeep(actor, "send notification e-mails").bind(
            lambda _: clean_text("name", cmd.name if cmd else "notifications")
        )
        if isinstance(allowed, Failure):
            return Failure(allowed.failure())
        batch = EmailBatch(self.ctx.ids.new_id(), allowed.unwrap(), 0, self.ctx.clock.now())
        opened = in_transaction(self.ctx, actor, lambda uow: self._open(uow, batch))
        if isinstance(opened, Failure):
            return Failure(opened.failure())
        after: UUID | None = None  # one pass over the queue per run: a failure waits for the next run
        while True:
            claimed = in_transaction(self.ctx, actor, partial(self._claim, after=after))
            if isinstance(claimed, Failure):
                return Failure(claimed.failure())
            if not claimed.unwrap():
                break
            outcomes = [(n.id, self._send(n, template)) for n, template in claimed.unwrap()]
            recorded = in_transaction(self.ctx, actor, partial(self._record, batch_id=batch.id, outcomes=outcomes))
            if isinstance(recorded, Failure):  # sent but not recorded: left claimed, never sent twice
                return Failure(recorded.failure())
            after = claimed.unwrap()[-1][0].id
        finished = in_transaction(self.ctx, actor, lambda uow: Success(self._finish(uow, batch.id)))
        return finished.map(lambda done: SendReport(batch.id, done.sent, done.failed))

    @staticmethod
    def _open(uow: UnitOfWork, batch: EmailBatch) -> Result[EmailBatch, DomainError]:
        uow.notifications.add_email_batch(batch)
        return Success(batch)

    def _claim(
        self, uow: UnitOfWork, after: UUID | None
    ) -> Result[list[tuple[Notification, EmailTemplate]], DomainError]:
        """Claim a page of messages, each with its template (looked up once per location and category)."""
        claimed = list(uow.notifications.awaiting_email(self.page, after))
        templates: dict[tuple[UUID | None, str], EmailTemplate] = {}
        for notification in claimed:
            notification.claim()
            key = (notification.location_id, notification.category.value)
            if key not in templates:
                own = uow.reference.email_template(key[0], key[1]) if key[0] is not None else None
                templates[key] = own or DEFAULT_EMAILS[key[1]]
        return Success([(n, templates[(n.location_id, n.category.value)]) for n in claimed])

    def _send(self, notification: Notification, template: EmailTemplate) -> str | None:
        """Deliver one claimed message outside any transaction; the error text when it was not delivered."""
        subject, body = template.render(notification.context)
        try:
            self.mailer.send(OutgoingEmail(notification.email, subject, body))
        except MailError as error:
            return str(error) or type(error).__name__
        return None

    def _record(
        self, uow: UnitOfWork, batch_id: UUID, outcomes: list[tuple[UUID, str | None]]
    ) -> Result[EmailBatch, DomainError]:
        batch = uow.notifications.email_batch(batch_id)
        assert batch is not None, "the batch was committed before any message was claimed"
        now = self.ctx.clock.now()
        for notification_id, error in outcomes:
            notification = uow.notifications.get_for_update(notification_id)
            assert notification is not None
            batch.total += 1
            if error is None:
                notification.sent(now)
            else:
                notification.failed(error)
            batch.record(error is None, error)
        return Success(batch)

    def _finish(self, uow: UnitOfWork, batch_id: UUID) -> EmailBatch:
        batch = uow.notifications.email_batch(batch_id)
        assert batch is not None
        batch.finish(self.ctx.clock.now())
        return batch
