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
    assert all(value is not None for value in resolved.values())


@pytest.mark.needs_postgres
def test_every_provider_resolves_on_postgres(pg_schema: PgSchema) -> None:
    resolved = resolve_all(pg_schema.container())
    assert len(resolved) >= 31
    assert all(value is not None for value in resolved.values())


def test_an_adapter_whose_extra_is_missing_fails_at_wiring_in_one_line_naming_it() -> None:
    from arccm.adapters.extras import MissingExtra, lazy

    build = lazy("pdf", "arccm.adapters.certificates.not_installed_here", "Renderer")
    with pytest.raises(ModuleNotFoundError):  # a missing module of arccm's own is a bug, said as it is
        build()
    missing = lazy("supabase", "json_but_not_quite_a_real_module_xyz", "Anything")
    with pytest.raises(
        MissingExtra, match=r"^json_but_not_quite_a_real_module_xyz needs .*pip install 'arccm\[supabase\]'$"
    ):
        missing()
