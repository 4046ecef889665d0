"""Optional adapters and the extra that installs each: ``pip install arccm`` is the pure core (domain, use cases,
the in-memory adapter and the composition root); PostgreSQL, the embedded server, PDF rendering, iCalendar, Supabase
Realtime and the CLI come with ``arccm[postgres]``, ``arccm[embedded]``, ``arccm[pdf]``, ``arccm[calendar]``,
``arccm[supabase]`` and ``arccm[cli]`` (``arccm[all]`` for everything)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

EXTRAS = ("postgres", "embedded", "pdf", "calendar", "supabase", "cli")


class MissingExtra(ImportError):
    """An adapter was wired whose libraries are not installed; the message names the extra to install."""


def need(extra: str, module: str) -> ModuleType:
    """Import one of arccm's optional adapters, or say in one line which extra brings what it needs."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] == "arccm":
            raise
        raise MissingExtra(
            f"{module} needs {error.name!r}, which is not installed: pip install 'arccm[{extra}]'"
        ) from None


def lazy(extra: str, module: str, name: str) -> Callable[..., Any]:
    """A factory for ``module.name`` that imports it only when first called (at wiring time)."""

    def build(*args: Any, **kwargs: Any) -> Any:
        return getattr(need(extra, module), name)(*args, **kwargs)

    build.__qualname__ = build.__name__ = f"{name} (arccm[{extra}])"
    return build
