"""How a location's certificates look and its e-mails read."""

from __future__ import annotations

import string
from collections.abc import Mapping
from uuid import UUID

import attrs


@attrs.frozen
class CertificateLayout:
    """A certificate template (``certificate_templates.body``); the default serves every location without one."""

    title: str = "Certificate of Completion"
    subtitle: str = "This certifies that"
    accent: str = "#1F4E79"  # a #RRGGBB colour
    signature_label: str = "Lead instructor"
    footer: str = "Verify this certificate at the address below or by scanning the code."


@attrs.frozen
class EmailTemplate:
    """A location's template for one category of message (``location_email_templates``).

    ``$name`` placeholders are filled from the notification's context; an unknown
    placeholder is left as written rather than failing the send.
    """

    name: str
    subject: str
    body: str
    location_id: UUID | None = None

    def render(self, context: Mapping[str, object]) -> tuple[str, str]:
        values = {key: str(value) for key, value in context.items()}
        return string.Template(self.subject).safe_substitute(values), string.Template(self.body).safe_substitute(values)


DEFAULT_EMAILS = {
    "certificate_issued": EmailTemplate(
        "certificate_issued",
        "Your $course_name certificate",
        "Hello $recipient_name,\n\nCongratulations: your $course_name certificate was issued on $issue_date"
        " and is valid until $expiry_date.\n\nVerification code: $code\nVerify it at: $verify_url\n",
    ),
    "certificate_revoked": EmailTemplate(
        "certificate_revoked",
        "Your $course_name certificate was revoked",
        "Hello $recipient_name,\n\nYour $course_name certificate ($code) was revoked on $revoked_on."
        " Please contact $issuer_name if you have questions.\n",
    ),
    "recertification_reminder": EmailTemplate(
        "recertification_reminder",
        "Your $course_name certificate expires on $expiry_date",
        "Hello $recipient_name,\n\nYour $course_name certificate ($code) expires on $expiry_date."
        " Upcoming sessions with open seats near you:\n\n$sessions\n",
    ),
}


# the in-app notice for each category: title and message, in the same ``$name`` syntax as the e-mails
NOTICES = {
    "certificate_issued": EmailTemplate(
        "certificate_issued", "Certificate issued", "Your $course_name certificate is valid until $expiry_date."
    ),
    "certificate_revoked": EmailTemplate(
        "certificate_revoked", "Certificate revoked", "Your $course_name certificate ($code) was revoked."
    ),
    "recertification_reminder": EmailTemplate(
        "recertification_reminder",
        "Recertification due",
        "Your $course_name certificate expires on $expiry_date. Upcoming sessions: $sessions",
    ),
}
