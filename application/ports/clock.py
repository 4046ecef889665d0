from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Where 'now' comes from; always timezone-aware."""

    def now(self) -> datetime: ...
