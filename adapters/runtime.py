"""Build a running arccm from the environment: the configured PostgreSQL, or an embedded one."""

from __future__ import annotations

from pathlib import Path

from arccm.adapters.config import Settings
from arccm.adapters.container import Container, on_postgres


def server_url(configured: str | None, data_dir: Path, grace_seconds: float = 60.0) -> str:
    """The one rule for every entry point (CLI, tests, benchmarks): the configured server's URL, else an embedded
    server's under ``data_dir`` (started, or reused if already running; stopped ``grace_seconds`` after its last
    client leaves)."""
    if configured:
        return configured
    import subprocess

    from arccm.adapters.config import ConfigError
    from arccm.adapters.extras import need
    from arccm.adapters.postgres.database import DatabaseUnavailable

    server = need("embedded", "arccm.adapters.embedded.server").EmbeddedServer
    try:
        return str(server.start(data_dir, grace_seconds).url)
    except OSError as error:  # the directory cannot be made or written: the setting is wrong, say which
        raise ConfigError(f"ARCCM_DATA_DIR: cannot use {str(data_dir)[:200]}: {error.strerror or error}") from None
    except subprocess.CalledProcessError as error:
        where, program = str(data_dir)[:200], error.cmd[0] if error.cmd else "a command"
        raise DatabaseUnavailable(
            f"the embedded PostgreSQL under {where} did not start ({program} exited {error.returncode})"
        ) from None


def database_url(settings: Settings) -> str:
    return server_url(settings.database_url, settings.data_dir, settings.embedded_grace_seconds)


def configured(settings: Settings | None = None) -> Container:
    """A container on the configured (or embedded) PostgreSQL, not yet checked or migrated."""
    settings = settings or Settings.from_env()
    return on_postgres(
        database_url(settings),
        settings.schema,
        settings.app_role,
        settings.app_password,
        public_url=settings.public_url,
        smtp_url=settings.smtp_url,
        supabase_url=settings.supabase_url,
        supabase_key=settings.supabase_key,
        pool_mode=settings.pool_mode,
    )


def from_env(settings: Settings | None = None, migrate: bool = True) -> Container:
    """A container on PostgreSQL, checked reachable and (by default) migrated to head."""
    container = configured(settings)
    container.lifecycle().init(migrate=migrate)
    return container
