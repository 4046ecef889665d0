"""From the replaced system's rows to arccm's: what each source row becomes, is merged into, or why it is
quarantined (docs/import.md).  Pure over the rows it is given: the same source and mapping give the same plan in
every run — the same arccm ids (``derived_id``), the same report — which is what makes a dry run tell the truth
about the real one and a rerun after a crash write nothing twice."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs
from returns.result import Failure, Success

from arccm.domain import legacy as rules
from arccm.domain.certificate import add_months
from arccm.domain.legacy import TableCount, derived_id, email_key, name_key
from arccm.domain.text import clean_text

Row = dict[str, Any]
Source = tuple[str, str, str]  # (source table, source id, "imported" | "merged")

# the source tables the report accounts for, in the order they are read
SOURCE_TABLES = (
    "locations",
    "authorized_providers",
    "provider_location_assignments",
    "courses",
    "course_templates",
    "auth.users",
    "profiles",
    "instructor_profiles",
    "student_enrollment_profiles",
    "training_sessions",
    "session_enrollments",
    "rosters",
    "certificates",
    "teams",
    "team_members",
)
# tables of the replaced system that hold business data this importer does not bring across (docs/import.md);
# public.users is not among them: it holds passwords, and is never read, not even counted
NOT_IMPORTED = (
    "certificate_requests",
    "student_rosters",
    "student_roster_members",
    "course_schedules",
    "course_enrollments",
    "availability_bookings",
    "notifications",
    "user_compliance_records",
)
# arccm's tables in the order they are written (each after those it refers to)
STEPS = (
    "locations",
    "authorized_providers",
    "provider_locations",
    "course_templates",
    "profiles",
    "instructor_profiles",
    "training_sessions",
    "session_enrollments",
    "rosters",
    "certificates",
    "teams",
    "team_members",
)


@attrs.frozen
class Mapping_:
    """What the organization says that the data cannot: the owner of a location two providers claim, a location's
    time zone, what an ambiguous status means, which course an unknown name is (docs/import.md, "The mapping
    file").  Keys that name a row may be its legacy id or its name."""

    location_owners: Mapping[str, str] = attrs.field(factory=dict)
    time_zones: Mapping[str, str] = attrs.field(factory=dict)
    values: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    courses: Mapping[str, str] = attrs.field(factory=dict)
    course_validity: Mapping[str, int] = attrs.field(factory=dict)
    instructor_role: str = "IP"
    default_max_students: int = 12


@attrs.frozen
class Quarantined:
    source_table: str
    source_id: str
    reason: str
    detail: str
    raw: Row


@attrs.define
class Item:
    """One arccm row and the source rows it accounts for."""

    table: str
    row: Row
    sources: list[Source]


@attrs.define
class Plan:
    units: dict[str, list[list[Item]]] = attrs.field(factory=lambda: {step: [] for step in STEPS})
    quarantine: list[Quarantined] = attrs.field(factory=list)
    counts: dict[str, TableCount] = attrs.field(factory=lambda: {t: TableCount() for t in SOURCE_TABLES})
    values: dict[str, Counter[str]] = attrs.field(factory=lambda: defaultdict(Counter))
    unmapped: dict[str, Counter[str]] = attrs.field(factory=lambda: defaultdict(Counter))
    conflicts: list[str] = attrs.field(factory=list)
    duplicate_emails: list[list[str]] = attrs.field(factory=list)
    duplicate_codes: list[str] = attrs.field(factory=list)
    raised: dict[UUID, int] = attrs.field(factory=dict)  # session -> capacity raised to, after its insert
    # imported certificate -> (holder, course, issue, expiry) as the source says them after normalization
    expected: dict[UUID, tuple[str, str, date, date]] = attrs.field(factory=dict)
    # business tables of the source this importer does not read, with their row counts: nothing is left behind
    # without the report saying so
    not_imported: dict[str, int] = attrs.field(factory=dict)
    people: dict[UUID, Item] = attrs.field(factory=dict)  # every person the plan makes or merges into, by id

    def report(self) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            name: {
                "source": c.source,
                "imported": c.imported,
                "merged": c.merged,
                "quarantined": c.quarantined,
                "reasons": dict(sorted(c.reasons.items())),
                "notes": dict(sorted(c.notes.items())),
            }
            for name, c in self.counts.items()
        }
        totals = {k: sum(int(t[k]) for t in tables.values()) for k in ("source", "imported", "merged", "quarantined")}
        return {
            "tables": tables,
            "totals": totals,
            "balanced": all(bool(c.balanced) for c in self.counts.values()),
            "values": {f: dict(sorted(v.items())) for f, v in sorted(self.values.items())},
            "unmapped": {f: dict(sorted(v.items())) for f, v in sorted(self.unmapped.items()) if v},
            "conflicts": list(self.conflicts),
            "duplicate_emails": self.duplicate_emails,
            "duplicate_legacy_codes": sorted(self.duplicate_codes),
            "not_imported": dict(sorted(self.not_imported.items())),
            "quarantine": [
                {"table": q.source_table, "id": q.source_id, "reason": q.reason, "detail": q.detail}
                for q in self.quarantine
            ],
        }


