"""Reference data: courses, locations, providers, certificate layouts and e-mail templates."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import attrs
from sqlalchemy import func, select, update

from arccm.adapters.postgres import rows
from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.mapping import insert_row
from arccm.domain.course import Course
from arccm.domain.people import AuthorizedProvider, Location
from arccm.domain.templates import CertificateLayout, EmailTemplate

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork


class PostgresReferenceRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def course(self, course_id: UUID) -> Course | None:
        table = t.t_course_templates
        row = self._uow.execute(select(table).where(table.c.id == course_id)).mappings().first()
        return None if row is None else rows.course(row)

    def location(self, location_id: UUID) -> Location | None:
        table = t.t_locations
        row = self._uow.execute(select(table).where(table.c.id == location_id)).mappings().first()
        return None if row is None else rows.location(row)

    def provider(self, provider_id: UUID) -> AuthorizedProvider | None:
        p, pl = t.t_authorized_providers, t.t_provider_locations
        statement = (
            select(
                p.c.id,
                p.c.name,
                p.c.status,
                func.array_remove(func.array_agg(pl.c.location_id), None).label("location_ids"),
            )
            .select_from(p.outerjoin(pl, pl.c.provider_id == p.c.id))
            .where(p.c.id == provider_id)
            .group_by(p.c.id)
        )
        row = self._uow.execute(statement).mappings().first()
        return None if row is None else rows.provider(row)

    def provider_of_location(self, location_id: UUID) -> AuthorizedProvider | None:
        pl = t.t_provider_locations
        provider_id = self._uow.execute(select(pl.c.provider_id).where(pl.c.location_id == location_id)).scalar()
        return None if provider_id is None else self.provider(provider_id)

    def add_course(self, course: Course) -> None:
        insert_row(self._uow, t.t_course_templates, rows.course_params(course))

    def add_location(self, location: Location) -> None:
        insert_row(self._uow, t.t_locations, rows.location_params(location))

    def add_provider(self, provider: AuthorizedProvider) -> None:
        insert_row(self._uow, t.t_authorized_providers, rows.provider_params(provider))
        for location_id in sorted(provider.location_ids):
            insert_row(self._uow, t.t_provider_locations, {"provider_id": provider.id, "location_id": location_id})

    def certificate_layout(self, location_id: UUID) -> CertificateLayout | None:
        lt, ct = t.t_location_templates, t.t_certificate_templates
        statement = (
            select(ct.c.body)
            .select_from(lt.join(ct, ct.c.id == lt.c.template_id))
            .where(lt.c.location_id == location_id, lt.c.is_primary)
        )
        body = self._uow.execute(statement).scalar()
        return None if body is None else CertificateLayout(**body)

    def set_certificate_layout(self, location_id: UUID, layout: CertificateLayout) -> None:
        lt, template_id = t.t_location_templates, uuid4()
        insert_row(
            self._uow,
            t.t_certificate_templates,
            {"id": template_id, "name": layout.title, "version": "1", "body": attrs.asdict(layout)},
        )
        self._uow.execute(update(lt).where(lt.c.location_id == location_id).values(is_primary=False))
        row = {"id": uuid4(), "location_id": location_id, "template_id": template_id, "is_primary": True}
        insert_row(self._uow, lt, row)

    def email_template(self, location_id: UUID, name: str) -> EmailTemplate | None:
        e = t.t_location_email_templates
        statement = (
            select(e.c.name, e.c.subject_template, e.c.body_template, e.c.location_id)
            .where(e.c.location_id == location_id, e.c.name == name)
            .order_by(e.c.is_default.desc(), e.c.created_at.desc())
            .limit(1)
        )
        row = self._uow.execute(statement).mappings().first()
        if row is None:
            return None
        return EmailTemplate(row["name"], row["subject_template"], row["body_template"], row["location_id"])

    def add_email_template(self, template: EmailTemplate) -> None:
        if template.location_id is None:
            raise ValueError("an e-mail template belongs to a location")
        e = t.t_location_email_templates
        self._uow.execute(
            update(e).where(e.c.location_id == template.location_id, e.c.name == template.name).values(is_default=False)
        )
        params = {
            "id": uuid4(),
            "location_id": template.location_id,
            "name": template.name,
            "subject_template": template.subject,
            "body_template": template.body,
            "is_default": True,
        }
        insert_row(self._uow, e, params)
