"""Course templates and the assessment rule that decides a pass."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.errors import InvalidValue

HUNDRED = Decimal(100)


@attrs.frozen
class AssessmentRule:
    """total = practical × practical_weight + written × written_weight ≥ pass_threshold.

    Scores are on a 0–100 scale; weights are fractions that sum to 1.  When
    ``requires_both_scores`` is set, each part must also reach the threshold on
    its own, so a brilliant written exam cannot carry a failed practical.
    """

    practical_weight: Decimal = Decimal("0.5")
    written_weight: Decimal = Decimal("0.5")
    pass_threshold: Decimal = Decimal(80)
    requires_both_scores: bool = True

    @staticmethod
    def create(
        practical_weight: Decimal,
        written_weight: Decimal,
        pass_threshold: Decimal,
        requires_both_scores: bool,
    ) -> Result[AssessmentRule, InvalidValue]:
        for name, weight in (("practical_weight", practical_weight), ("written_weight", written_weight)):
            if not Decimal(0) <= weight <= 1:
                return Failure(InvalidValue(name, "must be between 0 and 1"))
        if practical_weight + written_weight != 1:
            return Failure(InvalidValue("written_weight", "weights must add up to 1"))
        if not Decimal(0) <= pass_threshold <= HUNDRED:
            return Failure(InvalidValue("pass_threshold", "must be between 0 and 100"))
        return Success(AssessmentRule(practical_weight, written_weight, pass_threshold, requires_both_scores))

    def total(self, practical: Decimal, written: Decimal) -> Decimal:
        return practical * self.practical_weight + written * self.written_weight

    def failure_reason(self, practical: Decimal, written: Decimal) -> str | None:
        """None when the scores pass; otherwise why they do not."""
        total = self.total(practical, written)
        threshold = plain(self.pass_threshold)
        if total < self.pass_threshold:
            return f"weighted total {total:.2f} is below the pass threshold {threshold}"
        if self.requires_both_scores:
            for part, score in (("practical", practical), ("written", written)):
                if score < self.pass_threshold:
                    return f"{part} score {plain(score)} is below the pass threshold {threshold}"
        return None

    def passes(self, practical: Decimal, written: Decimal) -> bool:
        return self.failure_reason(practical, written) is None


def plain(number: Decimal) -> str:
    """80.00 -> '80', 92.50 -> '92.5': the same text whatever precision the number was stored with."""
    return format(number.normalize(), "f")


def validate_score(field: str, score: Decimal) -> Result[Decimal, InvalidValue]:
    if not score.is_finite() or not Decimal(0) <= score <= HUNDRED:
        return Failure(InvalidValue(field, "must be a number from 0 to 100"))
    return Success(score)


@attrs.frozen
class Course:
    """A course template (``course_templates``)."""

    id: UUID
    name: str
    code: str
    validity_months: int = 24
    required_specialties: frozenset[str] = frozenset()
    rule: AssessmentRule = AssessmentRule()
    max_students: int | None = None
