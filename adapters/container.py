"""The composition root: one container wires ports to adapters and use cases to ports.

``Container()`` runs on the in-memory store and needs nothing beyond the core (``pip install arccm``).
``on_postgres(url, …)`` (or ``runtime.from_env()``) runs on PostgreSQL. Every optional adapter is imported when it
is first wired (``adapters/extras.py``): a missing extra fails then, in one line naming the extra to install.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from arccm.adapters.email.smtp import SmtpMailer
from arccm.adapters.extras import lazy, need
from arccm.adapters.lifecycle import MemoryLifecycle
from arccm.adapters.memory.audit import MemoryAuditTrail
from arccm.adapters.memory.directory import MemoryDirectory
from arccm.adapters.memory.idempotency import MemoryIdempotency
from arccm.adapters.memory.outbox import MemoryMailer
from arccm.adapters.memory.read_models import MemoryChangeFeed, MemoryReadModels, MemoryScheduleQueries
from arccm.adapters.memory.store import MemoryStore
from arccm.adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from arccm.adapters.realtime.memory import MemoryWakeups
from arccm.adapters.realtime.pump import FeedPump
from arccm.adapters.system import RandomIds, SecureCodes, SystemClock
from arccm.application.use_cases import (
    certificates,
    directory,
    enrollments,
    notifications,
    people,
    rendering,
    rosters,
    schedule,
    sessions,
    teams,
)
from arccm.application.use_cases.base import Context
from arccm.application.use_cases.bootstrap import Bootstrap

_PG = "arccm.adapters.postgres"


def make_mailer(smtp_url: str | None) -> MemoryMailer | SmtpMailer:
    """SMTP when ``ARCCM_SMTP_URL`` is set; otherwise messages are kept in memory (and nothing leaves)."""
    return SmtpMailer.from_url(smtp_url) if smtp_url else MemoryMailer()


def supabase_token(key: str) -> str:
    """The key in ``ARCCM_SUPABASE_KEY``: a service key does not expire; the adapter asks again on every connect."""
    return key


class Container(containers.DeclarativeContainer):
    """Override ``clock``, ``ids`` or ``codes`` to take time and randomness from elsewhere."""

    config = providers.Configuration(
        default={
            "backend": "memory",
            "public_url": "http://localhost:8000",
            "smtp_url": None,
            "feed_poll_seconds": 1.0,
            "wakeups": "native",  # or "supabase": Supabase Realtime messages as the wake-ups (needs PostgreSQL)
            "supabase": {"url": None, "key": None, "probe_seconds": 15.0},
        }
    )

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds)
    codes = providers.Singleton(SecureCodes)

    # --- persistence ---
    memory_store = providers.Singleton(MemoryStore)
    database = providers.Singleton(
        lazy("postgres", f"{_PG}.database", "Database"),
        owner_url=config.database.url,
        schema=config.database.schema,
        app_role=config.database.app_role,
        app_password=config.database.app_password,
        pool_mode=config.database.pool_mode,
    )
    unit_of_work = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryUnitOfWorkFactory, store=memory_store),
        postgres=providers.Singleton(lazy("postgres", f"{_PG}.unit_of_work", "PostgresUnitOfWorkFactory"), database),
    )
    read_models = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryReadModels, store=memory_store),
        postgres=providers.Singleton(lazy("postgres", f"{_PG}.read_models", "PostgresReadModels"), database),
    )
    change_feed = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryChangeFeed, store=memory_store, clock=clock),
        postgres=providers.Singleton(lazy("postgres", f"{_PG}.read_models", "PostgresChangeFeed"), database, clock),
    )
    schedule_queries = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryScheduleQueries, store=memory_store),
        postgres=providers.Singleton(lazy("postgres", f"{_PG}.read_models", "PostgresScheduleQueries"), database),
    )
    directory_queries = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryDirectory, store=memory_store),
        postgres=providers.Singleton(lazy("postgres", f"{_PG}.directory", "PostgresDirectory"), database),
    )
    lifecycle = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryLifecycle, store=memory_store),
        postgres=providers.Singleton(lazy("postgres", "arccm.adapters.lifecycle", "PostgresLifecycle"), database),
    )
    audit = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryAuditTrail, memory_store),
        postgres=providers.Singleton(lazy("postgres", f"{_PG}.audit", "PostgresAuditTrail"), database),
    )
    idempotency = providers.Selector(
        config.backend,
        memory=providers.Singleton(MemoryIdempotency),
        postgres=providers.Singleton(lazy("postgres", f"{_PG}.idempotency", "PostgresIdempotency"), database),
    )
    mailer = providers.Singleton(make_mailer, smtp_url=config.smtp_url)
    renderer = providers.Singleton(lazy("pdf", "arccm.adapters.certificates.pdf", "PdfCertificateRenderer"))

    context = providers.Factory(
        Context, uow=unit_of_work, clock=clock, ids=ids, codes=codes, public_url=config.public_url, audit=audit
    )
    bootstrap = providers.Factory(Bootstrap, ctx=context)
    # --- use cases ---
    schedule_session = providers.Factory(sessions.ScheduleSessionHandler, ctx=context)
    reschedule_session = providers.Factory(sessions.RescheduleSessionHandler, ctx=context)
    change_capacity = providers.Factory(sessions.ChangeCapacityHandler, ctx=context)
    cancel_session = providers.Factory(sessions.CancelSessionHandler, ctx=context)
    start_session = providers.Factory(sessions.StartSessionHandler, ctx=context)
    complete_session = providers.Factory(sessions.CompleteSessionHandler, ctx=context)
    enroll_learner = providers.Factory(enrollments.EnrollLearnerHandler, ctx=context)
    cancel_enrollment = providers.Factory(enrollments.CancelEnrollmentHandler, ctx=context)
    record_attendance = providers.Factory(enrollments.RecordAttendanceHandler, ctx=context)
    record_assessment = providers.Factory(enrollments.RecordAssessmentHandler, ctx=context)
    complete_enrollment = providers.Factory(enrollments.CompleteEnrollmentHandler, ctx=context)
    issue_certificate = providers.Factory(certificates.IssueCertificateHandler, ctx=context)
    batch_issue_certificates = providers.Factory(certificates.BatchIssueCertificatesHandler, ctx=context)
    resume_batch = providers.Factory(certificates.ResumeBatchHandler, batches=batch_issue_certificates)
    expire_certificates = providers.Factory(notifications.ExpireCertificatesHandler, ctx=context)
    remind_recertification = providers.Factory(
        notifications.RemindRecertificationHandler, ctx=context, upcoming=read_models
    )
    send_notification_emails = providers.Factory(
        notifications.SendNotificationEmailsHandler, ctx=context, mailer=mailer
    )
    render_certificate = providers.Factory(rendering.RenderCertificateHandler, ctx=context, renderer=renderer)
    revoke_certificate = providers.Factory(certificates.RevokeCertificateHandler, ctx=context)
    reinstate_certificate = providers.Factory(certificates.ReinstateCertificateHandler, ctx=context)
    verify_certificate = providers.Factory(certificates.VerifyCertificateHandler, lookup=read_models, ctx=context)
    create_roster = providers.Factory(rosters.CreateRosterHandler, ctx=context)
    add_roster_member = providers.Factory(rosters.AddRosterMemberHandler, ctx=context)
    assess_roster_member = providers.Factory(rosters.AssessRosterMemberHandler, ctx=context)
    create_team = providers.Factory(teams.CreateTeamHandler, ctx=context)
    add_team_member = providers.Factory(teams.AddTeamMemberHandler, ctx=context)
    remove_team_member = providers.Factory(teams.RemoveTeamMemberHandler, ctx=context)
    record_compliance_item = providers.Factory(people.RecordComplianceItemHandler, ctx=context)
    change_user_role = providers.Factory(people.ChangeUserRoleHandler, ctx=context)
    set_user_active = providers.Factory(people.SetUserActiveHandler, ctx=context)
    erase_person = providers.Factory(people.ErasePersonHandler, ctx=context)
    resolve_actor = providers.Factory(people.ResolveActorHandler, ctx=context)
    subscriptions = providers.Singleton(
        FeedPump,
        feed=change_feed,
        wakeups=providers.Selector(
            config.wakeups,
            native=providers.Selector(
                config.backend,
                memory=providers.Singleton(MemoryWakeups, store=memory_store),
                postgres=providers.Singleton(
                    lazy("postgres", "arccm.adapters.realtime.postgres", "PostgresWakeups"), database
                ),
            ),
            supabase=providers.Singleton(
                lazy("supabase", "arccm.adapters.realtime.supabase", "SupabaseWakeups"),
                url=config.supabase.url,
                token=providers.Callable(supabase_token, config.supabase.key).provider,
                schema=config.database.schema,
                probe_seconds=config.supabase.probe_seconds,
            ),
        ),
        poll_seconds=config.feed_poll_seconds,
        resolve=resolve_actor,
    )
    view_calendar = providers.Factory(schedule.ViewCalendarHandler, queries=schedule_queries)
    view_analytics = providers.Factory(schedule.ViewAnalyticsHandler, queries=schedule_queries, clock=clock)
    view_session_metrics = providers.Factory(schedule.ViewSessionMetricsHandler, queries=schedule_queries)
    # finding things: pages of sessions, people, certificates, rosters and batches (ports/directory.py)
    directory = providers.Factory(directory.DirectoryHandler, directory=directory_queries, clock=clock)


def on_postgres(
    url: str,
    schema: str = "public",
    app_role: str = "arccm_app",
    app_password: str | None = None,
    public_url: str = "http://localhost:8000",
    smtp_url: str | None = None,
    supabase_url: str | None = None,
    supabase_key: str | None = None,
    pool_mode: str = "session",
) -> Container:
    """A container on the PostgreSQL server at ``url`` (the owner's URL; the app connects as ``app_role``).

    With ``supabase_url`` and ``supabase_key`` the change feed wakes on Supabase Realtime messages instead of
    LISTEN/NOTIFY (the feed itself is read from the database either way)."""
    normalize_url = need("postgres", f"{_PG}.database").normalize_url
    container = Container()
    container.config.from_dict(
        {
            "backend": "postgres",
            "public_url": public_url,
            "smtp_url": smtp_url,
            "wakeups": "supabase" if supabase_url else "native",
            "supabase": {"url": supabase_url, "key": supabase_key},
            "database": {
                "url": normalize_url(url),
                "schema": schema,
                "app_role": app_role,
                "app_password": app_password,
                "pool_mode": pool_mode,
            },
        }
    )
    return container
