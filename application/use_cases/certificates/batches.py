"""Batch issuance: every completed learner under a session or roster, chunk by chunk, resumable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, found, in_transaction
from arccm.application.use_cases.certificates.eligibility import Candidates, Eligible, Ineligible, candidates
from arccm.application.use_cases.certificates.issuing import Issued, issue_many
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.batch import CertificateBatch
from arccm.domain.errors import DomainError, InvalidValue
from arccm.domain.text import clean_text

Progress = Callable[["BatchProgress"], None]


@attrs.frozen
class BatchProgress:
    done: int
    total: int
    issued: int
    batch_id: UUID | None = None  # the batch being run: reported first (done 0), so an interrupted run can resume


@attrs.frozen
class Candidate:
    completion_id: UUID
    person_id: UUID | None
    name: str


@attrs.frozen
class BatchReport:
    """What a batch did — or, for a preview, would do."""

    batch_id: UUID | None
    total: int
    issued: int
    already_issued: int
    would_issue: tuple[Candidate, ...]
    not_eligible: tuple[Ineligible, ...]
    certificate_ids: tuple[UUID, ...]
    preview: bool = False


def _preview(listed: Candidates) -> BatchReport:
    would = tuple(Candidate(e.ref.id, e.recipient.person_id, e.recipient.name) for e in listed.eligible)
    total = len(listed.eligible) + len(listed.ineligible)
    return BatchReport(None, total, 0, 0, would, tuple(listed.ineligible), (), preview=True)


@attrs.frozen
class BatchIssueCertificatesHandler:
    """Certify every completed learner under a session or roster, chunk by chunk.

    The batch is recorded first (``rosters``: name, course, location, issue date,
    progress); each chunk then commits on its own, together with the batch's
    progress. Because issuing is idempotent per completion, running the batch
    again after a crash — by its id, or simply for the same session or roster,
    which finds the unfinished batch — finishes it: completions already certified
    are skipped, none is certified twice, none is missed. Callers that start a
    batch for the same source at the same moment share one batch record.
    ``preview`` writes nothing, holds nothing, and lists who would and would not
    get a certificate, and why.
    """

    ctx: Context

    @boundary
    def __call__(
        self, actor: Actor, cmd: commands.BatchIssueCertificates, on_progress: Progress | None = None
    ) -> Result[BatchReport, DomainError]:
        if cmd.name is not None:
            name = clean_text("name", cmd.name)
            if isinstance(name, Failure):
                return Failure(name.failure())
            cmd = attrs.evolve(cmd, name=name.unwrap())
        listed = in_transaction(self.ctx, actor, lambda uow: candidates(uow, cmd.kind, cmd.parent_id))
        if isinstance(listed, Failure):
            return Failure(listed.failure())
        found_ = listed.unwrap()
        allowed = may(
            actor, Action.ISSUE_CERTIFICATE, found_.eligible[0].scope if found_.eligible else found_.source.resource()
        )
        if isinstance(allowed, Failure):
            return Failure(allowed.failure())
        if cmd.preview:
            return Success(_preview(found_))
        batch = in_transaction(self.ctx, actor, lambda uow: self._open(uow, actor, cmd, found_))
        if isinstance(batch, Failure):
            return Failure(batch.failure())
        return self._run(actor, batch.unwrap(), found_, on_progress, cmd.chunk_size)

    def _open(
        self, uow: UnitOfWork, actor: Actor, cmd: commands.BatchIssueCertificates, listed: Candidates
    ) -> Result[CertificateBatch, DomainError]:
        """The batch to run: the one named, the one already running for this source, or a new one."""
        if cmd.batch_id:
            named = uow.batches.get_for_update(cmd.batch_id)
            if named is None:
                return found(None, "certificate batch", cmd.batch_id)
            if (named.source_kind, named.source_id) != (cmd.kind, cmd.parent_id):
                return Failure(InvalidValue("batch_id", "belongs to another session or roster"))
            named.resume(len(listed.eligible), len(listed.ineligible))
            return Success(named)
        running = uow.batches.running_for_update(cmd.kind, cmd.parent_id)
        if running is not None:
            running.resume(len(listed.eligible), len(listed.ineligible))
            return Success(running)
        issue_date = cmd.issue_date or self.ctx.clock.now().date()
        batch = CertificateBatch(
            id=self.ctx.ids.new_id(),
            name=cmd.name or f"{listed.course.name} {issue_date.isoformat()}",
            source_kind=cmd.kind,
            source_id=cmd.parent_id,
            course_id=listed.course.id,
            location_id=listed.source.location_id,
            issue_date=issue_date,
            created_by=actor.user_id,
            provider_id=listed.source.provider_id,
        )
        batch.start(len(listed.eligible), len(listed.ineligible), self.ctx.clock.now())
        uow.batches.add(batch)
        return Success(batch)

    def _run(
        self, actor: Actor, batch: CertificateBatch, listed: Candidates, on_progress: Progress | None, chunk_size: int
    ) -> Result[BatchReport, DomainError]:
        issued = already = 0
        ids: list[UUID] = []
        eligible = listed.eligible
        if on_progress is not None:
            on_progress(BatchProgress(0, len(eligible), 0, batch.id))
        for start in range(0, len(eligible), chunk_size):
            chunk = eligible[start : start + chunk_size]
            work = partial(self._chunk, actor=actor, chunk=chunk, batch_id=batch.id, done=start + len(chunk))
            outcome = in_transaction(self.ctx, actor, work)
            if isinstance(outcome, Failure):
                return Failure(outcome.failure())
            for one in outcome.unwrap():
                ids.append(one.certificate.id)
                issued, already = issued + one.new, already + (not one.new)
            if on_progress is not None:
                on_progress(BatchProgress(start + len(chunk), len(eligible), issued, batch.id))
        finished = in_transaction(self.ctx, actor, lambda uow: self._finish(uow, batch.id, len(ids)))
        if isinstance(finished, Failure):
            return Failure(finished.failure())
        total = len(eligible) + len(listed.ineligible)
        return Success(BatchReport(batch.id, total, issued, already, (), tuple(listed.ineligible), tuple(ids)))

    def _chunk(
        self, uow: UnitOfWork, actor: Actor, chunk: list[Eligible], batch_id: UUID, done: int
    ) -> Result[list[Issued], DomainError]:
        return Result.do(
            _progressed(record, done, issued)
            for record in found(uow.batches.get_for_update(batch_id), "certificate batch", batch_id)
            for issued in issue_many(self.ctx, uow, actor, chunk, record.issue_date, record.id)
        )

    def _finish(self, uow: UnitOfWork, batch_id: UUID, certificates: int) -> Result[CertificateBatch, DomainError]:
        return found(uow.batches.get_for_update(batch_id), "certificate batch", batch_id).map(
            lambda b: _completed(b, certificates, self.ctx.clock.now())
        )


def _progressed(record: CertificateBatch, done: int, issued: list[Issued]) -> list[Issued]:
    record.progress(done, sum(1 for one in issued if one.new))
    return issued


def _completed(batch: CertificateBatch, certificates: int, now: datetime) -> CertificateBatch:
    batch.complete(certificates, now)
    return batch


@attrs.frozen
class ResumeBatchHandler:
    """Finish an interrupted batch with the same source and issue date."""

    batches: BatchIssueCertificatesHandler

    @boundary
    def __call__(
        self, actor: Actor, batch_id: UUID, on_progress: Progress | None = None
    ) -> Result[BatchReport, DomainError]:
        held = in_transaction(
            self.batches.ctx,
            actor,
            lambda uow: found(uow.batches.get_for_update(batch_id), "certificate batch", batch_id),
        )
        if isinstance(held, Failure):
            return Failure(held.failure())
        batch = held.unwrap()
        command = commands.BatchIssueCertificates(
            batch.source_kind, batch.source_id, issue_date=batch.issue_date, batch_id=batch.id, name=batch.name
        )
        return self.batches(actor, command, on_progress)
