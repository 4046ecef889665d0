"""Property tests for the pure rules: completion, expiry, certificate lifecycle, compliance."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from arccm.domain.access import Role
from arccm.domain.certificate import (
    Certificate,
    CertificateStatus,
    CompletionKind,
    CompletionRef,
    Recipient,
    add_months,
    keep_one_current,
    mask_name,
    names_match,
)
from arccm.domain.compliance import (
    ComplianceMetric,
    ComplianceRecord,
    ComplianceStatus,
    RecordStatus,
    Tier,
    standing,
)
from arccm.domain.course import AssessmentRule
from arccm.domain.enrollment import Attendance, Completion, evaluate_completion
from arccm.domain.errors import (
    AlreadyRevoked,
    AlreadySuperseded,
    CompletionAlreadyCertified,
    DomainError,
    InvalidValue,
    NotRevoked,
)
from arccm.domain.events import CertificateIssued
from arccm.domain.verification_code import encode

scores = st.decimals(min_value=0, max_value=100, places=1)
weights = st.integers(min_value=0, max_value=100).map(lambda w: Decimal(w) / 100)
rules = st.builds(
    lambda w, threshold, both: AssessmentRule(w, 1 - w, threshold, both),
    weights,
    st.decimals(min_value=0, max_value=100, places=0),
    st.booleans(),
)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


# --- completion rule ----------------------------------------------------------


@given(rules, scores, scores)
def test_completion_follows_the_weighted_rule(rule: AssessmentRule, practical: Decimal, written: Decimal) -> None:
    total = practical * rule.practical_weight + written * rule.written_weight
    each = practical >= rule.pass_threshold and written >= rule.pass_threshold
    expected = total >= rule.pass_threshold and (each or not rule.requires_both_scores)
    outcome = evaluate_completion(Attendance.ATTENDED, practical, written, rule)
    assert (outcome.completion is Completion.COMPLETED) == expected
    assert (outcome.reason is None) == expected


@given(rules, scores, scores, st.sampled_from([Attendance.REGISTERED, Attendance.PARTIAL, Attendance.ABSENT]))
def test_nobody_completes_without_attending(
    rule: AssessmentRule, practical: Decimal, written: Decimal, attendance: Attendance
) -> None:
    assert evaluate_completion(attendance, practical, written, rule).completion is Completion.FAILED


@given(rules, scores, scores, scores)
def test_a_better_score_never_turns_a_pass_into_a_fail(
    rule: AssessmentRule, practical: Decimal, written: Decimal, bonus: Decimal
) -> None:
    if rule.passes(practical, written):
        assert rule.passes(min(practical + bonus, Decimal(100)), written)
        assert rule.passes(practical, min(written + bonus, Decimal(100)))


@given(scores, scores)
def test_requires_both_scores_makes_each_part_count(practical: Decimal, written: Decimal) -> None:
    strict = AssessmentRule(Decimal("0.5"), Decimal("0.5"), Decimal(75), True)
    lenient = AssessmentRule(Decimal("0.5"), Decimal("0.5"), Decimal(75), False)
    if strict.passes(practical, written):
        assert lenient.passes(practical, written)
    if min(practical, written) < 75:
        assert not strict.passes(practical, written)


def test_rule_construction_names_the_field_and_the_rule() -> None:
    assert AssessmentRule.create(Decimal("0.7"), Decimal("0.7"), Decimal(80), True) == Failure(
        InvalidValue("written_weight", "weights must add up to 1")
    )
    assert AssessmentRule.create(Decimal("0.5"), Decimal("0.5"), Decimal(101), True) == Failure(
        InvalidValue("pass_threshold", "must be between 0 and 100")
    )
    assert isinstance(AssessmentRule.create(Decimal("0.6"), Decimal("0.4"), Decimal(80), True), Success)


# --- expiry and certificate lifecycle ---------------------------------------------


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(min_value=1, max_value=120))
def test_expiry_is_calendar_months_later_clamped_to_month_end(start: date, months: int) -> None:
    expiry = add_months(start, months)
    assert (expiry.year - start.year) * 12 + expiry.month - start.month == months
    assert expiry.day == start.day or (expiry.day < start.day and (expiry + timedelta(days=1)).day == 1)


def _certificate(issue: date, months: int) -> Certificate:
    return Certificate(
        id=uuid.uuid4(),
        code=encode(42),
        completion=CompletionRef(CompletionKind.SESSION_ENROLLMENT, uuid.uuid4()),
        recipient=Recipient("Jane Doe", user_id=uuid.uuid4()),
        course_id=uuid.uuid4(),
        course_name="CPR",
        location_id=uuid.uuid4(),
        issued_by=uuid.uuid4(),
        issue_date=issue,
        expiry_date=add_months(issue, months),
    )


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)), st.integers(1, 60), st.integers(-400, 4000))
def test_status_is_derived_from_the_date(issue: date, months: int, offset: int) -> None:
    certificate = _certificate(issue, months)
    today = issue + timedelta(days=offset)
    expected = CertificateStatus.EXPIRED if today > certificate.expiry_date else CertificateStatus.ACTIVE
    assert certificate.status(today) is expected


def _issued(issue: date, months: int, person: uuid.UUID | None = None) -> Result[Certificate, DomainError]:
    return Certificate.issue(
        id=uuid.uuid4(),
        code=encode(42),
        completion=CompletionRef(CompletionKind.SESSION_ENROLLMENT, uuid.uuid4()),
        recipient=Recipient("Jane Doe", user_id=person or uuid.uuid4()),
        course_id=COURSE,
        course_name="CPR",
        validity_months=months,
        location_id=uuid.uuid4(),
        issued_by=uuid.uuid4(),
        issue_date=issue,
        now=NOW,
    )


COURSE = uuid.uuid4()


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)), st.integers(-3, 120))
def test_issue_computes_its_own_expiry_and_refuses_a_validity_below_one_month(issue: date, months: int) -> None:
    outcome = _issued(issue, months)
    if months < 1:
        assert outcome == Failure(InvalidValue("validity_months", "must be at least 1"))
        return
    certificate = outcome.unwrap()
    assert certificate.expiry_date == add_months(issue, months)
    assert [type(e) for e in certificate.events] == [CertificateIssued]


@given(st.lists(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), min_size=1, max_size=6))
def test_one_current_certificate_per_holder_and_course_the_newest(issue_dates: list[date]) -> None:
    person, held = uuid.uuid4(), []
    for day in issue_dates:
        certificate = _issued(day, 24, person).unwrap()
        assert isinstance(keep_one_current(certificate, held, NOW), Success)
        held.append(certificate)
        current = [c for c in held if c.is_current]
        assert len(current) == 1
        newest = max(c.issue_date for c in held)
        assert current[0].issue_date == newest
        by_id = {c.id: c for c in held}
        for older in (c for c in held if c is not current[0]):  # superseded by one at least as new
            assert by_id[older.superseded_by_id].issue_date >= older.issue_date


def test_reinstating_a_certificate_whose_completion_was_certified_again_is_refused() -> None:
    first = _issued(date(2026, 1, 1), 24).unwrap()
    first.revoke("mistake", uuid.uuid4(), NOW)
    again = _issued(date(2026, 1, 2), 24).unwrap()
    assert first.reinstate(uuid.uuid4(), NOW, live_for_completion=again) == Failure(
        CompletionAlreadyCertified(first.id, again.id)
    )
    assert first.revocation is not None
    assert isinstance(first.reinstate(uuid.uuid4(), NOW, live_for_completion=None), Success)


@given(st.lists(st.sampled_from(["revoke", "reinstate", "supersede"]), max_size=12))
def test_revocation_lifecycle_never_loses_history(steps: list[str]) -> None:
    certificate = _certificate(date(2026, 1, 1), 24)
    revoked = superseded = False
    for step in steps:
        if step == "revoke":
            outcome = certificate.revoke("fraud", uuid.uuid4(), NOW)
            assert isinstance(outcome, Success) != revoked
            if revoked:
                assert isinstance(outcome.failure(), AlreadyRevoked)
            revoked = True
        elif step == "reinstate":
            outcome = certificate.reinstate(uuid.uuid4(), NOW)
            assert isinstance(outcome, Success) == revoked
            if not revoked:
                assert isinstance(outcome.failure(), NotRevoked)
            revoked = False
        else:
            outcome = certificate.supersede(uuid.uuid4(), NOW)
            assert isinstance(outcome, Success) != superseded
            if superseded:
                assert isinstance(outcome.failure(), AlreadySuperseded)
            superseded = True
        status = certificate.status(date(2026, 6, 1))
        if revoked:
            assert status is CertificateStatus.REVOKED
        elif superseded:
            assert status is CertificateStatus.SUPERSEDED
        else:
            assert status is CertificateStatus.ACTIVE


def test_a_blank_revocation_reason_is_refused() -> None:
    assert _certificate(date(2026, 1, 1), 12).revoke("  ", uuid.uuid4(), NOW) == Failure(
        InvalidValue("reason", "must not be blank")
    )


@given(st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12), st.text(min_size=0, max_size=20))
def test_masking_never_reveals_more_than_initials(first: str, rest: str) -> None:
    name = f"{first} {rest}".strip()
    masked = mask_name(name)
    assert masked.endswith("***")
    assert len(masked.replace("*", "").replace(".", "").replace(" ", "")) <= 2
    if name.upper().casefold() == name.casefold():
        assert names_match(name.upper(), name)
    # the same name typed decomposed (macOS keyboards), composed, or with other spacing
    for typed in (unicodedata.normalize("NFD", name), unicodedata.normalize("NFC", name), f"  {name}\t"):
        assert names_match(typed, name)
    assert not names_match(name + "x", name)


def test_a_name_typed_in_decomposed_form_is_the_same_name() -> None:
    composed = "Zoë Núñez"
    assert unicodedata.normalize("NFD", composed) != composed
    assert names_match(unicodedata.normalize("NFD", composed), composed)
    assert names_match("ZOË  NÚÑEZ", unicodedata.normalize("NFD", composed))
    assert not names_match("Zoe Nunez", composed)


# --- compliance ---------------------------------------------------------------------

metric_ids = [uuid.UUID(int=i + 1) for i in range(6)]
metrics = st.lists(
    st.builds(
        ComplianceMetric,
        id=st.sampled_from(metric_ids),
        name=st.just("m"),
        weight=st.integers(1, 5),
        roles=st.frozensets(st.sampled_from(list(Role)), max_size=3),
        required_for_basic=st.booleans(),
        required_for_robust=st.booleans(),
    ),
    max_size=6,
    unique_by=lambda m: m.id,
)
USER = uuid.UUID(int=99)
records = st.lists(
    st.builds(
        ComplianceRecord,
        user_id=st.just(USER),
        metric_id=st.sampled_from(metric_ids),
        status=st.sampled_from(list(RecordStatus)),
        recorded_on=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 6, 1)),
        expires_on=st.none() | st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 1, 1)),
    ),
    max_size=10,
)
TODAY = date(2026, 6, 1)


@given(st.sampled_from(list(Role)), records, metrics, st.randoms())
def test_standing_is_a_pure_function_independent_of_order(role, recs, mets, rnd) -> None:  # type: ignore[no-untyped-def]
    first = standing(role, recs, mets, TODAY)
    shuffled_records, shuffled_metrics = list(recs), list(mets)
    rnd.shuffle(shuffled_records)
    rnd.shuffle(shuffled_metrics)
    assert standing(role, shuffled_records, shuffled_metrics, TODAY) == first
    assert 0 <= first.score <= 100


@given(st.sampled_from(list(Role)), records, metrics)
def test_tier_and_status_agree_with_the_metrics(role, recs, mets) -> None:  # type: ignore[no-untyped-def]
    result = standing(role, recs, mets, TODAY)
    applicable = [m for m in mets if not m.roles or role in m.roles]
    latest = {}
    for r in sorted(recs, key=lambda r: (r.recorded_on, r.expires_on or date.max, r.status.value)):
        latest[r.metric_id] = r
    met = {m.id for m in applicable if m.id in latest and latest[m.id].meets(TODAY)}
    basic_ok = all(m.id in met for m in applicable if m.required_for_basic)
    assert (result.status is ComplianceStatus.NON_COMPLIANT) == (not basic_ok)
    assert (result.tier is Tier.ROBUST) == all(m.id in met for m in applicable)
    assert (result.score == 100) == (sum(m.weight for m in applicable if m.id not in met) == 0)


@given(st.sampled_from(list(Role)), records, metrics, st.sampled_from(metric_ids))
def test_a_fresh_compliant_record_never_lowers_the_score(role, recs, mets, metric_id) -> None:  # type: ignore[no-untyped-def]
    before = standing(role, recs, mets, TODAY)
    newest = ComplianceRecord(USER, metric_id, RecordStatus.COMPLIANT, TODAY + timedelta(days=1), None)
    after = standing(role, [*recs, newest], mets, TODAY)
    assert after.score >= before.score


@given(st.sampled_from(list(Role)), metrics)
def test_expired_records_do_not_count(role, mets) -> None:  # type: ignore[no-untyped-def]
    assume(any(not m.roles or role in m.roles for m in mets))
    expired = [ComplianceRecord(USER, m.id, RecordStatus.COMPLIANT, date(2025, 1, 1), date(2025, 12, 31)) for m in mets]
    assert standing(role, expired, mets, TODAY).score == 0