def _jsonable(row: Row) -> Row:
    found: Row = json.loads(json.dumps(row, default=str))
    return found


class Planner:
    """Reads the source tables once, in dependency order, and decides every row."""

    def __init__(
        self,
        mapping: Mapping_,
        codes: Callable[[], str],
        now: datetime,
        existing: Mapping[str, tuple[UUID, str, str]] | None = None,
    ) -> None:
        self.m = mapping
        # people arccm already had before any import, by e-mail key: (id, name, e-mail) — a source person with
        # that key (the only one with it) is merged into them rather than made twice (docs/import.md)
        self.existing = existing or {}
        self.new_code = codes
        self.now = now
        self.plan = Plan()
        self.locations: dict[str, tuple[UUID, ZoneInfo]] = {}  # legacy id -> (arccm id, zone)
        self.location_names: dict[str, str] = {}
        self.providers: dict[str, UUID] = {}
        self.provider_names: dict[str, str] = {}
        self.owner_of: dict[str, UUID] = {}  # legacy location id -> arccm provider id
        self.courses: dict[str, tuple[UUID, str, int, int | None]] = {}  # name key -> (id, name, validity, size)
        self.course_ids: dict[str, str] = {}  # legacy courses.id -> name key
        self.people: dict[str, UUID] = {}  # legacy profile/auth id -> arccm profile id
        self.person_rows: dict[UUID, Item] = {}
        self.by_email: dict[str, list[UUID]] = defaultdict(list)
        self.instructors: dict[str, UUID] = {}  # legacy instructor_profiles.id -> arccm profile id
        self.students: dict[str, UUID] = {}
        self.sessions: dict[str, tuple[UUID, int, int | None]] = {}
        self.batches: dict[str, Row] = {}
        self.teams: dict[str, UUID] = {}

    # ------------------------------------------------------------------ bookkeeping

    def _quarantine(self, table: str, raw: Row, reason: str, detail: str) -> None:
        self.plan.counts[table].add("quarantined", reason)
        self.plan.quarantine.append(Quarantined(table, str(raw.get("id")), reason, detail, _jsonable(raw)))

    def _seen(self, row: Row, **fields: object) -> None:
        """Count every source row's values, before any check may quarantine it: the histogram a mapping file is
        written from covers the whole table."""
        for field, raw in fields.items():
            self.plan.values[field][str(raw)] += 1
            if rules.map_value(field, raw, self.m.values.get(field)) is None:
                self.plan.unmapped[field][str(raw)] += 1

    def _has_name(self, table: str, raw: Row, name: str, why: str) -> bool:
        """A row's name is there and passes the domain's text rule; otherwise the row is quarantined."""
        if not name:
            self._quarantine(table, raw, "blank_name", why)
            return False
        return self._valid(table, raw, "name", name)

    def _valid(self, table: str, raw: Row, field: str, text: str) -> bool:
        """The domain's rule for text a person will read (no control characters, at most 200 characters): what it
        refuses is quarantined, not written."""
        checked = clean_text(field, text)
        if isinstance(checked, Failure):
            self._quarantine(table, raw, "invalid_text", checked.failure().message)
            return False
        return True

    def _value(self, field: str, raw: object, table: str, row: Row) -> str | None:
        mapped = rules.map_value(field, raw, self.m.values.get(field))
        if mapped is None:
            self._quarantine(table, row, "unmapped_value", f"{field}: {raw!r} has no arccm value; map it")
        return mapped

    def _unit(self, step: str, *items: Item) -> None:
        self.plan.units[step].append(list(items))
        for item in items:
            for table, _, outcome in item.sources:
                self.plan.counts[table].add(outcome)

    def _named(self, names: Mapping[str, str], key: object, name: object) -> str | None:
        for given, value in names.items():
            if given == str(key) or name_key(given) == name_key(name):
                return value
        return None

    # ------------------------------------------------------------------ places

    def locations_(self, rows: Iterable[Row]) -> None:
        for raw in rows:
            lid = str(raw["id"])
            self._seen(raw, location_status=raw.get("status"))
            name = rules.clean_name(raw.get("name"))
            if not self._has_name("locations", raw, name, "a location needs a name"):
                continue
            status = self._value("location_status", raw.get("status"), "locations", raw)
            if status is None:
                continue
            zone_name = self._named(self.m.time_zones, lid, name) or rules.zone_of_region(raw.get("state"))
            if zone_name is None:
                self._quarantine(
                    "locations", raw, "time_zone_unknown", f"no time zone for state {raw.get('state')!r}: map it"
                )
                continue
            target = derived_id("locations", lid)
            self.locations[lid] = (target, ZoneInfo(zone_name))
            self.location_names[lid] = name
            row = {
                "id": target,
                "name": name,
                "timezone": zone_name,
                "status": status,
                **{k: raw.get(k) for k in ("address", "city", "state", "zip", "country", "email", "phone", "website")},
                "created_at": raw.get("created_at") or self.now,
            }
            self._unit("locations", Item("locations", row, [("locations", lid, "imported")]))

    def providers_(  # noqa: PLR0912 - claims, then owners
        self, rows: Iterable[Row], assignments: Iterable[Row]
    ) -> None:
        claims: dict[str, list[tuple[str, Row | None]]] = defaultdict(list)
        for raw in rows:
            pid = str(raw["id"])
            self._seen(raw, provider_status=raw.get("status") or "active")
            name = rules.clean_name(raw.get("name") or raw.get("provider_name"))
            if not self._has_name("authorized_providers", raw, name, "a provider needs a name"):
                continue
            status = self._value("provider_status", raw.get("status") or "active", "authorized_providers", raw)
            if status is None:
                continue
            target = derived_id("authorized_providers", pid)
            self.providers[pid], self.provider_names[pid] = target, name
            row = {
                "id": target,
                "name": name,
                "status": status,
                "contact_email": raw.get("contact_email"),
                "contact_phone": raw.get("contact_phone"),
                "website": raw.get("website"),
                "created_at": raw.get("created_at") or self.now,
            }
            self._unit(
                "authorized_providers", Item("authorized_providers", row, [("authorized_providers", pid, "imported")])
            )
            for column in ("primary_location_id", "location_id"):
                if raw.get(column) is not None:
                    claims[str(raw[column])].append((pid, None))
        for raw in assignments:
            if rules.value_key(raw.get("status") or "active") != "active":
                self._quarantine(
                    "provider_location_assignments", raw, "assignment_inactive", f"status {raw.get('status')!r}"
                )
                continue
            claims[str(raw["location_id"])].append((str(raw["provider_id"]), raw))
        for lid, claimants in claims.items():
            providers = sorted({p for p, _ in claimants if p in self.providers})
            rows_ = [r for _, r in claimants if r is not None]
            if lid not in self.locations or not providers:
                for r in rows_:
                    why = "location_not_imported" if lid not in self.locations else "provider_not_imported"
                    self._quarantine("provider_location_assignments", r, why, f"location {lid}")
                continue
            owner = providers[0] if len(providers) == 1 else None
            if owner is None:
                said = self._named(self.m.location_owners, lid, self.location_names[lid])
                chosen = [
                    p
                    for p in providers
                    if said is not None and (said == p or name_key(said) == name_key(self.provider_names[p]))
                ]
                if len(chosen) != 1:
                    names = ", ".join(self.provider_names[p] for p in providers)
                    self.plan.conflicts.append(
                        f"location {self.location_names[lid]!r} ({lid}) is claimed by {len(providers)} providers"
                        f" ({names}): name its owner under [location_owners] in the mapping file"
                    )
                    for r in rows_:
                        self._quarantine("provider_location_assignments", r, "location_owner_unknown", lid)
                    continue
                owner = chosen[0]
            self.owner_of[lid] = self.providers[owner]
            owned = [r for r in rows_ if str(r["provider_id"]) == owner]
            sources: list[Source] = [("provider_location_assignments", str(r["id"]), "imported") for r in owned[:1]]
            sources += [("provider_location_assignments", str(r["id"]), "merged") for r in owned[1:]]
            pair = {"provider_id": self.providers[owner], "location_id": self.locations[lid][0]}
            self._unit("provider_locations", Item("provider_locations", pair, sources))
            for r in rows_:
                if str(r["provider_id"]) != owner:
                    self._quarantine(
                        "provider_location_assignments", r, "location_has_another_owner",
                        f"{self.location_names[lid]} belongs to {self.provider_names[owner]}",
                    )  # fmt: skip
        for lid in self.locations:
            if lid not in self.owner_of:
                self.plan.counts["locations"].note("without_provider")

    # ------------------------------------------------------------------ courses

    def courses_(self, courses: Iterable[Row], templates: Iterable[Row]) -> None:
        found: dict[str, dict[str, Any]] = {}
        for table, rows in (("courses", courses), ("course_templates", templates)):
            for raw in rows:
                key = name_key(raw.get("name"))
                if not key:
                    self._quarantine(table, raw, "blank_name", "a course needs a name")
                    continue
                if not self._valid(table, raw, "name", rules.clean_name(raw["name"])):
                    continue
                entry = found.setdefault(key, {"name": rules.clean_name(raw["name"]), "rows": []})
                entry["rows"].append((table, raw))
                if table == "courses":
                    self.course_ids[str(raw["id"])] = key
        codes: set[str] = set()
        for key, entry in found.items():
            rows = entry["rows"]
            validity = next(
                (
                    int(r["expiration_months"])
                    for t, r in rows
                    if t == "courses" and (r.get("expiration_months") or 0) >= 1
                ),
                None,
            )
            validity = self.m.course_validity.get(entry["name"], validity)
            if validity is None:
                for table, raw in rows:
                    self._quarantine(table, raw, "validity_unknown", f"{entry['name']}: map its validity in months")
                continue
            code = next((str(r["code"]).strip() for t, r in rows if t == "course_templates" and r.get("code")), "")
            code = code or "".join(w[0] for w in entry["name"].split() if w[0].isalnum()).upper() or "COURSE"
            base, n = code, 2
            while code in codes:
                code, n = f"{base}-{n}", n + 1
            codes.add(code)
            size = next(
                (int(r["max_students"]) for t, r in rows if t == "course_templates" and r.get("max_students")), None
            )
            size = size or next((int(r["capacity"]) for t, r in rows if t == "courses" and r.get("capacity")), None)
            first_table, first = rows[0]
            target = derived_id(first_table, first["id"])
            self.courses[key] = (target, entry["name"], validity, size)
            sources: list[Source] = [(first_table, str(first["id"]), "imported")]
            sources += [(t, str(r["id"]), "merged") for t, r in rows[1:]]
            row = {
                "id": target,
                "name": entry["name"],
                "code": code,
                "validity_months": validity,
                "practical_weight": 0.5,
                "written_weight": 0.5,
                "pass_threshold": 80,
                "requires_both_scores": True,
                "max_students": size,
                "is_active": True,
            }
            self._unit("course_templates", Item("course_templates", row, sources))

    def _course(self, name: object) -> tuple[UUID, str, int, int | None] | None:
        key = name_key(name)
        alias = next((v for k, v in self.m.courses.items() if name_key(k) == key), None)
        return self.courses.get(name_key(alias) if alias else key)

    # ------------------------------------------------------------------ people

    def _person(self, sources: list[Source], pid: UUID, name: str, role: str, **fields: Any) -> Item:
        """The person a source row makes — or the person arccm already had with this e-mail: then nothing is
        written for it, its sources are merged into that one, and the id to use is theirs (``item.row["id"]``)."""
        key = email_key(fields.get("email"))
        if key is not None and key in self.existing and self.existing[key][0] != pid:
            found, shown, address = self.existing[key]
            merged = Item("profiles", {"id": found, "display_name": shown, "email": address, "_existing": True},
                          [(t, i, "merged") for t, i, _ in sources])  # fmt: skip
            for table, _, _ in sources:
                self.plan.counts[table].note("merged_into_existing_person")
            self.person_rows[found] = merged
            self.by_email[key].append(found)
            return merged
        row = {
            "id": pid,
            "display_name": name,
            "role": role,
            "email": fields.get("email") or "",
            "phone": fields.get("phone") or "",
            "status": fields.get("status", "active"),
            "location_id": fields.get("location_id"),
            "provider_id": fields.get("provider_id"),
            "created_at": fields.get("created_at") or self.now,
        }
        item = Item("profiles", row, sources)
        self.person_rows[pid] = item
        key = email_key(row["email"])
        if key:
            self.by_email[key].append(pid)
        return item

    def _location(self, legacy: object) -> UUID | None:
        found = self.locations.get(str(legacy)) if legacy is not None else None
        return found[0] if found else None

    def people_(  # noqa: PLR0912,PLR0915 - each person's checks in turn
        self, users: Iterable[Row], profiles: Iterable[Row], instructors: Iterable[Row], students: Iterable[Row]
    ) -> None:
        logins = {str(u["id"]): u for u in users}
        seen_logins: set[str] = set()
        for raw in profiles:
            pid = str(raw["id"])
            self._seen(raw, role=raw.get("role"), profile_status=raw.get("status") or "active")
            login = logins.get(pid)
            name = rules.clean_name(raw.get("display_name"))
            counts = self.plan.counts["profiles"]
            if not name and login is not None:
                name = rules.clean_name(login.get("display_name"))
                if name:
                    counts.note("display_name_from_login")
            if not name:
                self._quarantine("profiles", raw, "no_name", "no display name here or on the login")
                continue
            if not self._valid("profiles", raw, "display_name", name):
                continue
            role = self._value("role", raw.get("role"), "profiles", raw)
            status = role and self._value("profile_status", raw.get("status") or "active", "profiles", raw)
            if role is None or status is None:
                continue
            email = raw.get("email")
            if email_key(email) is None:
                email = (login or {}).get("email")
                counts.note("email_from_login" if email_key(email) else "no_email")
            sources: list[Source] = [("profiles", pid, "imported")]
            if login is not None:
                sources.append(("auth.users", pid, "merged"))
                seen_logins.add(pid)
            location = self._location(raw.get("location_id"))
            provider = self.owner_of.get(str(raw.get("location_id"))) if role == "AP" else None
            target = derived_id("profiles", pid)
            item = self._person(
                sources, target, name, role, email=rules.clean_name(email), phone=raw.get("phone"), status=status,
                location_id=location, provider_id=provider, created_at=raw.get("created_at"),
            )  # fmt: skip
            self.people[pid] = item.row["id"]
            self._unit("profiles", item)
        for uid, login in logins.items():  # a login without a profile: a person arccm knows as a learner
            if uid in seen_logins:
                continue
            name = rules.clean_name(login.get("display_name")) or rules.clean_name(
                str(login.get("email") or "").split("@")[0]
            )
            if not name:
                self._quarantine("auth.users", login, "no_name", "a login without a profile or a name")
                continue
            if not self._valid("auth.users", login, "display_name", name):
                continue
            target = derived_id("profiles", uid)
            item = self._person([("auth.users", uid, "imported")], target, name, "IN", email=login.get("email"),
                                created_at=login.get("created_at"))  # fmt: skip
            if "_existing" not in item.row:
                self.plan.counts["auth.users"].note("profile_created_as_learner")
            self.people[uid] = item.row["id"]
            self._unit("profiles", item)
        self._duplicates()
        for raw in instructors:
            self._instructor(raw)
        for raw in students:
            self._student(raw)

    def _duplicates(self) -> None:
        for key, ids in self.by_email.items():
            if len(ids) > 1:
                self.plan.duplicate_emails.append([key, *sorted(str(self.person_rows[i].sources[0][1]) for i in ids)])
                self.plan.counts["profiles"].note("duplicate_email_not_merged", len(ids))

    def _match(self, email: object) -> list[UUID]:
        """The people with this e-mail.  Two whose addresses differ only in case or spaces are two people to
        arccm (never merged silently): the one whose address is stored exactly as given is the match, if one is."""
        key = email_key(email)
        found = list(self.by_email.get(key, [])) if key else []
        if len(found) > 1 and isinstance(email, str):
            exact = [p for p in found if self.person_rows[p].row["email"] == email.strip()]
            return exact if len(exact) == 1 else found
        return found

    def _instructor(self, raw: Row) -> None:
        iid = str(raw["id"])
        matches = self._match(raw.get("email"))
        size = raw.get("max_students_per_session")
        if not size or size < 1:
            size = self.m.default_max_students
            self.plan.counts["instructor_profiles"].note("max_students_defaulted")
        detail = {
            "specialties": list(raw.get("specialties") or []),
            "max_students_per_session": int(size),
            "is_active": raw.get("is_active") is not False,
        }
        if len(matches) > 1:
            self._quarantine("instructor_profiles", raw, "ambiguous_email", f"{len(matches)} people have its e-mail")
            return
        if matches:
            person = matches[0]
            row = {"id": person, **detail, "created_at": raw.get("created_at") or self.now}
            self.instructors[iid] = person
            self._unit(
                "instructor_profiles", Item("instructor_profiles", row, [("instructor_profiles", iid, "imported")])
            )
            return
        name = rules.clean_name(raw.get("display_name")) or rules.clean_name(
            f"{raw.get('first_name') or ''} {raw.get('last_name') or ''}"
        )
        if not name:
            self._quarantine("instructor_profiles", raw, "no_name", "an instructor without a profile or a name")
            return
        if not self._valid("instructor_profiles", raw, "display_name", name):
            return
        item = self._person(
            [],
            derived_id("instructor_profiles", iid),
            name,
            self.m.instructor_role,
            email=raw.get("email"),
            phone=raw.get("phone"),
            location_id=self._location(raw.get("location_id")),
            status="active" if detail["is_active"] else "inactive",
        )
        if "_existing" not in item.row:
            self.plan.counts["instructor_profiles"].note("profile_created")
        self._unit("profiles", item)
        person = item.row["id"]
        self.instructors[iid] = person
        row = {"id": person, **detail, "created_at": raw.get("created_at") or self.now}
        self._unit("instructor_profiles", Item("instructor_profiles", row, [("instructor_profiles", iid, "imported")]))

    def _student(self, raw: Row) -> None:
        sid = str(raw["id"])
        matches = self._match(raw.get("email"))
        counts = self.plan.counts["student_enrollment_profiles"]
        if len(matches) == 1:
            person = matches[0]
            self.students[sid] = person
            self.person_rows[person].sources.append(("student_enrollment_profiles", sid, "merged"))
            counts.add("merged")
            return
        if len(matches) > 1:
            counts.note("duplicate_email_not_merged")
        name = rules.clean_name(raw.get("display_name")) or rules.clean_name(
            f"{raw.get('first_name') or ''} {raw.get('last_name') or ''}"
        )
        if not name:
            self._quarantine("student_enrollment_profiles", raw, "no_name", "a learner needs a name")
            return
        if not self._valid("student_enrollment_profiles", raw, "display_name", name):
            return
        person = derived_id("student_enrollment_profiles", sid)
        item = self._person(
            [("student_enrollment_profiles", sid, "imported")], person, name, "IN", email=raw.get("email"),
            phone=raw.get("phone"), location_id=self._location(raw.get("location_id")),
            status="active" if raw.get("is_active") is not False else "inactive", created_at=raw.get("created_at"),
        )  # fmt: skip
        self.students[sid] = item.row["id"]
        self._unit("profiles", item)

    # ------------------------------------------------------------------ sessions

    def sessions_(self, sessions: list[Row], enrollments: list[Row]) -> None:
        by_session: dict[str, list[Row]] = defaultdict(list)
        for e in enrollments:
            by_session[str(e.get("session_id"))].append(e)
            self._seen(
                e,
                attendance=e.get("attendance_status") or "registered",
                completion=e.get("completion_status") or "not_started",
            )
            score = e.get("assessment_score")
            if score is not None and not 0 <= float(score) <= 100:
                self.plan.counts["session_enrollments"].note("score_out_of_range")
        ready: list[tuple[Row, Item]] = []
        for raw in sessions:
            item = self._session(raw)
            if item is not None:
                ready.append((raw, item))
        for raw, item in ready:
            sid = str(raw["id"])
            seated = [self._enrollment(e, item) for e in by_session.pop(sid, [])]
            kept = [i for i in seated if i is not None]
            course_size = self.sessions[sid][2]
            capacity = rules.import_capacity(raw.get("max_capacity"), len(kept), course_size)
            counts = self.plan.counts["training_sessions"]
            if capacity.reason == "capacity_raised":
                item.row["max_capacity"] = int(raw["max_capacity"])
                self.plan.raised[item.row["id"]] = capacity.seats
                counts.note("capacity_raised")
                counts.note("seats_added_by_raise", capacity.seats - int(raw["max_capacity"]))
            else:
                item.row["max_capacity"] = capacity.seats
                if capacity.reason:
                    counts.note(capacity.reason)
            self._unit("training_sessions", item)
            for enrollment in kept:
                self._unit("session_enrollments", enrollment)
        for rows in by_session.values():
            for e in rows:
                self._quarantine("session_enrollments", e, "session_not_imported", f"session {e.get('session_id')}")

    def _session(self, raw: Row) -> Item | None:
        sid = str(raw["id"])
        self._seen(raw, session_status=raw.get("status"))
        location = self.locations.get(str(raw.get("location_id")))
        if location is None:
            self._quarantine("training_sessions", raw, "location_not_imported", f"location {raw.get('location_id')}")
            return None
        course = self._course(raw.get("course_template") or raw.get("title"))
        if course is None:
            self._quarantine(
                "training_sessions", raw, "unknown_course", f"no course named {raw.get('course_template')!r}"
            )
            return None
        if raw.get("instructor_id") is None:
            self._quarantine("training_sessions", raw, "no_instructor", "a session needs its lead instructor")
            return None
        lead = self.instructors.get(str(raw["instructor_id"]))
        if lead is None:
            self._quarantine("training_sessions", raw, "instructor_not_imported", str(raw["instructor_id"]))
            return None
        day, start, end = raw.get("session_date"), raw.get("start_time"), raw.get("end_time")
        if not isinstance(day, date) or not isinstance(start, time) or not isinstance(end, time):
            self._quarantine("training_sessions", raw, "no_time", "a session needs its date, start and end")
            return None
        starts = datetime.combine(day, start, location[1])
        ends = datetime.combine(day, end, location[1])
        if ends <= starts:
            self._quarantine("training_sessions", raw, "ends_before_start", f"{start} to {end}")
            return None
        status = self._value("session_status", raw.get("status"), "training_sessions", raw)
        if status is None:
            return None
        title = rules.clean_name(raw.get("title")) or course[1]
        if not self._valid("training_sessions", raw, "title", title):
            return None
        target = derived_id("training_sessions", sid)
        self.sessions[sid] = (target, 0, course[3])
        row = {
            "id": target,
            "course_id": course[0],
            "title": title,
            "description": raw.get("description"),
            "location_id": location[0],
            "provider_id": self.owner_of.get(str(raw.get("location_id"))),
            "lead_instructor_id": lead,
            "starts_at": starts.astimezone(UTC),
            "ends_at": ends.astimezone(UTC),
            "status": status,
            "allow_waitlist": False,
            "created_at": raw.get("created_at") or self.now,
        }
        return Item("training_sessions", row, [("training_sessions", sid, "imported")])

    def _enrollment(self, raw: Row, session: Item) -> Item | None:
        eid = str(raw["id"])
        learner = self.students.get(str(raw.get("student_id")))
        if learner is None:
            self._quarantine("session_enrollments", raw, "learner_not_imported", str(raw.get("student_id")))
            return None
        attendance = self._value("attendance", raw.get("attendance_status") or "registered", "session_enrollments", raw)
        completion = attendance and self._value(
            "completion", raw.get("completion_status") or "not_started", "session_enrollments", raw
        )
        if attendance is None or completion is None:
            return None
        problem = rules.enrollment_problem(attendance, completion)
        if problem:
            self._quarantine("session_enrollments", raw, problem, f"{attendance} but {completion}")
            return None
        seated: set[UUID] = session.row.setdefault("_learners", set())
        if learner in seated:
            self._quarantine("session_enrollments", raw, "duplicate_enrollment", "the learner is already enrolled")
            return None
        seated.add(learner)
        row = {
            "id": derived_id("session_enrollments", eid),
            "session_id": session.row["id"],
            "learner_id": learner,
            "status": "enrolled",
            "attendance_status": attendance,
            "completion_status": completion,
            "enrolled_at": raw.get("enrollment_date") or raw.get("created_at") or session.row["created_at"],
        }
        return Item("session_enrollments", row, [("session_enrollments", eid, "imported")])

    # ------------------------------------------------------------------ certificates

    def batches_(self, rows: Iterable[Row]) -> None:
        for raw in rows:
            self.batches[str(raw["id"])] = raw

    def certificates_(self, rows: list[Row]) -> None:
        codes: Counter[str] = Counter(rules.legacy_code(str(r.get("verification_code") or "")) or "" for r in rows)
        self.plan.duplicate_codes = [c for c, n in codes.items() if c and n > 1]
        chains: dict[tuple[UUID, UUID], list[Item]] = defaultdict(list)
        batch_items: dict[str, Item] = {}
        for raw in rows:
            item = self._certificate(raw)
            if item is None:
                continue
            chains[(item.row["recipient_user_id"], item.row["course_id"])].append(item)
            batch = str(raw.get("roster_id") or raw.get("batch_id") or "")
            if batch not in self.batches:
                self.plan.counts["certificates"].note("no_batch")
            else:
                batch_item = batch_items.get(batch) or self._batch(self.batches[batch], item)
                batch_items[batch] = batch_item
                item.row["batch_id"] = batch_item.row["id"]
                for column in ("total", "done", "certificate_count"):
                    batch_item.row[column] += 1
        for batch_item in batch_items.values():
            self._unit("rosters", batch_item)
        for bid, raw in self.batches.items():
            if bid not in batch_items:
                self.plan.counts["rosters"].add("quarantined", "no_certificate_imported")
                self.plan.quarantine.append(
                    Quarantined(
                        "rosters", bid, "no_certificate_imported", "a batch of no imported certificate", _jsonable(raw)
                    )
                )
        for chain in chains.values():
            chain.sort(key=lambda i: (i.row["issue_date"], str(i.sources[0][1])))
            live = [i for i in chain if i.row.get("revoked_at") is None]
            for older, newer in itertools.pairwise(live):
                older.row["superseded_by_id"] = newer.row["id"]
                newer.row["supersedes_id"] = older.row["id"]
                self.plan.counts["certificates"].note("superseded_by_later")
            self._unit("certificates", *chain)

    def _batch(self, raw: Row, first: Item) -> Item:
        bid = str(raw["id"])
        location = self.locations.get(str(raw.get("location_id")))
        zone = location[1] if location else ZoneInfo("UTC")
        reading = rules.read_date(raw.get("issue_date"), zone)
        issue = reading.value.value_or(None)
        if issue is None:
            self.plan.counts["rosters"].note("issue_date_unreadable")
        course_key = self.course_ids.get(str(raw.get("course_id")))
        row = {
            "id": derived_id("rosters", bid),
            "name": name
            if isinstance(clean_text("name", name := rules.clean_name(raw.get("name"))), Success)
            else f"Imported batch {bid}",
            "course_id": self.courses[course_key][0] if course_key in self.courses else first.row["course_id"],
            "location_id": location[0] if location else first.row["location_id"],
            "provider_id": self.owner_of.get(str(raw.get("location_id"))) or first.row["provider_id"],
            "issue_date": issue,
            "status": "completed",
            "metadata": {"legacy_status": raw.get("status")},
            "created_by": self.people.get(str(raw.get("created_by"))),
            "created_at": raw.get("created_at") or self.now,
            "total": 0,
            "done": 0,
            "certificate_count": 0,
        }
        return Item("rosters", row, [("rosters", bid, "imported")])

    def _certificate(self, raw: Row) -> Item | None:  # noqa: PLR0912,PLR0915 - one check after another
        cid = str(raw["id"])
        counts = self.plan.counts["certificates"]
        self._seen(raw, certificate_status=raw.get("status") or "active")
        self.plan.values["certificate_issue_date_format"][
            rules.read_date(raw.get("issue_date"), ZoneInfo("UTC")).kind
        ] += 1
        code_text = rules.legacy_code(str(raw.get("verification_code") or ""))
        self.plan.values["legacy_code_shape"][rules.code_shape(code_text) if code_text else "unusable"] += 1
        batch = self.batches.get(str(raw.get("roster_id") or raw.get("batch_id") or ""))
        legacy_location = raw.get("location_id")
        if legacy_location is None and batch is not None and batch.get("location_id") is not None:
            legacy_location = batch["location_id"]
            counts.note("location_from_batch")
        location = self.locations.get(str(legacy_location)) if legacy_location is not None else None
        if location is None:
            why = "no_location" if legacy_location is None else "location_not_imported"
            self._quarantine("certificates", raw, why, "a certificate is issued at a location")
            return None
        course = self._course(raw.get("course_name"))
        if course is None:
            self._quarantine("certificates", raw, "unknown_course", f"no course named {raw.get('course_name')!r}")
            return None
        if rules.clean_name(raw.get("course_name")) != course[1]:
            counts.note("course_name_normalized")
        made = rules.local_date(raw.get("created_at"), location[1])
        issue_reading = rules.read_date(raw.get("issue_date"), location[1], [made] if made else [])
        if isinstance(issue_reading.value, Failure):
            problem = issue_reading.value.failure()
            self._quarantine("certificates", raw, f"issue_{problem.reason}", f"issue_date {problem.text!r}")
            return None
        issue = issue_reading.value.unwrap()
        if issue_reading.kind == "slash_ambiguous":
            counts.note("issue_date_settled_by_row")
        expiry_reading = rules.read_date(raw.get("expiry_date"), location[1], [add_months(issue, course[2])])
        if isinstance(expiry_reading.value, Failure):
            problem = expiry_reading.value.failure()
            self._quarantine("certificates", raw, f"expiry_{problem.reason}", f"expiry_date {problem.text!r}")
            return None
        expiry = expiry_reading.value.unwrap()
        if expiry <= issue:
            self._quarantine("certificates", raw, "expiry_not_after_issue", f"{issue} to {expiry}")
            return None
        status = self._value("certificate_status", raw.get("status") or "active", "certificates", raw)
        if status is None:
            return None
        given = rules.clean_name(raw.get("recipient_name"))
        if given and not self._valid("certificates", raw, "recipient_name", given):
            return None
        holder = self._holder(raw)
        if holder is None:
            return None
        name = rules.clean_name(raw.get("recipient_name")) or self.person_rows[holder].row["display_name"]
        issuer = self.people.get(str(raw.get("issued_by")))
        if issuer is None:
            issuer = rules.REPLACED_SYSTEM_ID
            counts.note("issuer_unknown")
        target = derived_id("certificates", cid)
        row: Row = {
            "id": target,
            "verification_code": self.new_code(),
            "completion_kind": "legacy_import",
            "completion_id": _uuid(cid) or derived_id("certificate_completion", cid),
            "recipient_name": name,
            "recipient_user_id": holder,
            "course_id": course[0],
            "course_name": course[1],
            "location_id": location[0],
            "provider_id": self.owner_of.get(str(legacy_location)),
            "instructor_name": rules.clean_name(raw.get("instructor_name")),
            "issued_by": issuer,
            "issue_date": issue,
            "expiry_date": expiry,
            "created_at": raw.get("created_at") or self.now,
        }
        if status == "revoked":
            row.update(
                revoked_at=raw.get("updated_at") or self.now,
                revoked_by=rules.REPLACED_SYSTEM_ID,
                revocation_reason="revoked in the replaced system",
            )
        code = rules.legacy_code(str(raw.get("verification_code") or ""))
        if code is None:
            counts.note("legacy_code_unusable")
        elif code in self.plan.duplicate_codes:
            counts.note("legacy_code_shared")
        row["_legacy_code"] = code
        self.plan.expected[target] = (name, course[1], issue, expiry)
        return Item("certificates", row, [("certificates", cid, "imported")])

    def _holder(self, raw: Row) -> UUID | None:
        matches = self._match(raw.get("recipient_email"))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            self._quarantine("certificates", raw, "ambiguous_holder", "two people have the holder's e-mail")
            return None
        if raw.get("user_id") is not None and str(raw["user_id"]) in self.people:
            return self.people[str(raw["user_id"])]
        name = rules.clean_name(raw.get("recipient_name"))
        if not name:
            self._quarantine("certificates", raw, "no_holder", "no holder's name, e-mail or user")
            return None
        item = self._person(
            [], derived_id("certificate_holder", raw["id"]), name, "IN", email=raw.get("recipient_email")
        )
        if "_existing" not in item.row:
            self.plan.counts["certificates"].note("holder_created")
        self._unit("profiles", item)
        found: UUID = item.row["id"]
        return found

    # ------------------------------------------------------------------ teams

    def teams_(self, teams: Iterable[Row], members: Iterable[Row]) -> None:
        for raw in teams:
            tid = str(raw["id"])
            self._seen(raw, team_status=raw.get("status") or "active")
            name = rules.clean_name(raw.get("name"))
            if not self._has_name("teams", raw, name, "a team needs a name"):
                continue
            status = self._value("team_status", raw.get("status") or "active", "teams", raw)
            if status is None:
                continue
            provider = self.providers.get(str(raw.get("provider_id"))) or self.owner_of.get(str(raw.get("location_id")))
            target = derived_id("teams", tid)
            self.teams[tid] = target
            row = {
                "id": target,
                "name": name,
                "provider_id": provider,
                "location_id": self._location(raw.get("location_id")),
                "created_by": self.people.get(str(raw.get("created_by"))),
                "status": status,
                "created_at": raw.get("created_at") or self.now,
            }
            self._unit("teams", Item("teams", row, [("teams", tid, "imported")]))
        pairs: dict[tuple[UUID, UUID], Item] = {}
        for raw in members:
            mid = str(raw["id"])
            self._seen(raw, team_role=raw.get("role"))
            team = self.teams.get(str(raw.get("team_id")))
            user = self.people.get(str(raw.get("user_id")))
            if team is None or user is None:
                why = "team_not_imported" if team is None else "user_not_imported"
                self._quarantine(
                    "team_members", raw, why, str(raw.get("team_id") if team is None else raw.get("user_id"))
                )
                continue
            role = self._value("team_role", raw.get("role"), "team_members", raw)
            if role is None:
                continue
            if (team, user) in pairs:  # counted when the pair's unit is
                pairs[(team, user)].sources.append(("team_members", mid, "merged"))
                continue
            row = {"team_id": team, "user_id": user, "role": role, "added_at": raw.get("created_at") or self.now}
            pairs[(team, user)] = Item("team_members", row, [("team_members", mid, "imported")])
        for item in pairs.values():
            self._unit("team_members", item)

    def finish(self) -> Plan:
        self.plan.people = self.person_rows
        if any(
            item.row["issued_by"] == rules.REPLACED_SYSTEM_ID or item.row.get("revoked_by")
            for unit in self.plan.units["certificates"]
            for item in unit
        ):
            system = self._person([], rules.REPLACED_SYSTEM_ID, rules.REPLACED_SYSTEM_NAME, "SA", status="inactive")
            self.plan.units["profiles"].insert(0, [system])
        for units in self.plan.units.values():
            for unit in units:
                for item in unit:
                    item.row.pop("_learners", None)
        return self.plan


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
