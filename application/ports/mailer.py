from typing import Protocol

import attrs


@attrs.frozen
class OutgoingEmail:
    to: str
    subject: str
    body: str


class MailError(Exception):
    """Delivery failed; the message may be retried later."""


class MailRejected(MailError):
    """The server refused this recipient or message."""


class MailUnavailable(MailError):
    """The mail server could not be reached or failed."""


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None:
        """Deliver one message; raises ``MailError`` when it was not delivered, so the caller can record and retry."""
        ...
