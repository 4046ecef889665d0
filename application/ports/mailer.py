from typing import Protocol

import attrs


@attrs.frozen
class OutgoingEmail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None:
        """Deliver one message; raises on an infrastructure fault so the caller can retry."""
        ...
