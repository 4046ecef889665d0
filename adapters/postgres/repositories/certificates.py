"""Certificates: held per completion and per (holder, course) while issuing, written in bulk with the commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import ColumnElement, and_

from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.locks import hold_keys
from arccm.adapters.postgres.mapping import AggregateRepository
from arccm.adapters.postgres.mappings import CERTIFICATES
from arccm.application.ports.unit_of_work import OutOfScope
from arccm.domain.certificate import Certificate, CompletionRef
from arccm.domain.verification_code import VerificationCode

if TYPE_CHECKING:
    pass

c = t.t_certificates


def is_live() -> ColumnElement[bool]:
    """SQL for ``Certificate.is_live``."""
    return c.c.revoked_at.is_(None)


def is_current() -> ColumnElement[bool]:
    """SQL for ``Certificate.is_current``."""
    return and_(c.c.revoked_at.is_(None), c.c.superseded_by_id.is_(None))


class PostgresCertificateRepository(AggregateRepository[Certificate]):
    mapping = CERTIFICATES

    def by_code(self, code: VerificationCode) -> Certificate | None:
        pending = next((p for p in self._uow.pending(CERTIFICATES) if p.code == code), None)
        if pending is not None:
            return pending
        found = self._uow.load(CERTIFICATES, c.c.verification_code == code.canonical, for_update=False)
        if not found and self.codes_in_use([code]):
            raise OutOfScope("certificate")  # it exists, outside the actor's scope
        return found[0] if found else None

    def live_for_update(self, completions: Collection[CompletionRef]) -> dict[CompletionRef, Certificate]:
        wanted = set(completions)
        out = {p.completion: p for p in self._uow.pending(CERTIFICATES) if p.is_live and p.completion in wanted}
        asked = sorted(wanted - out.keys(), key=lambda ref: (ref.kind.value, ref.id))
        if asked:  # two array parameters, however many completions: a chunk of a thousand is one short statement
            found = self._uow.run(
                "SELECT * FROM certificates WHERE revoked_at IS NULL AND (completion_kind, completion_id) IN"
                " (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:ids AS uuid[]))) ORDER BY id"
                " FOR NO KEY UPDATE",
                {"kinds": [ref.kind.value for ref in asked], "ids": [ref.id for ref in asked]},
            ).mappings()
            for certificate in self._uow.adopt(CERTIFICATES, list(found), for_update=True):
                if certificate.is_live:
                    out[certificate.completion] = certificate
        return out

    def current_for_update(self, holders: Collection[tuple[UUID, UUID]]) -> dict[tuple[UUID, UUID], list[Certificate]]:
        wanted = set(holders)
        hold_keys(self._uow, "certificate holder", [f"{person}:{course}" for person, course in wanted])
        out: dict[tuple[UUID, UUID], list[Certificate]] = {}
        if not wanted:
            return out
        # the holders' certificates may have been issued anywhere: a consult function finds and holds them
        found = self._uow.run(
            "SELECT * FROM arccm_current_certificates(CAST(:people AS uuid[]), CAST(:courses AS uuid[]))",
            {"people": sorted({p for p, _ in wanted}), "courses": sorted({k for _, k in wanted})},
        ).mappings()
        loaded = self._uow.adopt(CERTIFICATES, list(found), for_update=True)
        for certificate in [*loaded, *self._uow.pending(CERTIFICATES)]:
            person = certificate.recipient.person_id
            holder = (person, certificate.course_id) if person is not None else None
            if holder in wanted and certificate.is_current and certificate not in out.get(holder, []):
                out.setdefault(holder, []).append(certificate)
        return out

    def codes_in_use(self, codes: Collection[VerificationCode]) -> set[str]:
        wanted = [code.canonical for code in codes]
        found = self._uow.run("SELECT arccm_codes_in_use(CAST(:codes AS text[]))", {"codes": wanted}).scalars()
        pending = {p.code.canonical for p in self._uow.pending(CERTIFICATES)}
        return set(found) | (pending & set(wanted))

    def expired_unrecorded(self, today: date, limit: int) -> Sequence[Certificate]:
        where = and_(c.c.expiry_date < today, c.c.expired_on.is_(None), is_current())
        return self._uow.load(CERTIFICATES, where, for_update=True, order_by=[c.c.id], limit=limit, skip_locked=True)

    def entering_window(self, today: date, until: date, limit: int, after: UUID | None) -> Sequence[Certificate]:
        where = and_(c.c.expiry_date.between(today, until), is_current(), *([c.c.id > after] if after else []))
        return self._uow.load(CERTIFICATES, where, for_update=False, order_by=[c.c.id], limit=limit)
