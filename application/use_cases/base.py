"""What every use case shares: a unit of work per call, the clock, the id and code sources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import attrs
from returns.result import Failure, Result, Success

from arccm.application.ports.audit import AuditTrail
from arccm.application.ports.clock import Clock
from arccm.application.ports.codes import CodeSource
from arccm.application.ports.identifiers import IdSource
from arccm.application.ports.unit_of_work import (
    ActorNotPermitted,
    InvariantConflict,
    OutOfScope,
    Retryable,
    UnitOfWork,
    UnitOfWorkFactory,
)
from arccm.application.validation import argument_checks
from arccm.domain.access import Actor
from arccm.domain.errors import Conflict, DomainError, Forbidden, NotFound

T = TypeVar("T")
C = TypeVar("C")
Outcome = Result[T, DomainError]


@attrs.frozen
class Context:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdSource
    codes: CodeSource
    public_url: str = "http://localhost:8000"
    audit: AuditTrail | None = None

    def verify_url(self, code: str) -> str:
        return f"{self.public_url.rstrip('/')}/verify/{code}"


def found(value: T | None, kind: str, key: object) -> Result[T, DomainError]:
    if value is None:
        return Failure(NotFound(kind, key))
    return Success(value)


ATTEMPTS = 5


def in_transaction(
    ctx: Context, actor: Actor | None, work: Callable[[UnitOfWork], Result[T, DomainError]]
) -> Result[T, DomainError]:
    """Run ``work`` in one unit of work acting as ``actor``; commit once when it succeeds, roll back otherwise.

    A race the database settled against this unit (``Retryable``, ``InvariantConflict``) runs ``work`` again from
    the start — it re-reads, so it sees what the winner committed; a race still lost after ``ATTEMPTS`` is a
    ``Conflict`` failure, never a driver error."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with ctx.uow(actor) as uow:
                outcome = work(uow)
                if isinstance(outcome, Success):
                    uow.commit()
            if actor is not None and not isinstance(outcome, Success):
                _record_refusal(ctx, actor, outcome.failure())
            return outcome
        except Retryable as error:
            if attempt == ATTEMPTS:
                return Failure(Conflict(f"gave up after {ATTEMPTS} attempts ({error})"))
        except InvariantConflict as error:
            if attempt == ATTEMPTS:
                return Failure(Conflict(error.rule))
        except (ActorNotPermitted, OutOfScope) as error:
            if isinstance(error, OutOfScope):
                refused = Forbidden(f"act on this {error.kind}", "it is outside the actor's scope")
            else:
                refused = Forbidden("act as this user", str(error))
            if actor is not None:
                _record_refusal(ctx, actor, refused)
            return Failure(refused)
    raise AssertionError("unreachable")


def _record_refusal(ctx: Context, actor: Actor, error: DomainError) -> None:
    if isinstance(error, Forbidden) and ctx.audit is not None:
        ctx.audit.refused(actor, error.action, error.reason)


class InTransaction(Generic[C, T]):
    """A use case that runs in one unit of work.  Subclasses are attrs classes with a ``ctx`` and write ``run``;
    calling one checks the actor and the command against ``run``'s annotations (the library's edge, see
    ``application/validation.py``), then runs it in ``in_transaction``: commit once on success, roll back on
    failure, retry a lost race."""

    ctx: Context

    def __call__(self, actor: Actor, cmd: C) -> Result[T, DomainError]:
        checks = argument_checks(type(self).run)
        invalid = checks["actor"](actor, "actor") or checks["cmd"](cmd, "cmd")
        if invalid is not None:
            return Failure(invalid)
        return in_transaction(self.ctx, actor, lambda uow: self.run(uow, actor, cmd))

    def run(self, uow: UnitOfWork, actor: Actor, cmd: C) -> Result[T, DomainError]:
        raise NotImplementedError
