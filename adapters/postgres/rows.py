"""Rows to domain objects and back.

Rows are mapped by hand with SQLAlchemy Core rather than ORM imperative
mapping: aggregates here carry value objects (frozensets, ``Recipient``,
``Revocation``, ``AssessmentRule``, ``ComplianceStanding``) and children whose
writes must follow a precise order (a seat leaves before another is taken), and
every read model is set-based SQL anyway. One way, not two (STYLE.md).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from arccm.domain.access import Role
from arccm.domain.batch import BatchStatus, CertificateBatch
from arccm.domain.certificate import Certificate, CompletionKind, CompletionRef, Recipient, Revocation
from arccm.domain.compliance import (
    ComplianceMetric,
    ComplianceRecord,
    ComplianceStanding,
    ComplianceStatus,
    RecordStatus,
    Tier,
)
from arccm.domain.course import AssessmentRule, Course
from arccm.domain.enrollment import Attendance, Completion, Enrollment, EnrollmentStatus
from arccm.domain.notification import Category, EmailBatch, EmailBatchStatus, EmailStatus, Notification
from arccm.domain.people import (
    AuthorizedProvider,
    InstructorProfile,
    Location,
    ProviderStatus,
    StudentProfile,
    UserProfile,
)
from arccm.domain.roster import Roster, RosterMember
from arccm.domain.scheduling import AvailabilityBooking, BookingKind
from arccm.domain.team import Team, TeamMember, TeamRole
from arccm.domain.training_session import SessionStatus, TrainingSession
from arccm.domain.verification_code import VerificationCode

Row = Any  # a result row: SQLAlchemy's RowMapping, or any mapping of column names


def _ids(values: list[UUID] | None) -> frozenset[UUID]:
    return frozenset(values or ())


# --- reference ---------------------------------------------------------------------


def course(row: Row) -> Course:
    return Course(
        id=row["id"],
        name=row["name"],
        code=row["code"],
        validity_months=row["validity_months"],
        required_specialties=frozenset(row["required_specialties"]),
        rule=AssessmentRule(
            row["practical_weight"], row["written_weight"], row["pass_threshold"], row["requires_both_scores"]
        ),
        max_students=row["max_students"],
    )


def course_params(c: Course) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "code": c.code,
        "validity_months": c.validity_months,
        "required_specialties": sorted(c.required_specialties),
        "practical_weight": c.rule.practical_weight,
        "written_weight": c.rule.written_weight,
        "pass_threshold": c.rule.pass_threshold,
        "requires_both_scores": c.rule.requires_both_scores,
        "max_students": c.max_students,
    }


def location(row: Row) -> Location:
    return Location(row["id"], row["name"], row["timezone"])


def location_params(place: Location) -> dict[str, Any]:
    return {"id": place.id, "name": place.name, "timezone": place.timezone}


def provider(row: Row) -> AuthorizedProvider:
    return AuthorizedProvider(row["id"], row["name"], _ids(row["location_ids"]), ProviderStatus(row["status"]))


def provider_params(p: AuthorizedProvider) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "status": p.status.value}


# --- people --------------------------------------------------------------------------


def profile(row: Row) -> UserProfile:
    return UserProfile(
        id=row["id"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        email=row["email"],
        phone=row["phone"],
        provider_id=row["provider_id"],
        location_id=row["location_id"],
        compliance=ComplianceStanding(
            row["compliance_score"], Tier(row["compliance_tier"]), ComplianceStatus(row["compliance_status"])
        ),
        active=row["status"] == "active",
    )


def profile_params(p: UserProfile) -> dict[str, Any]:
    return {
        "id": p.id,
        "display_name": p.display_name,
        "role": p.role.value,
        "email": p.email,
        "phone": p.phone,
        "provider_id": p.provider_id,
        "location_id": p.location_id,
        "compliance_score": p.compliance.score,
        "compliance_tier": p.compliance.tier.value,
        "compliance_status": p.compliance.status.value,
        "status": "active" if p.active else "inactive",
    }


def instructor(row: Row) -> InstructorProfile:
    return InstructorProfile(
        row["id"],
        frozenset(row["specialties"]),
        row["max_students_per_session"],
        row["credential_expires_on"],
        row["is_active"],
    )


def instructor_params(q: InstructorProfile) -> dict[str, Any]:
    return {
        "id": q.user_id,
        "specialties": sorted(q.specialties),
        "max_students_per_session": q.max_students_per_session,
        "credential_expires_on": q.credential_expires_on,
        "is_active": q.is_active,
    }


def student(row: Row) -> StudentProfile:
    return StudentProfile(
        row["id"], row["first_name"], row["last_name"], row["email"], row["phone"], row["location_id"]
    )


def student_params(s: StudentProfile) -> dict[str, Any]:
    return {
        "id": s.id,
        "first_name": s.first_name,
        "last_name": s.last_name,
        "email": s.email,
        "phone": s.phone,
        "location_id": s.location_id,
    }


def metric(row: Row) -> ComplianceMetric:
    return ComplianceMetric(
        row["id"],
        row["name"],
        row["weight"],
        frozenset(Role(r) for r in row["roles"]),
        row["required_for_basic"],
        row["required_for_robust"],
    )


def metric_params(m: ComplianceMetric) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "weight": m.weight,
        "roles": sorted(r.value for r in m.roles),
        "required_for_basic": m.required_for_basic,
        "required_for_robust": m.required_for_robust,
    }


def record(row: Row) -> ComplianceRecord:
    return ComplianceRecord(
        row["user_id"], row["metric_id"], RecordStatus(row["status"]), row["recorded_on"], row["expires_on"]
    )


def record_params(r: ComplianceRecord) -> dict[str, Any]:
    return {
        "user_id": r.user_id,
        "metric_id": r.metric_id,
        "status": r.status.value,
        "recorded_on": r.recorded_on,
        "expires_on": r.expires_on,
    }


def booking(row: Row) -> AvailabilityBooking:
    return AvailabilityBooking(
        row["id"], row["user_id"], row["starts_at"], row["ends_at"], BookingKind(row["booking_type"]), row["title"]
    )


def booking_params(b: AvailabilityBooking) -> dict[str, Any]:
    return {
        "id": b.id,
        "user_id": b.instructor_id,
        "starts_at": b.starts_at,
        "ends_at": b.ends_at,
        "booking_type": b.kind.value,
        "title": b.title,
    }


# --- sessions and enrollments ------------------------------------------------------------


def session(row: Row, enrollments: list[Enrollment]) -> TrainingSession:
    return TrainingSession(
        id=row["id"],
        course_id=row["course_id"],
        title=row["title"],
        location_id=row["location_id"],
        lead_instructor_id=row["lead_instructor_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        max_capacity=row["max_capacity"],
        provider_id=row["provider_id"],
        assistant_ids=_ids(row["assistant_ids"]),
        allow_waitlist=row["allow_waitlist"],
        created_by=row["created_by"],
        status=SessionStatus(row["status"]),
        version=row["version"],
        enrollments=enrollments,
    )


def session_params(s: TrainingSession) -> dict[str, Any]:
    return {
        "id": s.id,
        "course_id": s.course_id,
        "title": s.title,
        "location_id": s.location_id,
        "provider_id": s.provider_id,
        "lead_instructor_id": s.lead_instructor_id,
        "assistant_ids": sorted(s.assistant_ids),
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "max_capacity": s.max_capacity,
        "allow_waitlist": s.allow_waitlist,
        "status": s.status.value,
        "version": s.version,
        "created_by": s.created_by,
    }


def enrollment(row: Row) -> Enrollment:
    return Enrollment(
        id=row["id"],
        session_id=row["session_id"],
        learner_id=row["learner_id"],
        status=EnrollmentStatus(row["status"]),
        enrolled_at=row["enrolled_at"],
        enrolled_by=row["enrolled_by"],
        waitlist_position=row["waitlist_position"],
        attendance=Attendance(row["attendance_status"]),
        completion=Completion(row["completion_status"]),
        practical_score=row["practical_score"],
        written_score=row["written_score"],
        completion_reason=row["completion_reason"],
        completed_at=row["completed_at"],
        cancelled_at=row["cancelled_at"],
    )


def enrollment_params(e: Enrollment) -> dict[str, Any]:
    return {
        "id": e.id,
        "session_id": e.session_id,
        "learner_id": e.learner_id,
        "status": e.status.value,
        "waitlist_position": e.waitlist_position,
        "attendance_status": e.attendance.value,
        "completion_status": e.completion.value,
        "practical_score": e.practical_score,
        "written_score": e.written_score,
        "completion_reason": e.completion_reason,
        "enrolled_at": e.enrolled_at,
        "enrolled_by": e.enrolled_by,
        "completed_at": e.completed_at,
        "cancelled_at": e.cancelled_at,
    }


# --- certificates ----------------------------------------------------------------------


def certificate(row: Row) -> Certificate:
    revocation = None
    if row["revoked_at"] is not None:
        revocation = Revocation(row["revocation_reason"], row["revoked_by"], row["revoked_at"])
    return Certificate(
        id=row["id"],
        code=VerificationCode(row["verification_code"]),
        completion=CompletionRef(CompletionKind(row["completion_kind"]), row["completion_id"]),
        recipient=Recipient(row["recipient_name"], row["recipient_user_id"], row["recipient_student_id"]),
        course_id=row["course_id"],
        course_name=row["course_name"],
        location_id=row["location_id"],
        issued_by=row["issued_by"],
        issue_date=row["issue_date"],
        expiry_date=row["expiry_date"],
        provider_id=row["provider_id"],
        session_id=row["session_id"],
        roster_id=row["roster_id"],
        instructor_ids=_ids(row["instructor_ids"]),
        instructor_name=row["instructor_name"],
        lead_instructor_id=row["lead_instructor_id"],
        batch_id=row["batch_id"],
        revocation=revocation,
        supersedes_id=row["supersedes_id"],
        superseded_by_id=row["superseded_by_id"],
        expired_on=row["expired_on"],
        version=row["version"],
    )


def certificate_params(c: Certificate) -> dict[str, Any]:
    revocation = c.revocation
    return {
        "id": c.id,
        "verification_code": c.code.canonical,
        "completion_kind": c.completion.kind.value,
        "completion_id": c.completion.id,
        "recipient_name": c.recipient.name,
        "recipient_user_id": c.recipient.user_id,
        "recipient_student_id": c.recipient.student_id,
        "course_id": c.course_id,
        "course_name": c.course_name,
        "location_id": c.location_id,
        "provider_id": c.provider_id,
        "session_id": c.session_id,
        "roster_id": c.roster_id,
        "instructor_ids": sorted(c.instructor_ids),
        "instructor_name": c.instructor_name,
        "lead_instructor_id": c.lead_instructor_id,
        "issued_by": c.issued_by,
        "issue_date": c.issue_date,
        "expiry_date": c.expiry_date,
        "batch_id": c.batch_id,
        "revoked_at": revocation.revoked_at if revocation else None,
        "revoked_by": revocation.revoked_by if revocation else None,
        "revocation_reason": revocation.reason if revocation else None,
        "supersedes_id": c.supersedes_id,
        "superseded_by_id": c.superseded_by_id,
        "expired_on": c.expired_on,
        "version": c.version,
    }


# --- rosters and teams --------------------------------------------------------------------


def roster(row: Row, members: list[RosterMember]) -> Roster:
    return Roster(
        id=row["id"],
        name=row["roster_name"],
        course_id=row["course_id"],
        location_id=row["location_id"],
        instructor_id=row["instructor_id"],
        max_capacity=row["max_capacity"],
        provider_id=row["provider_id"],
        created_by=row["created_by"],
        members=members,
    )


def roster_params(r: Roster) -> dict[str, Any]:
    return {
        "id": r.id,
        "roster_name": r.name,
        "course_id": r.course_id,
        "location_id": r.location_id,
        "provider_id": r.provider_id,
        "instructor_id": r.instructor_id,
        "max_capacity": r.max_capacity,
        "created_by": r.created_by,
    }


def roster_member(row: Row) -> RosterMember:
    return RosterMember(
        id=row["id"],
        student_id=row["student_profile_id"],
        added_at=row["enrolled_at"],
        attendance=Attendance(row["attendance_status"]),
        practical_score=row["practical_score"],
        written_score=row["written_score"],
        completion=Completion(row["completion_status"]),
        completion_reason=row["completion_reason"],
        completed_at=row["completion_date"],
    )


def roster_member_params(roster_id: UUID, m: RosterMember) -> dict[str, Any]:
    return {
        "id": m.id,
        "roster_id": roster_id,
        "student_profile_id": m.student_id,
        "enrolled_at": m.added_at,
        "attendance_status": m.attendance.value,
        "practical_score": m.practical_score,
        "written_score": m.written_score,
        "completion_status": m.completion.value,
        "completion_reason": m.completion_reason,
        "completion_date": m.completed_at,
    }


def team(row: Row, members: list[TeamMember]) -> Team:
    return Team(
        id=row["id"],
        name=row["name"],
        provider_id=row["provider_id"],
        location_id=row["location_id"],
        created_by=row["created_by"],
        members=members,
    )


def team_params(team: Team) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "provider_id": team.provider_id,
        "location_id": team.location_id,
        "created_by": team.created_by,
    }


def team_member(row: Row) -> TeamMember:
    return TeamMember(row["user_id"], TeamRole(row["role"]), row["added_at"])


def team_member_params(team_id: UUID, m: TeamMember) -> dict[str, Any]:
    return {"team_id": team_id, "user_id": m.user_id, "role": m.role.value, "added_at": m.added_at}


# --- batches, notifications -------------------------------------------------------------


def batch(row: Row) -> CertificateBatch:
    return CertificateBatch(
        id=row["id"],
        name=row["name"],
        source_kind=CompletionKind(row["source_kind"]),
        source_id=row["source_id"],
        course_id=row["course_id"],
        location_id=row["location_id"],
        issue_date=row["issue_date"],
        created_by=row["created_by"],
        provider_id=row["provider_id"],
        status=BatchStatus(row["status"]),
        total=row["total"],
        done=row["done"],
        issued=row["certificate_count"],
        not_eligible=row["not_eligible"],
    )


def batch_params(b: CertificateBatch) -> dict[str, Any]:
    return {
        "id": b.id,
        "name": b.name,
        "source_kind": b.source_kind.value,
        "source_id": b.source_id,
        "course_id": b.course_id,
        "location_id": b.location_id,
        "issue_date": b.issue_date,
        "created_by": b.created_by,
        "provider_id": b.provider_id,
        "status": b.status.value,
        "total": b.total,
        "done": b.done,
        "certificate_count": b.issued,
        "not_eligible": b.not_eligible,
    }


def notification(row: Row) -> Notification:
    return Notification(
        id=row["id"],
        category=Category(row["category"]),
        title=row["title"],
        message=row["message"],
        dedupe_key=row["dedupe_key"],
        created_at=row["created_at"],
        user_id=row["user_id"],
        student_id=row["student_id"],
        email=row["email"],
        location_id=row["location_id"],
        context=dict(row["metadata"]),
        email_status=EmailStatus(row["email_status"]),
        email_attempts=row["email_attempts"],
        email_error=row["email_error"],
        emailed_at=row["emailed_at"],
    )


def notification_params(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "category": n.category.value,
        "type": n.category.value,
        "title": n.title,
        "message": n.message,
        "dedupe_key": n.dedupe_key,
        "created_at": n.created_at,
        "user_id": n.user_id,
        "student_id": n.student_id,
        "email": n.email,
        "location_id": n.location_id,
        "metadata": dict(n.context),
        "email_status": n.email_status.value,
        "email_attempts": n.email_attempts,
        "email_error": n.email_error,
        "emailed_at": n.emailed_at,
    }


def email_batch(row: Row) -> EmailBatch:
    return EmailBatch(
        id=row["id"],
        name=row["batch_name"],
        total=row["total"],
        started_at=row["created_at"],
        status=EmailBatchStatus(row["status"]),
        processed=row["processed"],
        sent=row["sent"],
        failed=row["failed"],
        error=row["error_message"],
        completed_at=row["completed_at"],
    )


def email_batch_params(b: EmailBatch) -> dict[str, Any]:
    return {
        "id": b.id,
        "batch_name": b.name,
        "total": b.total,
        "created_at": b.started_at,
        "status": b.status.value,
        "processed": b.processed,
        "sent": b.sent,
        "failed": b.failed,
        "error_message": b.error,
        "completed_at": b.completed_at,
    }
