"""Users (``profiles``), their instructor qualifications, and external learners."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from arccm.adapters.postgres import rows
from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.mapping import AggregateRepository, insert_row
from arccm.adapters.postgres.mappings import PROFILES, contact_columns
from arccm.domain.people import InstructorProfile, StudentProfile, UserProfile

if TYPE_CHECKING:
    pass


_STUDENT = contact_columns(t.t_student_enrollment_profiles)
_EXISTS = text("SELECT EXISTS (SELECT FROM profiles WHERE id = :k) AS found")


class PostgresProfileRepository(AggregateRepository[UserProfile]):
    mapping = PROFILES

    def find(self, key: UUID) -> UserProfile | None:
        found = self._uow.get(PROFILES, key, for_update=False, refuse_hidden=False) or self._staff([key]).get(key)
        if found is None:
            self._uow.refuse_if_hidden("profiles", "profile", key)
        return found

    def exists(self, key: UUID) -> bool:
        # the profile's row only, none of its contact fields (two definer calls) nor its domain object
        if self._uow.held(PROFILES, key) is not None:
            return True
        if self._uow.fetch(_EXISTS, {"k": key})[0]["found"]:
            return True
        if key in self._staff([key]):  # the rare rest as ``find`` answers it: staff outside the scope, refusal
            return True
        self._uow.refuse_if_hidden("profiles", "profile", key)
        return False

    def with_email(self, address: str) -> list[UUID]:
        found = self._uow.run(
            "SELECT p.id FROM profiles p WHERE p.id = ANY(CAST((SELECT arccm_with_email(:address)) AS uuid[])) ORDER BY p.id",
            {"address": address},
        )
        return [row[0] for row in found]

    def find_many(self, user_ids: Collection[UUID]) -> dict[UUID, UserProfile]:
        if not user_ids:
            return {}
        found = {p.id: p for p in self._uow.load(PROFILES, t.t_profiles.c.id.in_(list(user_ids)), for_update=False)}
        missing = set(user_ids) - found.keys()
        return {**found, **self._staff(missing)} if missing else found

    def _staff(self, user_ids: Collection[UUID]) -> dict[UUID, UserProfile]:
        """Instructors outside the actor's read scope whom a scheduler may staff or enroll: a consult function
        (migration 0009) answers for SA, AD and AP, and finds nothing for anyone else."""
        found = self._uow.run(
            "SELECT * FROM arccm_staff_profiles(CAST(:ids AS uuid[])) ORDER BY id", {"ids": sorted(user_ids)}
        ).mappings()
        return {p.id: p for p in self._uow.adopt(PROFILES, list(found), for_update=False)}

    def instructor(self, user_id: UUID) -> InstructorProfile | None:
        table = t.t_instructor_profiles
        row = self._uow.execute(select(table).where(table.c.id == user_id)).mappings().first()
        if row is None:
            consulted = self._uow.run(
                "SELECT * FROM arccm_staff_qualifications(ARRAY[CAST(:id AS uuid)])", {"id": user_id}
            )
            row = consulted.mappings().first()
        return None if row is None else rows.instructor(row)

    def put_instructor(self, qualification: InstructorProfile) -> None:
        params = rows.instructor_params(qualification)
        statement = insert(t.t_instructor_profiles).values(params)
        changed = {k: statement.excluded[k] for k in params if k != "id"}
        self._uow.execute(
            statement.on_conflict_do_update(index_elements=["id"], set_={**changed, "updated_at": func.now()})
        )

    def student(self, student_id: UUID) -> StudentProfile | None:
        found = self.students([student_id]).get(student_id)
        if found is None:
            self._uow.refuse_if_hidden("student_enrollment_profiles", "student", student_id)
        return found

    def students(self, student_ids: Collection[UUID]) -> dict[UUID, StudentProfile]:
        if not student_ids:
            return {}
        table = t.t_student_enrollment_profiles
        found = list(self._uow.execute(select(*_STUDENT).where(table.c.id.in_(list(student_ids)))).mappings())
        if len(found) < len(set(student_ids)):  # registered elsewhere: SA, AD and AP consult (migration 0009)
            found = (
                list(
                    self._uow.run("SELECT * FROM arccm_students(CAST(:ids AS uuid[]))", {"ids": sorted(student_ids)})
                    .mappings()
                    .all()
                )
                or found
            )
        return {row["id"]: rows.student(row) for row in found}

    def add_student(self, student: StudentProfile) -> None:
        insert_row(self._uow, t.t_student_enrollment_profiles, rows.student_params(student))

    def erase_personal_data(self, person_id: UUID, erased_name: str) -> None:
        """``arccm_erase_person`` (migration 0010): every copy, the audit trail's included; SA and AD only."""
        self._uow.run("SELECT arccm_erase_person(:person, :name)", {"person": person_id, "name": erased_name})
