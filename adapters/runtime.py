"""Build a running arccm from the environment: the configured PostgreSQL, or an embedded one."""

from __future__ import annotations

from arccm.adapters.config import Settings
from arccm.adapters.container import Container, on_postgres


def database_url(settings: Settings) -> str:
    """The configured server's URL, or an embedded server's (started, or reused if already running)."""
    if settings.database_url is not None:
        return settings.database_url
    from arccm.adapters.embedded.server import EmbeddedServer

    return EmbeddedServer.start(settings.data_dir).url


def from_env(settings: Settings | None = None, migrate: bool = True) -> Container:
    """A container on PostgreSQL, checked reachable and (by default) migrated to head."""
    settings = settings or Settings.from_env()
    container = on_postgres(
        database_url(settings),
        settings.schema,
        settings.app_role,
        settings.app_password,
        public_url=settings.public_url,
        smtp_url=settings.smtp_url,
        supabase_url=settings.supabase_url,
        supabase_key=settings.supabase_key,
    )
    container.lifecycle().init(migrate=migrate)
    return container
