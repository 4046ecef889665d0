from datetime import date
from typing import Protocol

import attrs

from arccm.domain.templates import CertificateLayout


@attrs.frozen
class CertificateDocument:
    """Everything printed on a certificate."""

    recipient_name: str
    course_name: str
    issue_date: date
    expiry_date: date
    instructor_name: str
    location_name: str
    issuer_name: str
    verification_code: str
    verification_url: str


class CertificateRenderer(Protocol):
    media_type: str

    def render(self, document: CertificateDocument, layout: CertificateLayout) -> bytes: ...

    def unprintable(self, text: str) -> str:
        """The characters of ``text`` this renderer has no glyph for, each once, in order ('' when all print)."""
        ...
