"""Roles, actors, read scopes and write rules (DESIGN §2).

One module answers both questions a caller may ask:

* ``can_read(actor, resource)`` — is this row in the actor's read scope?
* ``may(actor, action, target)`` — may the actor do this, and if not, why not?

A ``Resource`` is the handful of keys that place a row in the organization
(location, provider, creator, the instructors of the session it hangs under, the
person it is about).  Every aggregate can describe itself as one, and so can
every event, so the same rules filter queries, events and exports.
"""

from __future__ import annotations

import enum
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.errors import DomainError, Forbidden


class Role(enum.Enum):
    SA = "SA"  # system administrator
    AD = "AD"  # administrator
    AP = "AP"  # authorized provider
    IC = "IC"  # instructor certified
    IP = "IP"  # instructor provisional
    IT = "IT"  # instructor trainee
    IN = "IN"  # instructor new

    @property
    def rank(self) -> int:
        return _RANK[self]

    def outranks(self, other: Role) -> bool:
        return self.rank > other.rank


_RANK = {Role.SA: 7, Role.AD: 6, Role.AP: 5, Role.IC: 4, Role.IP: 3, Role.IT: 2, Role.IN: 1}
ADMINS = frozenset({Role.SA, Role.AD})
LEAD_INSTRUCTORS = frozenset({Role.IC, Role.IP})
TRAINEES = frozenset({Role.IT, Role.IN})
INSTRUCTOR_ROLES = LEAD_INSTRUCTORS | TRAINEES


@attrs.frozen
class Actor:
    """Who is acting.  Built from the database, never from a client's claim."""

    user_id: UUID
    role: Role
    provider_id: UUID | None = None
    location_ids: frozenset[UUID] = frozenset()


class ResourceKind(enum.Enum):
    SESSION = "session"
    ENROLLMENT = "enrollment"
    CERTIFICATE = "certificate"
    PROFILE = "profile"
    COMPLIANCE = "compliance"
    TEAM = "team"
    ROSTER = "roster"
    BATCH = "batch"  # a certificate batch: read like the rows it certifies (location, provider, creator)
    NOTIFICATION = "notification"  # read by the person it is addressed to
    REFERENCE = "reference"  # courses, locations: readable by every signed-in actor


@attrs.frozen
class Resource:
    """The scope keys of one row (or one event about a row)."""

    kind: ResourceKind
    location_id: UUID | None = None
    provider_id: UUID | None = None
    created_by: UUID | None = None
    # instructors (lead and assistants) of the session this row is or hangs under
    instructors: frozenset[UUID] = frozenset()
    # the lead instructor of that session; only leads act as "the instructor"
    lead_instructor: UUID | None = None
    # the person the row is about: learner, recipient, profile owner, member
    subject_id: UUID | None = None
    # for a SESSION: the learners actively enrolled in it
    learners: frozenset[UUID] = frozenset()
    # for a PROFILE: the user's role and, when it is being changed, the new role
    role: Role | None = None
    granted_role: Role | None = None


class Action(enum.Enum):
    SCHEDULE_SESSION = "schedule a session"
    CHANGE_SESSION = "change a session"
    CANCEL_SESSION = "cancel a session"
    ENROLL = "enroll a learner"
    CANCEL_ENROLLMENT = "cancel an enrollment"
    RECORD_ATTENDANCE = "record attendance"
    RECORD_ASSESSMENT = "record an assessment"
    ISSUE_CERTIFICATE = "issue a certificate"
    REVOKE_CERTIFICATE = "revoke a certificate"
    REINSTATE_CERTIFICATE = "reinstate a certificate"
    MANAGE_USER = "manage a user"
    CREATE_TEAM = "create a team"
    MANAGE_TEAM_MEMBERS = "manage team members"
    RECORD_COMPLIANCE = "record a compliance item"
    MANAGE_ROSTER = "manage a roster"
    VERIFY_CERTIFICATE = "verify a certificate"
    ERASE_PERSON = "erase a person's personal data"


# --- read scope -------------------------------------------------------------


