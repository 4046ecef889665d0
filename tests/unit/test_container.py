"""mypy does not check provider arguments: resolve every provider once, on each backend."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from arccm.adapters.container import Container
from tests.conftest import PgSchema

ACTOR_TAKING = {"unit_of_work"}


def resolve_all(container: Container, skip: frozenset[str] = frozenset()) -> dict[str, object]:
    resolved = {}
    for name, provider in container.providers.items():
        if (
            name in skip
            or not isinstance(provider, providers.Provider)
            or isinstance(provider, providers.Configuration)
        ):
            continue
        value = provider()
        resolved[name] = value(None) if name in ACTOR_TAKING else value
    return resolved


def test_every_provider_resolves_in_memory() -> None:
    resolved = resolve_all(Container(), skip=frozenset({"database"}))  # no database is configured
    assert len(resolved) >= 30
    assert all(value is not None for name, value in resolved.items() if name != "lifecycle")


@pytest.mark.needs_postgres
def test_every_provider_resolves_on_postgres(pg_schema: PgSchema) -> None:
    resolved = resolve_all(pg_schema.container())
    assert len(resolved) >= 31
    assert all(value is not None for value in resolved.values())
