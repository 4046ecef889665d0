"""Telling a certificate's holder: who they are, how to reach them, and the notice itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

import attrs

from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context
from arccm.domain.certificate import Certificate
from arccm.domain.notification import Category, Notification
from arccm.domain.templates import NOTICES


@attrs.frozen
class Contact:
    name: str
    email: str
    location_id: UUID | None

    @staticmethod
    def nobody(name: str = "") -> Contact:
        return Contact(name, "", None)


def contacts(uow: UnitOfWork, person_ids: Sequence[UUID], external: bool) -> dict[UUID, Contact]:
    """Everyone's name, address and location in one question."""
    if external:
        students = uow.profiles.students(person_ids)
        return {i: Contact(s.display_name, s.email, s.location_id) for i, s in students.items()}
    profiles = uow.profiles.find_many(person_ids)
    return {i: Contact(p.display_name, p.email, p.location_id) for i, p in profiles.items()}


def holder_contact(uow: UnitOfWork, certificate: Certificate) -> Contact:
    person = certificate.recipient.person_id
    if person is None:
        return Contact.nobody(certificate.recipient.name)
    external = certificate.recipient.student_id is not None
    return contacts(uow, [person], external).get(person, Contact.nobody(certificate.recipient.name))


def issuer_name(uow: UnitOfWork, certificate: Certificate) -> str:
    provider = uow.reference.provider(certificate.provider_id) if certificate.provider_id else None
    location = uow.reference.location(certificate.location_id)
    return provider.name if provider else (location.name if location else "")


def notice(
    ctx: Context,
    certificate: Certificate,
    category: Category,
    holder: Contact,
    now: datetime,
    extra: Mapping[str, str] | None = None,
) -> Notification:
    """The notice telling the certificate's holder, e-mail queued with it.  Its dedupe key is (category,
    certificate, occasion): the repository stores it at most once."""
    extra = extra or {}
    occasion = extra.get("occasion", "")
    context = {
        "recipient_name": certificate.recipient.name,
        "course_name": certificate.course_name,
        "issue_date": certificate.issue_date.isoformat(),
        "expiry_date": certificate.expiry_date.isoformat(),
        "code": certificate.code.display,
        "verify_url": ctx.verify_url(certificate.code.display),
        **{k: v for k, v in extra.items() if k != "occasion"},
    }
    title, message = NOTICES[category.value].render(context)
    notification = Notification(
        id=ctx.ids.new_id(),
        category=category,
        title=title,
        message=message,
        dedupe_key=f"{category.value}:{certificate.id}:{occasion}",
        created_at=now,
        user_id=certificate.recipient.user_id,
        student_id=certificate.recipient.student_id,
        email=holder.email,
        location_id=holder.location_id or certificate.location_id,
        context=context,
    )
    return Notification.create(notification, now)
