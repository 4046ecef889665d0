"""A certificate as a document: everything printed on it, and the verification link its QR code carries."""

from __future__ import annotations

import attrs
from returns.result import Failure, Result, Success

from arccm.application.ports.certificate_renderer import CertificateDocument, CertificateRenderer
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, in_transaction
from arccm.application.use_cases.certificates.notices import issuer_name
from arccm.application.validation import boundary
from arccm.domain.access import Actor, can_read
from arccm.domain.errors import DomainError, Forbidden, NotPrintable, UnknownCode, Unprintable
from arccm.domain.templates import CertificateLayout
from arccm.domain.verification_code import VerificationCode, parse


@attrs.frozen
class RenderedCertificate:
    media_type: str
    content: bytes
    document: CertificateDocument


@attrs.frozen
class RenderCertificateHandler:
    """Render by code. ``actor`` None is the operator; a person may render what they may read."""

    ctx: Context
    renderer: CertificateRenderer

    @boundary
    def __call__(self, actor: Actor | None, code: str) -> Result[RenderedCertificate, DomainError]:
        return parse(code).bind(lambda c: in_transaction(self.ctx, actor, lambda uow: self._render(uow, actor, c)))

    def _render(
        self, uow: UnitOfWork, actor: Actor | None, code: VerificationCode
    ) -> Result[RenderedCertificate, DomainError]:
        certificate = uow.certificates.by_code(code)
        if certificate is None:
            return Failure(UnknownCode())
        if actor is not None and not can_read(actor, certificate.resource()):
            return Failure(Forbidden("render a certificate", "outside the actor's read scope"))
        if certificate.revocation is not None or certificate.superseded_by_id is not None:
            status = "revoked" if certificate.revocation is not None else "superseded"
            return Failure(NotPrintable(certificate.id, status))
        location = uow.reference.location(certificate.location_id)
        document = CertificateDocument(
            recipient_name=certificate.recipient.name,
            course_name=certificate.course_name,
            issue_date=certificate.issue_date,
            expiry_date=certificate.expiry_date,
            instructor_name=certificate.instructor_name,
            location_name=location.name if location else "",
            issuer_name=issuer_name(uow, certificate),
            verification_code=certificate.code.display,
            verification_url=self.ctx.verify_url(certificate.code.display),
        )
        for field in ("recipient_name", "course_name", "instructor_name", "location_name", "issuer_name"):
            missing = self.renderer.unprintable(getattr(document, field))
            if missing:
                return Failure(Unprintable(field, missing))
        layout = uow.reference.certificate_layout(certificate.location_id) or CertificateLayout()
        content = self.renderer.render(document, layout)
        return Success(RenderedCertificate(self.renderer.media_type, content, document))