# personal messages: read by the person addressed and by SA / AD, nobody else (an AP manages a location, not
# its learners' inboxes)
_ADDRESSED_ONLY = frozenset({ResourceKind.NOTIFICATION})
# a person's own rows that instructors and learners nevertheless do not read: team rosters belong to the
# provider's management (docs/access.md), rosters of external learners to the session's staff
_NOT_OWN_RECORDS = frozenset({ResourceKind.TEAM, ResourceKind.ROSTER})


def can_read(actor: Actor, resource: Resource) -> bool:
    if actor.role in ADMINS or resource.kind is ResourceKind.REFERENCE:
        return True
    if resource.kind in _ADDRESSED_ONLY:
        return resource.subject_id == actor.user_id
    if actor.role is Role.AP:
        return _ap_reads(actor, resource)
    if actor.role in LEAD_INSTRUCTORS:
        return _instructor_reads(actor, resource)
    return _trainee_reads(actor, resource)


@attrs.frozen
class Audience:
    """Whom a resource may concern, as keys to find its readers by: besides SA and AD (who read everything), no
    actor outside it may read the resource (``can_read`` is false for them); inside it, ``can_read`` decides.  A
    change feed handing one change to many subscribers looks up these few keys instead of asking every one."""

    everyone: bool
    users: frozenset[UUID]
    providers: frozenset[UUID]  # authorized providers' staff (APs) of these providers ...
    locations: frozenset[UUID]  # ... or acting at these locations

    def reaches(self, actor: Actor) -> bool:
        if self.everyone or actor.role in ADMINS or actor.user_id in self.users:
            return True
        return actor.role is Role.AP and (
            actor.provider_id in self.providers or bool(actor.location_ids & self.locations)
        )


def audience(resource: Resource) -> Audience:
    if resource.kind is ResourceKind.REFERENCE:
        return Audience(True, frozenset(), frozenset(), frozenset())
    if resource.kind in _ADDRESSED_ONLY:
        return Audience(False, _present(resource.subject_id), frozenset(), frozenset())
    users = _present(resource.subject_id, resource.created_by, resource.lead_instructor)
    return Audience(
        False,
        users | resource.instructors | resource.learners,
        _present(resource.provider_id),
        _present(resource.location_id),
    )


def _present(*ids: UUID | None) -> frozenset[UUID]:
    return frozenset(i for i in ids if i is not None)


def _ap_reads(actor: Actor, resource: Resource) -> bool:
    at_own_location = resource.location_id is not None and resource.location_id in actor.location_ids
    own_provider = resource.provider_id is not None and resource.provider_id == actor.provider_id
    return at_own_location or own_provider or resource.created_by == actor.user_id


def _instructor_reads(actor: Actor, resource: Resource) -> bool:
    teaches = actor.user_id in resource.instructors
    under_session = resource.kind in (
        ResourceKind.SESSION,
        ResourceKind.ENROLLMENT,
        ResourceKind.CERTIFICATE,
        ResourceKind.ROSTER,
    )
    attends = resource.kind is ResourceKind.SESSION and actor.user_id in resource.learners
    own = resource.subject_id == actor.user_id and resource.kind is not ResourceKind.TEAM
    return (teaches and under_session) or attends or own


def _trainee_reads(actor: Actor, resource: Resource) -> bool:
    if resource.kind is ResourceKind.SESSION:
        return actor.user_id in resource.learners or actor.user_id in resource.instructors
    return resource.subject_id == actor.user_id and resource.kind not in _NOT_OWN_RECORDS


# --- write rules ------------------------------------------------------------


def may_run_upkeep(actor: Actor | None, what: str) -> Result[None, DomainError]:
    """Upkeep jobs (recording expiry, reminders, e-mail) run as the system (``None``) or by SA / AD."""
    if actor is None or actor.role in ADMINS:
        return Success(None)
    return Failure(Forbidden(what, "only SA and AD run certificate upkeep"))


Decision = Result[None, DomainError]
_ALLOWED: Decision = Success(None)


def may_act(user_active: bool, provider_status: str | None) -> Decision:
    """Whether a user may act or read at all: their profile is active, and they belong to no provider or to an
    active one (docs/access.md, "Who may act at all").  The database holds the same rule in ``arccm_uid()``."""
    if not user_active:
        return Failure(Forbidden("act as this user", "the user is inactive"))
    if provider_status is not None and provider_status != "active":
        return Failure(Forbidden("act as this user", f"the user's provider is {provider_status}"))
    return _ALLOWED


