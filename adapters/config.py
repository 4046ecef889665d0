"""Configuration from the environment (DESIGN §5). A bad value fails at start-up naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(ValueError):
    """Names the variable and the rule it broke."""


def default_data_dir() -> Path:
    """The user's data directory (platformdirs, with the embedded extra), else ``~/.local/share/arccm``."""
    try:
        import platformdirs
    except ModuleNotFoundError:
        return Path.home() / ".local" / "share" / "arccm"
    return Path(platformdirs.user_data_dir("arccm"))


@attrs.frozen
class Settings:
    database_url: str | None = None
    data_dir: Path = attrs.field(factory=default_data_dir)
    # how long the embedded server stays up after its last client leaves, for the next command to reuse
    embedded_grace_seconds: float = 60.0
    schema: str = "public"
    app_role: str = "arccm_app"
    app_password: str | None = None
    # "transaction": the database URL points at a transaction pooler (pgbouncer pool_mode=transaction); arccm then
    # keeps no server-side prepared statements (the next transaction may run on another server connection)
    pool_mode: str = "session"
    public_url: str = "http://localhost:8000"
    smtp_url: str | None = None
    jwt_secret: str | None = None
    supabase_url: str | None = None
    supabase_key: str | None = None

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values = _database(env)
        if (public := _get(env, "ARCCM_PUBLIC_URL")) is not None:
            parts = urlsplit(public)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"ARCCM_PUBLIC_URL: must be an http(s) URL, got {public!r}")
            values["public_url"] = public.rstrip("/")
        if (smtp := _get(env, "ARCCM_SMTP_URL")) is not None:
            if urlsplit(smtp).scheme not in ("smtp", "smtps") or not urlsplit(smtp).hostname:
                raise ConfigError(f"ARCCM_SMTP_URL: must look like smtp://host:port, got {smtp!r}")
            values["smtp_url"] = smtp
        if (secret := _get(env, "ARCCM_JWT_SECRET")) is not None:
            if len(secret) < 32:
                raise ConfigError("ARCCM_JWT_SECRET: must be at least 32 characters (HS256)")
            values["jwt_secret"] = secret
        values["supabase_url"] = _get(env, "ARCCM_SUPABASE_URL")
        values["supabase_key"] = _get(env, "ARCCM_SUPABASE_KEY")
        if (values["supabase_url"] is None) != (values["supabase_key"] is None):
            raise ConfigError("ARCCM_SUPABASE_URL and ARCCM_SUPABASE_KEY: set both or neither")
        return Settings(**values)  # type: ignore[arg-type]


def _database(env: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    url = _get(env, "ARCCM_DATABASE_URL")
    if url is not None:
        from arccm.adapters.postgres.database import normalize_url  # here: a command that needs no database is quick

        try:
            normalize_url(url)
        except Exception as error:
            raise ConfigError(f"ARCCM_DATABASE_URL: not a PostgreSQL URL ({error})") from None
        values["database_url"] = url
    if (data_dir := _get(env, "ARCCM_DATA_DIR")) is not None:
        values["data_dir"] = Path(data_dir).expanduser()
    if (grace := _get(env, "ARCCM_EMBEDDED_GRACE")) is not None:
        if not re.fullmatch(r"\d{1,5}(\.\d{1,3})?", grace):
            raise ConfigError(f"ARCCM_EMBEDDED_GRACE: must be a number of seconds (0 to 99999), got {grace[:40]!r}")
        values["embedded_grace_seconds"] = float(grace)
    for variable, key in (("ARCCM_DB_SCHEMA", "schema"), ("ARCCM_APP_ROLE", "app_role")):
        if (value := _get(env, variable)) is not None:
            if not _IDENTIFIER.match(value):
                raise ConfigError(f"{variable}: must be a lower-case SQL identifier, got {value!r}")
            values[key] = value
    values["app_password"] = _get(env, "ARCCM_APP_PASSWORD")
    if (mode := _get(env, "ARCCM_DB_POOL_MODE")) is not None:
        if mode not in ("session", "transaction"):
            raise ConfigError(f"ARCCM_DB_POOL_MODE: must be session or transaction, got {mode!r}")
        values["pool_mode"] = mode
    return values


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None
