from collections.abc import Collection, Mapping
from typing import Protocol
from uuid import UUID

from arccm.domain.people import InstructorProfile, StudentProfile, UserProfile


class ProfileRepository(Protocol):
    """Users with a login, their instructor qualifications, and external learners."""

    def get_for_update(self, user_id: UUID) -> UserProfile | None:
        """A profile, held for change until the unit of work ends."""
        ...

    def find(self, user_id: UUID) -> UserProfile | None:
        """A profile to look at, holding nothing (changes to it are not saved)."""
        ...

    def exists(self, user_id: UUID) -> bool:
        """Whether ``find`` would find the profile (and refuse as it would), without loading it: for a use case
        that only names the person (an enrollment's learner)."""
        ...

    def add(self, profile: UserProfile) -> None: ...

    def with_email(self, address: str) -> list[UUID]:
        """The users whose e-mail is ``address`` (surrounding spaces and letter case ignored), by id: the system's
        lookup (a unit of work without an actor), for operator tools that name a user by e-mail."""
        ...

    def instructor(self, user_id: UUID) -> InstructorProfile | None: ...

    def put_instructor(self, qualification: InstructorProfile) -> None: ...

    def student(self, student_id: UUID) -> StudentProfile | None: ...

    def add_student(self, student: StudentProfile) -> None: ...

    def find_many(self, user_ids: Collection[UUID]) -> Mapping[UUID, UserProfile]:
        """Profiles to look at, by id (missing ids are left out)."""
        ...

    def students(self, student_ids: Collection[UUID]) -> Mapping[UUID, StudentProfile]:
        """External learners by id (missing ids are left out)."""
        ...

    def erase_personal_data(self, person_id: UUID, erased_name: str) -> None:
        """Replace the person's name, contact details and free text wherever they were copied (certificates,
        notices, completion notes, an external learner's record; on PostgreSQL the audit trail's copies too)."""
        ...
