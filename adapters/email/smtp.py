"""E-mail over SMTP (stdlib ``smtplib``), configured by ``ARCCM_SMTP_URL``.

``smtp://user:password@host:port`` (STARTTLS when the server offers it) or
``smtps://…`` (TLS from the start); ``?from=address`` sets the sender. Driver
errors become the mailer port's errors: a refused recipient or message is
``MailRejected``, anything else that stops delivery is ``MailUnavailable``.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from arccm.application.ports.mailer import MailRejected, MailUnavailable, OutgoingEmail


@attrs.frozen
class SmtpMailer:
    host: str
    port: int
    sender: str = "arccm@localhost"
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    timeout: float = 30.0

    @staticmethod
    def from_url(url: str) -> SmtpMailer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an SMTP URL: {url!r}")
        query = parse_qs(parts.query)
        return SmtpMailer(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            sender=query.get("from", ["arccm@localhost"])[0],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=parts.scheme == "smtps",
        )

    def send(self, email: OutgoingEmail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, email.to, email.subject
        message.set_content(email.body)
        try:
            with self._connect() as client:
                client.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            raise MailRejected(f"{email.to}: {_reason(error)}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise MailUnavailable(f"{self.host}:{self.port}: {_reason(error)}") from None

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if self.username and self.password:
            client.login(self.username, self.password)
        return client


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if isinstance(error, smtplib.SMTPResponseException):
        reply: bytes | str = error.smtp_error
        return f"{error.smtp_code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
    return str(error) or type(error).__name__
