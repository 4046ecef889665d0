"""mypy does not check provider arguments: resolve every provider once."""

from __future__ import annotations

from dependency_injector import providers

from arccm.adapters.container import Container


def test_every_provider_resolves() -> None:
    container = Container()
    resolved = {}
    for name, provider in container.providers.items():
        if isinstance(provider, providers.Provider):
            resolved[name] = provider(None) if name == "unit_of_work" else provider()
    assert len(resolved) >= 30
    assert all(value is not None for value in resolved.values())