def may(actor: Actor, action: Action, target: Resource) -> Decision:
    """Answer whether ``actor`` may do ``action`` to ``target``, with a reason when not."""
    rule = _RULES[action]
    reason = rule(actor, target)
    if reason is None:
        return _ALLOWED
    return Failure(Forbidden(action=action.value, reason=reason))


def _in_location_scope(actor: Actor, target: Resource) -> bool:
    return target.location_id is not None and target.location_id in actor.location_ids


def _admins_or_ap_in_scope(actor: Actor, target: Resource) -> str | None:
    if actor.role in ADMINS:
        return None
    if actor.role is Role.AP:
        if _in_location_scope(actor, target):
            return None
        return "an authorized provider acts only at its provider's locations"
    return f"role {actor.role.value} may not"


def _session_instructor_or_ap(actor: Actor, target: Resource) -> str | None:
    if actor.role in LEAD_INSTRUCTORS:
        if actor.user_id in target.instructors:
            return None
        return "only the session's own instructors may"
    return _admins_or_ap_in_scope(actor, target)


def _issue(actor: Actor, target: Resource) -> str | None:
    if actor.role is Role.IP:
        return "a provisional instructor (IP) may not issue certificates"
    if actor.role is Role.IC:
        if actor.user_id in target.instructors:
            return None
        return "an instructor may issue only for sessions they instructed"
    return _admins_or_ap_in_scope(actor, target)


def _admins_only(actor: Actor, target: Resource) -> str | None:
    if actor.role in ADMINS:
        return None
    return f"only SA and AD may, not {actor.role.value}"


def _manage_user(actor: Actor, target: Resource) -> str | None:
    if actor.role is Role.SA:
        return None
    if target.granted_role is not None and target.granted_role.rank >= actor.role.rank:
        return f"nobody grants a role at or above their own ({target.granted_role.value})"
    if actor.role is Role.AD:
        if target.role is Role.SA:
            return "an administrator may not manage a system administrator"
        return None
    if actor.role is Role.AP:
        if target.role not in INSTRUCTOR_ROLES:
            return "an authorized provider manages only instructors"
        if target.provider_id is None or target.provider_id != actor.provider_id:
            return "an authorized provider manages only its own provider's instructors"
        return None
    return f"role {actor.role.value} may not manage users"


def _own_provider(actor: Actor, target: Resource) -> str | None:
    if actor.role in ADMINS:
        return None
    if actor.role is Role.AP:
        if target.provider_id is not None and target.provider_id == actor.provider_id:
            return None
        return "an authorized provider acts only within its own provider"
    return f"role {actor.role.value} may not"


def _anyone(actor: Actor, target: Resource) -> str | None:
    return None


_RULES = {
    Action.SCHEDULE_SESSION: _admins_or_ap_in_scope,
    Action.CHANGE_SESSION: _admins_or_ap_in_scope,
    Action.CANCEL_SESSION: _admins_or_ap_in_scope,
    Action.ENROLL: _admins_or_ap_in_scope,
    Action.CANCEL_ENROLLMENT: _admins_or_ap_in_scope,
    Action.RECORD_ATTENDANCE: _session_instructor_or_ap,
    Action.RECORD_ASSESSMENT: _session_instructor_or_ap,
    Action.ISSUE_CERTIFICATE: _issue,
    Action.REVOKE_CERTIFICATE: _admins_or_ap_in_scope,
    Action.REINSTATE_CERTIFICATE: _admins_only,
    Action.MANAGE_USER: _manage_user,
    Action.CREATE_TEAM: _admins_only,
    Action.MANAGE_TEAM_MEMBERS: _own_provider,
    Action.RECORD_COMPLIANCE: _manage_user,
    Action.MANAGE_ROSTER: _admins_or_ap_in_scope,
    Action.VERIFY_CERTIFICATE: _anyone,
    Action.ERASE_PERSON: _admins_only,
}
