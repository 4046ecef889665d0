"""In-memory mailer: keeps what it is asked to send (no SMTP server configured, tests)."""

from __future__ import annotations

import threading

import attrs

from arccm.application.ports.mailer import OutgoingEmail


@attrs.define
class MemoryMailer:
    """Keeps every message it is asked to send, in order."""

    sent: list[OutgoingEmail] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def send(self, email: OutgoingEmail) -> None:
        with self._lock:
            self.sent.append(email)
