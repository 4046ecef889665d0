from typing import Protocol
from uuid import UUID


class IdSource(Protocol):
    def new_id(self) -> UUID: ...
