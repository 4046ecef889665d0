"""Changing things: sessions, enrollments, certificates and batches, rosters, teams, people — one use case per route.

Every POST that creates or changes something takes an ``Idempotency-Key`` (idempotency.py).  A route answers with
what it changed as the caller may see it: a session through the directory (so a learner who enrolls never receives
the other learners' enrollments), an enrollment, a certificate, a batch report.  Domain refusals are problems with
the status that means them (problems.py); bodies are checked field by field before any use case runs, and an
unknown field is refused rather than ignored."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from arccm.adapters.http.common import Day, Moment, acting, answer, answer_value
from arccm.adapters.http.idempotency import KEY, once
from arccm.adapters.http.problems import API_PROBLEMS, problem
from arccm.adapters.jsonable import plain
from arccm.application import commands as c
from arccm.domain.access import Actor, Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.compliance import RecordStatus
from arccm.domain.enrollment import Attendance
from arccm.domain.team import TeamRole

router = APIRouter(prefix="/v1", responses=API_PROBLEMS)

Text = Annotated[str, Field(min_length=1, max_length=500)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Score = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=2)]
Capacity = Annotated[int, Field(ge=1, le=10_000)]
Version = Annotated[int | None, Field(None, ge=1, le=2**31 - 1, description="Refuse if the session has changed")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ScheduleBody(Body):
    course_id: uuid.UUID
    location_id: uuid.UUID
    lead_instructor_id: uuid.UUID
    title: Name
    starts_at: Moment
    ends_at: Moment
    max_capacity: Capacity
    assistant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    allow_waitlist: bool = True


class RescheduleBody(Body):
    starts_at: Moment
    ends_at: Moment
    expected_version: Version = None


class CapacityBody(Body):
    max_capacity: Capacity
    expected_version: Version = None


class CancelBody(Body):
    reason: Text
    expected_version: Version = None


class EnrollBody(Body):
    learner_id: uuid.UUID
    join_waitlist: bool = True


class AttendanceBody(Body):
    attendance: Attendance


class AssessmentBody(Body):
    practical_score: Score
    written_score: Score


class IssueBody(Body):
    kind: CompletionKind
    parent_id: uuid.UUID = Field(description="The session (kind session_enrollment) or the roster (roster_member)")
    completion_id: uuid.UUID = Field(description="The enrollment or the roster member")
    issue_date: Day | None = None


class BatchBody(Body):
    session_id: uuid.UUID | None = None
    roster_id: uuid.UUID | None = None
    chunk_size: int = Field(1000, ge=1, le=100_000)
    issue_date: Day | None = None
    name: Name | None = None
    preview: bool = False


class RevokeBody(Body):
    reason: Text


class RosterBody(Body):
    name: Name
    course_id: uuid.UUID
    location_id: uuid.UUID
    instructor_id: uuid.UUID
    max_capacity: Capacity


class RosterMemberBody(Body):
    student_id: uuid.UUID


class RosterAssessmentBody(Body):
    attendance: Attendance
    practical_score: Score
    written_score: Score


class TeamBody(Body):
    name: Name
    provider_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None


class TeamMemberBody(Body):
    user_id: uuid.UUID
    role: TeamRole = TeamRole.MEMBER


class ComplianceBody(Body):
    metric_id: uuid.UUID
    status: RecordStatus
    recorded_on: Day
    expires_on: Day | None = None


class RoleBody(Body):
    role: Role


class ActiveBody(Body):
    active: bool


def _json(data: Any, status: int = 200, location: str | None = None) -> Response:
    return JSONResponse(plain(data), status, {"Location": location} if location else None)


def _session(request: Request, actor: Actor, session_id: uuid.UUID, status: int = 200) -> Response:
    """The session as the caller may see it now (the directory's scope)."""
    found = answer(request.app.state.container.directory().session(actor, session_id))
    return _json(found, status, f"/v1/sessions/{session_id}" if status == 201 else None)


def _use(request: Request, name: str) -> Callable[..., Any]:
    use_case: Callable[..., Any] = getattr(request.app.state.container, name)()
    return use_case


# --- sessions ---------------------------------------------------------------------------------------------------


@router.post("/sessions", status_code=201, tags=["sessions"], summary="Schedule a session")
def schedule(request: Request, body: ScheduleBody, actor: Actor = Depends(acting), key: str | None = KEY) -> Response:
    def run() -> Response:
        command = c.ScheduleSession(**{**body.model_dump(), "assistant_ids": frozenset(body.assistant_ids)})
        scheduled = answer_value(_use(request, "schedule_session")(actor, command))
        return _session(request, actor, scheduled.id, 201)

    return once(request, actor, key, body, run)


def _session_change(
    request: Request, actor: Actor, key: str | None, body: Body | None, session_id: uuid.UUID, use: str, command: Any
) -> Response:
    def run() -> Response:
        answer_value(_use(request, use)(actor, command))
        return _session(request, actor, session_id)

    return once(request, actor, key, body, run)


@router.post("/sessions/{session_id}/reschedule", tags=["sessions"], summary="Move a session")
def reschedule(
    request: Request, session_id: uuid.UUID, body: RescheduleBody, actor: Actor = Depends(acting),
    key: str | None = KEY,
) -> Response:  # fmt: skip
    command = c.RescheduleSession(session_id, body.starts_at, body.ends_at, body.expected_version)
    return _session_change(request, actor, key, body, session_id, "reschedule_session", command)


@router.post("/sessions/{session_id}/capacity", tags=["sessions"], summary="Change a session's capacity")
def capacity(
    request: Request, session_id: uuid.UUID, body: CapacityBody, actor: Actor = Depends(acting),
    key: str | None = KEY,
) -> Response:  # fmt: skip
    command = c.ChangeCapacity(session_id, body.max_capacity, body.expected_version)
    return _session_change(request, actor, key, body, session_id, "change_capacity", command)


@router.post("/sessions/{session_id}/cancel", tags=["sessions"], summary="Cancel a session")
def cancel(
    request: Request, session_id: uuid.UUID, body: CancelBody, actor: Actor = Depends(acting), key: str | None = KEY
) -> Response:
    command = c.CancelSession(session_id, body.reason, body.expected_version)
    return _session_change(request, actor, key, body, session_id, "cancel_session", command)


@router.post("/sessions/{session_id}/start", tags=["sessions"], summary="Start a session")
def start(request: Request, session_id: uuid.UUID, actor: Actor = Depends(acting), key: str | None = KEY) -> Response:
    return _session_change(request, actor, key, None, session_id, "start_session", c.StartSession(session_id))


@router.post("/sessions/{session_id}/complete", tags=["sessions"], summary="Complete a session")
def complete_session(
    request: Request, session_id: uuid.UUID, actor: Actor = Depends(acting), key: str | None = KEY
) -> Response:
    return _session_change(request, actor, key, None, session_id, "complete_session", c.CompleteSession(session_id))


# --- enrollments ------------------------------------------------------------------------------------------------


@router.post("/sessions/{session_id}/enrollments", status_code=201, tags=["enrollments"],
             summary="Enroll a learner: a seat, a place on the waitlist, or 409 session_full")  # fmt: skip
def enroll(
    request: Request, session_id: uuid.UUID, body: EnrollBody, actor: Actor = Depends(acting), key: str | None = KEY
) -> Response:
    def run() -> Response:
        command = c.EnrollLearner(session_id, body.learner_id, body.join_waitlist)
        enrollment = answer_value(_use(request, "enroll_learner")(actor, command))
        return _json(enrollment, 201, f"/v1/sessions/{session_id}")

    return once(request, actor, key, body, run)


def _enrollment_change(
    request: Request, actor: Actor, key: str | None, body: Body | None, use: str, command: Any
) -> Response:
    def run() -> Response:
        return _json(answer_value(_use(request, use)(actor, command)))

    return once(request, actor, key, body, run)


@router.post("/sessions/{session_id}/enrollments/{enrollment_id}/cancel", tags=["enrollments"],
             summary="Cancel an enrollment (the first on the waitlist takes the seat)")  # fmt: skip
def cancel_enrollment(
    request: Request, session_id: uuid.UUID, enrollment_id: uuid.UUID, actor: Actor = Depends(acting),
    key: str | None = KEY,
) -> Response:  # fmt: skip
    command = c.CancelEnrollment(session_id, enrollment_id)
    return _enrollment_change(request, actor, key, None, "cancel_enrollment", command)


@router.put("/sessions/{session_id}/enrollments/{enrollment_id}/attendance", tags=["enrollments"],
            summary="Record attendance")  # fmt: skip
def attendance(
    request: Request, session_id: uuid.UUID, enrollment_id: uuid.UUID, body: AttendanceBody,
    actor: Actor = Depends(acting),
) -> Response:  # fmt: skip
    command = c.RecordAttendance(session_id, enrollment_id, body.attendance)
    return _json(answer_value(_use(request, "record_attendance")(actor, command)))


@router.put("/sessions/{session_id}/enrollments/{enrollment_id}/assessment", tags=["enrollments"],
            summary="Record the practical and written scores")  # fmt: skip
def assessment(
    request: Request, session_id: uuid.UUID, enrollment_id: uuid.UUID, body: AssessmentBody,
    actor: Actor = Depends(acting),
) -> Response:  # fmt: skip
    command = c.RecordAssessment(session_id, enrollment_id, body.practical_score, body.written_score)
    return _json(answer_value(_use(request, "record_assessment")(actor, command)))


@router.post("/sessions/{session_id}/enrollments/{enrollment_id}/complete", tags=["enrollments"],
             summary="Complete an enrollment (attended and assessed)")  # fmt: skip
def complete_enrollment(
    request: Request, session_id: uuid.UUID, enrollment_id: uuid.UUID, actor: Actor = Depends(acting),
    key: str | None = KEY,
) -> Response:  # fmt: skip
    command = c.CompleteEnrollment(session_id, enrollment_id)
    return _enrollment_change(request, actor, key, None, "complete_enrollment", command)


# --- certificates -----------------------------------------------------------------------------------------------


def _certificate(request: Request, actor: Actor, certificate_id: uuid.UUID, status: int = 200) -> Response:
    found = answer(request.app.state.container.directory().certificate(actor, str(certificate_id)))
    return _json(found, status, f"/v1/certificates/{certificate_id}" if status == 201 else None)


@router.post("/certificates", status_code=201, tags=["certificates"], summary="Issue a certificate for a completion")
def issue(request: Request, body: IssueBody, actor: Actor = Depends(acting), key: str | None = KEY) -> Response:
    def run() -> Response:
        command = c.IssueCertificate(body.kind, body.parent_id, body.completion_id, body.issue_date)
        issued = answer_value(_use(request, "issue_certificate")(actor, command))
        return _certificate(request, actor, issued.id, 201)

    return once(request, actor, key, body, run)


@router.post("/certificates/{certificate_id}/revoke", tags=["certificates"], summary="Revoke a certificate")
def revoke(
    request: Request, certificate_id: uuid.UUID, body: RevokeBody, actor: Actor = Depends(acting),
    key: str | None = KEY,
) -> Response:  # fmt: skip
    def run() -> Response:
        answer_value(_use(request, "revoke_certificate")(actor, c.RevokeCertificate(certificate_id, body.reason)))
        return _certificate(request, actor, certificate_id)

    return once(request, actor, key, body, run)


@router.post("/certificates/{certificate_id}/reinstate", tags=["certificates"], summary="Reinstate a revoked one")
def reinstate(
    request: Request, certificate_id: uuid.UUID, actor: Actor = Depends(acting), key: str | None = KEY
) -> Response:
    def run() -> Response:
        answer_value(_use(request, "reinstate_certificate")(actor, c.ReinstateCertificate(certificate_id)))
        return _certificate(request, actor, certificate_id)

    return once(request, actor, key, body=None, run=run)


@router.post("/batches", tags=["certificates"],
             summary="Certify every completed learner of a session or roster, in chunks (or preview that)")  # fmt: skip
def batch(request: Request, body: BatchBody, actor: Actor = Depends(acting), key: str | None = KEY) -> Response:
    """Runs to the end before it answers; each chunk commits with the batch's progress, which
    ``GET /v1/batches/{id}`` shows meanwhile (``GET /v1/batches`` finds a running batch).  Sent again for the same
    source, it resumes an unfinished batch and certifies nobody twice."""

    def run() -> Response:
        if (body.session_id is None) == (body.roster_id is None):
            rule = "exactly one of session_id and roster_id"
            return problem(422, "invalid_value", "Invalid value", f"session_id: {rule}", field="session_id", rule=rule)
        kind = CompletionKind.SESSION_ENROLLMENT if body.session_id else CompletionKind.ROSTER_MEMBER
        source = body.session_id or body.roster_id
        assert source is not None
        command = c.BatchIssueCertificates(kind, source, body.chunk_size, body.issue_date, None, body.name,
                                           body.preview)  # fmt: skip
        report = answer_value(_use(request, "batch_issue_certificates")(actor, command))
        return _json(report)

    return once(request, actor, key, body, run)


# --- rosters and teams ------------------------------------------------------------------------------------------


@router.post("/rosters", status_code=201, tags=["rosters"], summary="Create a roster")
def create_roster(
    request: Request, body: RosterBody, actor: Actor = Depends(acting), key: str | None = KEY
) -> Response:
    def run() -> Response:
        created = answer_value(_use(request, "create_roster")(actor, c.CreateRoster(**body.model_dump())))
        found = answer(request.app.state.container.directory().roster(actor, created.id))
        return _json(found, 201, f"/v1/rosters/{created.id}")

    return once(request, actor, key, body, run)


@router.post("/rosters/{roster_id}/members", status_code=201, tags=["rosters"], summary="Add a student to a roster")
def add_roster_member(
    request: Request, roster_id: uuid.UUID, body: RosterMemberBody, actor: Actor = Depends(acting),
    key: str | None = KEY,
) -> Response:  # fmt: skip
    def run() -> Response:
        member = answer_value(_use(request, "add_roster_member")(actor, c.AddRosterMember(roster_id, body.student_id)))
        return _json(member, 201, f"/v1/rosters/{roster_id}")

    return once(request, actor, key, body, run)


@router.put("/rosters/{roster_id}/members/{member_id}/assessment", tags=["rosters"],
            summary="Record a roster member's attendance and scores")  # fmt: skip
def assess_roster_member(
    request: Request, roster_id: uuid.UUID, member_id: uuid.UUID, body: RosterAssessmentBody,
    actor: Actor = Depends(acting),
) -> Response:  # fmt: skip
    command = c.AssessRosterMember(roster_id, member_id, body.attendance, body.practical_score, body.written_score)
    return _json(answer_value(_use(request, "assess_roster_member")(actor, command)))


@router.post("/teams", status_code=201, tags=["teams"], summary="Create a team")
def create_team(request: Request, body: TeamBody, actor: Actor = Depends(acting), key: str | None = KEY) -> Response:
    def run() -> Response:
        team = answer_value(_use(request, "create_team")(actor, c.CreateTeam(**body.model_dump())))
        return _json(team, 201)

    return once(request, actor, key, body, run)


@router.post("/teams/{team_id}/members", status_code=201, tags=["teams"], summary="Add a member to a team")
def add_team_member(
    request: Request, team_id: uuid.UUID, body: TeamMemberBody, actor: Actor = Depends(acting), key: str | None = KEY
) -> Response:
    def run() -> Response:
        command = c.AddTeamMember(team_id, body.user_id, body.role)
        return _json(answer_value(_use(request, "add_team_member")(actor, command)), 201)

    return once(request, actor, key, body, run)


@router.delete("/teams/{team_id}/members/{user_id}", tags=["teams"], summary="Remove a member from a team")
def remove_team_member(
    request: Request, team_id: uuid.UUID, user_id: uuid.UUID, actor: Actor = Depends(acting)
) -> Response:
    return _json(answer_value(_use(request, "remove_team_member")(actor, c.RemoveTeamMember(team_id, user_id))))


# --- people -----------------------------------------------------------------------------------------------------


@router.post("/people/{user_id}/compliance", status_code=201, tags=["compliance"],
             summary="Record a compliance item (a check, a document) for an instructor")  # fmt: skip
def record_compliance(
    request: Request, user_id: uuid.UUID, body: ComplianceBody, actor: Actor = Depends(acting), key: str | None = KEY
) -> Response:
    def run() -> Response:
        command = c.RecordComplianceItem(user_id, body.metric_id, body.status, body.recorded_on, body.expires_on)
        return _json(answer_value(_use(request, "record_compliance_item")(actor, command)), 201)

    return once(request, actor, key, body, run)


def _person(profile: Any) -> dict[str, Any]:
    """What a role or status change answers: no contact details, whoever asked."""
    return {"id": str(profile.id), "role": profile.role.value, "active": profile.active,
            "provider_id": str(profile.provider_id) if profile.provider_id else None}  # fmt: skip


@router.put("/people/{user_id}/role", tags=["people"], summary="Change a user's role")
def change_role(request: Request, user_id: uuid.UUID, body: RoleBody, actor: Actor = Depends(acting)) -> Response:
    changed = answer_value(_use(request, "change_user_role")(actor, c.ChangeUserRole(user_id, body.role)))
    return _json(_person(changed))


@router.put("/people/{user_id}/active", tags=["people"], summary="Deactivate (or reactivate) a user, at once")
def set_active(request: Request, user_id: uuid.UUID, body: ActiveBody, actor: Actor = Depends(acting)) -> Response:
    changed = answer_value(_use(request, "set_user_active")(actor, c.SetUserActive(user_id, body.active)))
    return _json(_person(changed))
