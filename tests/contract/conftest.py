"""The contract suite: every adapter must behave the same.

``backend`` is parametrized over the adapters under test; [2] adds PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from arccm.adapters.container import Container

BACKENDS: dict[str, Callable[[], Container]] = {"memory": Container}


@pytest.fixture(params=sorted(BACKENDS))
def make_container(request: pytest.FixtureRequest) -> Callable[[], Container]:
    factory: Callable[[], Container] = BACKENDS[request.param]
    return factory
