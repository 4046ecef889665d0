"""In-memory mailer and a plain-text certificate renderer."""

from __future__ import annotations

import threading

import attrs

from arccm.application.ports.certificate_renderer import CertificateDocument
from arccm.application.ports.mailer import OutgoingEmail


@attrs.define
class MemoryMailer:
    """Keeps every message it is asked to send, in order."""

    sent: list[OutgoingEmail] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def send(self, email: OutgoingEmail) -> None:
        with self._lock:
            self.sent.append(email)


@attrs.frozen
class TextCertificateRenderer:
    """A certificate as plain text: for terminals, logs and tests; PDF comes with [3]."""

    media_type: str = "text/plain; charset=utf-8"

    def render(self, document: CertificateDocument) -> bytes:
        lines = [
            "CERTIFICATE OF COMPLETION",
            "",
            f"This certifies that {document.recipient_name}",
            f"completed {document.course_name}",
            f"with {document.instructor_name} at {document.location_name}.",
            "",
            f"Issued {document.issue_date.isoformat()} by {document.issuer_name}",
            f"Valid until {document.expiry_date.isoformat()}",
            f"Verify: {document.verification_code} at {document.verification_url}",
        ]
        return ("\n".join(lines) + "\n").encode()
