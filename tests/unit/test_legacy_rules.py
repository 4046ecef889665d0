"""The importer's domain rules (domain/legacy.py): text dates, values, capacities — properties, not examples."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from arccm.adapters.legacy.run import ImportRefused, read_mapping
from arccm.domain.legacy import (
    DEFAULT_VALUES,
    EXCEL_EPOCH,
    MONTHS,
    code_shape,
    email_key,
    import_capacity,
    legacy_code,
    map_value,
    read_date,
)

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
zones = st.sampled_from([ZoneInfo(z) for z in ("UTC", "America/Toronto", "America/Vancouver", "America/St_Johns")])
NAMES = {number: name for name, number in MONTHS.items() if len(name) > 3 or name == "may"}


@given(days, zones)
def test_every_unambiguous_format_reads_back_the_same_day(day: date, zone: ZoneInfo) -> None:
    written = [
        day.isoformat(),
        f"{NAMES[day.month].title()} {day.day}, {day.year}",
        str((day - EXCEL_EPOCH).days),
    ]
    for text in written:
        assert read_date(text, zone).value == Success(day), text


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)), zones)
def test_a_utc_timestamp_is_read_on_the_locations_calendar(instant: datetime, zone: ZoneInfo) -> None:
    text = instant.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert read_date(text, zone).value == Success(instant.replace(microsecond=0).astimezone(zone).date())


@given(days)
def test_a_slash_date_is_never_guessed(day: date) -> None:
    text = f"{day.month:02d}/{day.day:02d}/{day.year}"
    other = date(day.year, day.day, day.month) if day.day <= 12 else None
    if other is None or other == day:  # only one reading exists
        assert read_date(text, ZoneInfo("UTC")).value == Success(day)
        return
    alone = read_date(text, ZoneInfo("UTC")).value
    assert isinstance(alone, Failure)
    assert alone.failure().reason == "date_ambiguous"
    assert read_date(text, ZoneInfo("UTC"), [day]).value == Success(day)
    assert read_date(text, ZoneInfo("UTC"), [other]).value == Success(other)
    assert isinstance(read_date(text, ZoneInfo("UTC"), [day, other]).value, Failure)  # both confirmed: still open
    assert isinstance(read_date(text, ZoneInfo("UTC"), [day + timedelta(days=400)]).value, Failure)


@given(st.text(max_size=12))
def test_text_that_is_no_date_is_a_failure_with_a_reason(text: str) -> None:
    reading = read_date(text, ZoneInfo("UTC"))
    if isinstance(reading.value, Failure):
        assert reading.value.failure().reason in ("date_missing", "date_unparseable", "date_ambiguous")
    else:
        assert date(1950, 1, 1) <= reading.value.unwrap() <= date(2200, 12, 31)


@given(st.one_of(st.none(), st.integers(-5, 60)), st.integers(0, 80), st.one_of(st.none(), st.integers(-1, 40)))
def test_an_imported_session_holds_every_learner_and_raises_only_when_overbooked(
    legacy: int | None, enrolled: int, fallback: int | None
) -> None:
    capacity = import_capacity(legacy, enrolled, fallback)
    assert capacity.seats >= max(enrolled, 1)
    if legacy is not None and legacy >= 1:
        assert capacity.seats == max(legacy, enrolled)
        assert (capacity.reason == "capacity_raised") == (enrolled > legacy)


@given(st.sampled_from(sorted(DEFAULT_VALUES)), st.data())
def test_values_map_whatever_their_case_and_spacing(field: str, data: st.DataObject) -> None:
    legacy = data.draw(st.sampled_from(sorted(DEFAULT_VALUES[field])))
    typed = data.draw(st.sampled_from([legacy.upper(), legacy.title(), f"  {legacy} "]))
    assert map_value(field, typed) == DEFAULT_VALUES[field][legacy]
    assert map_value(field, typed, {legacy.upper(): next(iter(DEFAULT_VALUES[field].values()))}) == next(
        iter(DEFAULT_VALUES[field].values())
    )


@given(st.from_regex(r"[A-Z]{3}[0-9]{5}[A-Z]{2}", fullmatch=True), st.from_regex(r"[A-Z0-9]{8}", fullmatch=True))
def test_legacy_codes_are_looked_up_as_typed_upper_cased(ten: str, eight: str) -> None:
    assert legacy_code(f" {ten.lower()} ") == ten
    assert code_shape(ten) == "ten"
    assert code_shape(eight) == "eight"
    assert legacy_code("O0-IL") is None  # no look-alike mapping, no separators


@given(st.emails())
def test_email_keys_ignore_case_and_surrounding_space(address: str) -> None:
    assert email_key(f"  {address.upper()} ") == email_key(address) == address.strip().casefold()


def test_the_mapping_file_in_docs_import_md_is_accepted_and_a_wrong_one_names_its_key(tmp_path: Path) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", page, flags=re.DOTALL)
    path = tmp_path / "mapping.toml"
    path.write_text(block)
    mapping = read_mapping(path)
    assert mapping.values["session_status"]["ACTIVE"] == "in_progress"
    assert mapping.time_zones["Iqaluit Centre"] == "America/Iqaluit"
    path.write_text('[values.attendance]\nlate = "on time"\n')
    with pytest.raises(ImportRefused, match=r"\[values.attendance\] 'late' = 'on time': must be one of"):
        read_mapping(path)
    path.write_text('[time_zones]\nX = "Mars/Olympus"\n')
    with pytest.raises(ImportRefused, match=r"\[time_zones\] 'X'"):
        read_mapping(path)
