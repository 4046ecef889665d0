"""How the replaced system's values read in arccm's terms: the rules of ``arccm import legacy`` (docs/import.md).

Pure: text dates in the five formats the replaced code wrote, status synonyms, e-mail and name matching keys,
time zones from a province, legacy verification codes, the capacity an overbooked session gets.  Each rule says
what it could not decide instead of guessing — an ambiguous ``03/04/2025`` that no other date on the row settles
is a failure with its reason, and the row goes to quarantine (legacy_schema.md, "Corrections").
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.access import Role

# the namespace of every id the importer derives from a source row's: the same row gets the same arccm id in
# every run, which is what makes a rerun after a crash write nothing twice
NAMESPACE = uuid.UUID("5d1c6f7e-4c8a-4d55-9a8e-0c9a7b7f3e21")


def derived_id(source_table: str, source_id: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{source_table}:{source_id}")


# who issued a certificate the replaced system recorded no issuer for, and who revoked one it recorded as revoked:
# one inactive profile (it can never act or read), named for what it is
REPLACED_SYSTEM_ID = derived_id("arccm", "replaced-system")
REPLACED_SYSTEM_NAME = "Replaced system (imported)"

# --------------------------------------------------------------------------------------------- codes and keys

_LEGACY_CODE = re.compile(r"[A-Z0-9]{4,32}")
TEN = re.compile(r"[A-Z]{3}[0-9]{5}[A-Z]{2}")
EIGHT = re.compile(r"[A-Z0-9]{8}")


def legacy_code(typed: str) -> str | None:
    """A typed code as the replaced system stored it: trimmed and upper-cased, nothing else (Crockford's look-alike
    mapping would turn a legacy ``O`` into ``0``).  None when it cannot be one."""
    code = typed.strip().upper()
    return code if _LEGACY_CODE.fullmatch(code) else None


def code_shape(code: str) -> str:
    """``ten`` (``[A-Z]{3}[0-9]{5}[A-Z]{2}``), ``eight`` (``[A-Z0-9]{8}``) or ``other``."""
    if TEN.fullmatch(code):
        return "ten"
    return "eight" if EIGHT.fullmatch(code) else "other"


def email_key(raw: object) -> str | None:
    """The key people are matched by: NFC, trimmed, case-folded; None for a blank or an address without ``@``."""
    if not isinstance(raw, str):
        return None
    key = unicodedata.normalize("NFC", raw).strip().casefold()
    return key if "@" in key.strip("@") and not any(ch.isspace() for ch in key) else None


def name_key(raw: object) -> str:
    """The key courses are matched by: NFC, case-folded, runs of white space as one space, trimmed."""
    if not isinstance(raw, str):
        return ""
    return " ".join(unicodedata.normalize("NFC", raw).casefold().split())


def clean_name(raw: object) -> str:
    """A person's or a thing's name as shown: NFC, runs of white space as one, trimmed ('' when there is none)."""
    if not isinstance(raw, str):
        return ""
    return " ".join(unicodedata.normalize("NFC", raw).split())


# --------------------------------------------------------------------------------------------- dates

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})")
_LONG = re.compile(r"([A-Za-z]+)\.? (\d{1,2}), (\d{4})")
_SLASH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_SERIAL = re.compile(r"\d{5}")
EXCEL_EPOCH = date(1899, 12, 30)
EARLIEST, LATEST = date(1950, 1, 1), date(2200, 12, 31)


@attrs.frozen
class DateProblem:
    """Why a text date was not read: ``date_missing``, ``date_unparseable`` or ``date_ambiguous``."""

    reason: str
    text: str


@attrs.frozen
class DateReading:
    """How a text date was written (``iso_date``, ``iso_timestamp_utc``, ``month_d_yyyy``, ``slash_unambiguous``,
    ``slash_ambiguous``, ``excel_serial``, ``empty``, ``unparseable``) and what it says."""

    kind: str
    value: Result[date, DateProblem]


def _plausible(year: int, month: int, day: int) -> date | None:
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found if EARLIEST <= found <= LATEST else None


def read_date(raw: object, zone: ZoneInfo, confirming: Iterable[date] = ()) -> DateReading:
    """A legacy text date.  A UTC timestamp (``new Date().toISOString()``) is read on the location's calendar:
    ``2025-04-03T02:30:00.000Z`` is 2 April in Toronto — the instant is converted, its UTC date never taken.
    ``03/04/2025`` is read both ways; it is settled only when exactly one reading is among ``confirming``
    (another date on the row that says the same day, e.g. when the record was made), and is otherwise
    ``date_ambiguous`` — never guessed."""
    text = raw.strip() if isinstance(raw, str) else ("" if raw is None else str(raw).strip())
    if not text:
        return DateReading("empty", Failure(DateProblem("date_missing", text)))
    unreadable = Failure(DateProblem("date_unparseable", text))
    if m := _ISO_DATE.fullmatch(text):
        found = _plausible(int(m[1]), int(m[2]), int(m[3]))
        return DateReading("iso_date", Success(found) if found else unreadable)
    if m := _ISO_INSTANT.fullmatch(text):
        try:
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return DateReading("iso_timestamp_utc", unreadable)
        local = instant.astimezone(zone).date()
        ok = _plausible(local.year, local.month, local.day)
        return DateReading("iso_timestamp_utc", Success(local) if ok else unreadable)
    if m := _LONG.fullmatch(text):
        month = MONTHS.get(m[1].casefold())
        found = _plausible(int(m[3]), month, int(m[2])) if month else None
        return DateReading("month_d_yyyy", Success(found) if found else unreadable)
    if m := _SLASH.fullmatch(text):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        readings = {d for d in (_plausible(year, first, second), _plausible(year, second, first)) if d is not None}
        if not readings:
            return DateReading("slash_unambiguous" if max(first, second) > 12 else "slash_ambiguous", unreadable)
        if max(first, second) > 12 or first == second:
            return DateReading("slash_unambiguous", Success(next(iter(readings))))
        settled = readings & set(confirming)
        if len(settled) == 1:
            return DateReading("slash_ambiguous", Success(next(iter(settled))))
        return DateReading("slash_ambiguous", Failure(DateProblem("date_ambiguous", text)))
    if _SERIAL.fullmatch(text):
        found = EXCEL_EPOCH + timedelta(days=int(text))
        return DateReading("excel_serial", Success(found) if EARLIEST <= found <= LATEST else unreadable)
    return DateReading("unparseable", unreadable)


def local_date(instant: datetime | None, zone: ZoneInfo) -> date | None:
    if instant is None:
        return None
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(zone).date()


# --------------------------------------------------------------------------------------------- statuses

# Synonyms that mean one thing.  A value that could mean two (a session "ACTIVE": under way, or open for booking?
# an attendance "late": attended, or partial? a team "ADMIN") is left out on purpose: the dry run lists it with
# its count and the mapping file says what it means for this organization.
DEFAULT_VALUES: Mapping[str, Mapping[str, str]] = {
    "session_status": {
        "scheduled": "scheduled",
        "in_progress": "in_progress",
        "in progress": "in_progress",
        "completed": "completed",
        "complete": "completed",
        "cancelled": "cancelled",
        "canceled": "cancelled",
    },
    "attendance": {
        "registered": "registered",
        "attended": "attended",
        "present": "attended",
        "partial": "partial",
        "absent": "absent",
        "no_show": "absent",
        "no-show": "absent",
    },
    "completion": {
        "not_started": "not_started",
        "in_progress": "in_progress",
        "completed": "completed",
        "complete": "completed",
        "passed": "completed",
        "failed": "failed",
    },
    "certificate_status": {"active": "active", "revoked": "revoked"},
    "team_role": {"member": "member", "lead": "lead"},
    "team_status": {"active": "active", "archived": "archived"},
    "profile_status": {"active": "active", "inactive": "inactive", "suspended": "inactive"},
    "location_status": {"active": "active", "inactive": "inactive"},
    "provider_status": {"active": "active", "approved": "active", "suspended": "suspended", "inactive": "inactive"},
    "role": {role.value.casefold(): role.value for role in Role},
}
# what each field's values may be mapped to (a mapping file naming anything else is refused before the run)
TARGETS: Mapping[str, frozenset[str]] = {field: frozenset(values.values()) for field, values in DEFAULT_VALUES.items()}


def value_key(raw: object) -> str:
    return " ".join(str(raw).split()).casefold() if raw is not None else ""


def map_value(field: str, raw: object, overrides: Mapping[str, str] | None = None) -> str | None:
    """The arccm value of a legacy one, case-insensitively: the mapping file's word first, then the synonyms;
    None when neither knows it (the row is quarantined as ``unmapped_value`` and the value listed)."""
    key = value_key(raw)
    if overrides:
        for given, target in overrides.items():
            if value_key(given) == key:
                return target
    return DEFAULT_VALUES[field].get(key)


# --------------------------------------------------------------------------------------------- places

PROVINCE_ZONES: Mapping[str, str] = {
    "on": "America/Toronto",
    "ontario": "America/Toronto",
    "qc": "America/Toronto",  # America/Montreal is a link to it
    "quebec": "America/Toronto",
    "québec": "America/Toronto",
    "ns": "America/Halifax",
    "nova scotia": "America/Halifax",
    "pe": "America/Halifax",
    "pei": "America/Halifax",
    "prince edward island": "America/Halifax",
    "nb": "America/Moncton",
    "new brunswick": "America/Moncton",
    "nl": "America/St_Johns",
    "newfoundland and labrador": "America/St_Johns",
    "mb": "America/Winnipeg",
    "manitoba": "America/Winnipeg",
    "sk": "America/Regina",
    "saskatchewan": "America/Regina",
    "ab": "America/Edmonton",
    "alberta": "America/Edmonton",
    "bc": "America/Vancouver",
    "british columbia": "America/Vancouver",
    "yt": "America/Whitehorse",
    "yukon": "America/Whitehorse",
    # NT and NU span several zones: the mapping file names the location's
}


def zone_of_region(state: object) -> str | None:
    return PROVINCE_ZONES.get(value_key(state))


# --------------------------------------------------------------------------------------------- sessions


@attrs.frozen
class Capacity:
    """The capacity an imported session gets and why: ``None`` reason when the legacy one stands."""

    seats: int
    reason: str | None


def import_capacity(legacy: int | None, enrolled: int, fallback: int | None) -> Capacity:
    """Seats counted from the enrollment rows, never from the legacy counter.  An overbooked session keeps every
    learner: its capacity is raised to the number enrolled (``capacity_raised``).  A session without a capacity
    takes the course's class size, or the number enrolled if that is larger (``capacity_from_course``), or the
    number enrolled (``capacity_from_enrolled``) when the course has none either."""
    if legacy is not None and legacy >= 1:
        return Capacity(legacy, None) if enrolled <= legacy else Capacity(enrolled, "capacity_raised")
    if fallback is not None and fallback >= 1:
        return Capacity(max(fallback, enrolled), "capacity_from_course")
    return Capacity(max(enrolled, 1), "capacity_from_enrolled")


def enrollment_problem(attendance: str, completion: str) -> str | None:
    """A completion decided for a learner whose attendance was never recorded contradicts arccm's rule (a course
    is decided by attendance and the assessment): quarantined, not repaired."""
    if completion in ("completed", "failed") and attendance == "registered":
        return "completion_without_attendance"
    return None


# --------------------------------------------------------------------------------------------- the report


@attrs.define
class TableCount:
    """One source table in the reconciliation report: every source row is imported, merged into a row another
    source row made, or quarantined with a reason — ``source == imported + merged + quarantined``.  ``notes``
    count what was done to imported rows or noticed on them, each under its own name."""

    source: int = 0
    imported: int = 0
    merged: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = attrs.field(factory=dict)
    notes: dict[str, int] = attrs.field(factory=dict)

    def add(self, outcome: str, reason: str | None = None) -> None:
        self.source += 1
        if outcome == "imported":
            self.imported += 1
        elif outcome == "merged":
            self.merged += 1
        else:
            self.quarantined += 1
            assert reason is not None
            self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def note(self, note: str, count: int = 1) -> None:
        """Something done to or noticed on an imported row (a capacity raised, a name taken from the login...)."""
        self.notes[note] = self.notes.get(note, 0) + count

    @property
    def balanced(self) -> bool:
        return self.source == self.imported + self.merged + self.quarantined and self.quarantined == sum(
            self.reasons.values()
        )
