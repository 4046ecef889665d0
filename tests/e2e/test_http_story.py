"""The demo's story through HTTP, against `arccm serve` in a subprocess: schedule, enroll into the waitlist, promote,
attend, assess, complete, batch-issue, download the PDF, open its QR code's address on the server, revoke, verify
again — and the concurrency the replaced system got wrong: many clients racing for seats, one key sent many times."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pypdfium2
import pytest
import zxingcpp

from arccm.adapters.container import on_postgres
from arccm.adapters.http.auth import mint
from arccm.domain.access import Role
from arccm.domain.compliance import ComplianceStanding, ComplianceStatus, Tier
from arccm.domain.people import InstructorProfile, UserProfile
from tests.e2e.conftest import rows
from tests.e2e.test_http import PROBLEM, SECRET

# once per CI run: HTTP over the machine's PostgreSQL; the embedded pass repeats only test_http.py and the hostile cases
pytestmark = [pytest.mark.needs_postgres, pytest.mark.soak]


@pytest.fixture(scope="module")
def ids(pg_url: str, demo_schema: str) -> dict[str, str]:
    ((course, location),) = rows(pg_url, demo_schema, "SELECT course_id, location_id FROM training_sessions LIMIT 1")
    return {"course": str(course), "location": str(location)}


def auth(user_id: str, **headers: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint(uuid.UUID(user_id), SECRET, timedelta(hours=1)), **headers}


DAYS = itertools.count()


def free_day() -> datetime:
    """A morning no other session of this module's schema is on (instructors are never double-booked), while the
    demo's instructors are qualified (to 2028)."""
    return datetime(2027, 1, 4, 9, tzinfo=UTC) + timedelta(days=next(DAYS))


def schedule(http: httpx.Client, people: dict[str, str], ids: dict[str, str], capacity: int, **extra: Any) -> Any:
    starts = free_day()
    body = {"course_id": ids["course"], "location_id": ids["location"], "lead_instructor_id": people["irene"],
            "title": "CPR Level C — over HTTP", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=7)).isoformat(), "max_capacity": capacity, **extra}  # fmt: skip
    return http.post("/v1/sessions", json=body, headers=auth(people["alice"]))


def test_the_demo_story_over_http(server: str, people: dict[str, str], ids: dict[str, str]) -> None:
    http = httpx.Client(base_url=server, timeout=30)
    alice, irene, sam = (auth(people[k]) for k in ("alice", "irene", "sam"))

    # 1. scheduling: a replay of the same request with its key is the same answer, and schedules nothing more
    starts = free_day()
    plan = {"course_id": ids["course"], "location_id": ids["location"], "lead_instructor_id": people["irene"],
            "assistant_ids": [people["tina"]], "title": "CPR Level C — Saturday", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=7)).isoformat(), "max_capacity": 2}  # fmt: skip
    key = {"Idempotency-Key": str(uuid.uuid4())}
    refused = http.post("/v1/sessions", json=plan, headers=auth(people["hank"], **key))  # another provider's AP
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == PROBLEM
    created = http.post("/v1/sessions", json=plan, headers={**alice, **key})
    assert created.status_code == 201, created.text
    session = created.json()["session"]
    assert created.headers["location"] == f"/v1/sessions/{session['id']}"
    again = http.post("/v1/sessions", json=plan, headers={**alice, **key})
    assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (201, created.json(), "true")
    other = http.post("/v1/sessions", json={**plan, "max_capacity": 3}, headers={**alice, **key})
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency_key_reused")
    sid = session["id"]

    # 2. enrolling past capacity: two seats, then the waitlist
    enrolled = {}
    for learner in ("lee", "mia", "noor"):
        answer = http.post(f"/v1/sessions/{sid}/enrollments", json={"learner_id": people[learner]}, headers=alice)
        assert answer.status_code == 201, answer.text
        enrolled[learner] = answer.json()
    assert [enrolled[k]["status"] for k in ("lee", "mia", "noor")] == ["enrolled", "enrolled", "waitlisted"]
    twice = http.post(f"/v1/sessions/{sid}/enrollments", json={"learner_id": people["lee"]}, headers=alice)
    assert (twice.status_code, twice.json()["type"].rsplit("/", 1)[1]) == (409, "already_enrolled")

    # 3. a cancellation promotes the head of the waitlist
    mia = enrolled["mia"]["id"]
    assert http.post(f"/v1/sessions/{sid}/enrollments/{mia}/cancel", headers=alice).json()["status"] == "cancelled"
    detail = http.get(f"/v1/sessions/{sid}", headers=alice).json()
    status = {e["learner_id"]: e["status"] for e in detail["enrollments"]}
    assert status[people["noor"]] == "enrolled"
    assert detail["session"]["seats_taken"] == 2
    # a learner sees the session and their own enrollment, never the others'
    lee_view = http.get(f"/v1/sessions/{sid}", headers=auth(people["lee"])).json()
    assert [e["learner_id"] for e in lee_view["enrollments"]] == [people["lee"]]

    # 4. class day
    assert http.post(f"/v1/sessions/{sid}/start", headers=irene).json()["session"]["status"] == "in_progress"
    for learner in ("lee", "noor"):
        seat = f"/v1/sessions/{sid}/enrollments/{enrolled[learner]['id']}"
        assert http.put(seat + "/attendance", json={"attendance": "attended"}, headers=irene).status_code == 200
        scored = http.put(seat + "/assessment", json={"practical_score": "92", "written_score": 88}, headers=irene)
        assert scored.status_code == 200, scored.text
        assert http.post(seat + "/complete", headers=irene).json()["completion"] == "completed"
    assert http.post(f"/v1/sessions/{sid}/complete", headers=irene).json()["session"]["status"] == "completed"

    # 5. certificates, in a batch: a preview writes nothing, the run issues both, a second run none
    preview = http.post("/v1/batches", json={"session_id": sid, "preview": True}, headers=irene).json()
    assert (preview["preview"], len(preview["would_issue"]), preview["issued"]) == (True, 2, 0)
    report = http.post("/v1/batches", json={"session_id": sid, "chunk_size": 1}, headers=irene).json()
    assert (report["issued"], report["already_issued"]) == (2, 0), report
    assert http.get(f"/v1/batches/{report['batch_id']}", headers=irene).status_code == 200
    assert http.post("/v1/batches", json={"session_id": sid}, headers=irene).json()["issued"] == 0

    # 6. the PDF's QR code opens the certificate's page on this server
    listed = http.get("/v1/certificates", params={"holder": people["lee"]}, headers=irene).json()["items"]
    lee_certificate = next(c for c in listed if c["status"] == "active")
    pdf = http.get(f"/v1/certificates/{lee_certificate['id']}/pdf", headers=auth(people["lee"]))
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    page = pypdfium2.PdfDocument(pdf.content)[0]
    (qr,) = zxingcpp.read_barcodes(page.render(scale=2).to_pil())
    assert qr.text.startswith(server + "/verify/")
    opened = httpx.get(qr.text, timeout=30)
    assert opened.status_code == 200
    assert "Valid" in opened.text
    assert "CPR" in opened.text

    # 7. revoked, it says so — on the page, in the JSON, and the PDF is refused
    revoked = http.post(f"/v1/certificates/{lee_certificate['id']}/revoke", json={"reason": "Issued in error"},
                        headers=sam)  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["certificate"]["status"] == "revoked"
    assert "Revoked" in httpx.get(qr.text, timeout=30).text
    code = qr.text.rsplit("/", 1)[1]
    assert http.get(f"/v1/verify/{code}").json()["status"] == "revoked"
    assert http.get(f"/v1/certificates/{lee_certificate['id']}/pdf", headers=sam).status_code == 409


def test_bad_bodies_are_problems_that_name_the_field(server: str, people: dict[str, str], ids: dict[str, str]) -> None:
    http = httpx.Client(base_url=server, timeout=30)
    alice = auth(people["alice"])
    cases = [
        ({"max_capacity": 0}, "max_capacity"),
        ({"max_capacity": "lots"}, "max_capacity"),
        ({"starts_at": "2027-01-04T09:00:00"}, "starts_at"),  # no offset: a moment needs one
        ({"title": ""}, "title"),
        ({"surprise": 1}, "surprise"),  # an unknown field is refused, not ignored
    ]
    for change, field in cases:
        answer = schedule(http, people, ids, 5, **change)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["field"] == field, answer.json()
    ends_first = schedule(http, people, ids, 5, ends_at="2020-01-01T00:00:00+00:00")
    assert ends_first.status_code == 422
    json_type = {**alice, "Content-Type": "application/json"}
    broken = http.post("/v1/sessions", content=b'{"title": "\xff\xfe"', headers=json_type)
    assert (broken.status_code, broken.headers["content-type"]) == (400, PROBLEM)
    assert broken.json()["type"].endswith("/malformed_body")
    unfinished = http.post("/v1/sessions", content=b"[1, 2", headers=json_type)
    assert (unfinished.status_code, unfinished.json()["field"]) == (400, "body")
    bad_key = http.post("/v1/teams", json={"name": "x"}, headers={**alice, "Idempotency-Key": "tab\there"})
    assert bad_key.status_code == 422
    assert bad_key.json()["field"] == "Idempotency-Key"


def test_a_thousand_enrollments_from_32_clients_take_exactly_the_25_seats(
    server: str, people: dict[str, str], ids: dict[str, str], pg_url: str, demo_schema: str
) -> None:
    container = on_postgres(pg_url, schema=demo_schema)
    learners = [UserProfile(uuid.uuid4(), f"Racer {n}", Role.IN) for n in range(1000)]
    ((provider,),) = rows(pg_url, demo_schema, f"SELECT provider_id FROM profiles WHERE id = '{people['alice']}'")
    good = ComplianceStanding(100, Tier.ROBUST, ComplianceStatus.COMPLIANT)
    lead = UserProfile(uuid.uuid4(), "Rae Lead", Role.IC, provider_id=provider, compliance=good)
    qualified = InstructorProfile(lead.id, frozenset({"cpr", "first_aid"}), 30, date(2028, 1, 1))
    try:
        container.bootstrap().load(lead, qualified, *learners)
    finally:
        container.lifecycle().shutdown()
    http = httpx.Client(base_url=server, timeout=60)
    created = schedule(http, people, ids, 25, allow_waitlist=False, lead_instructor_id=str(lead.id))
    assert created.status_code == 201, created.text
    sid = created.json()["session"]["id"]
    alice = auth(people["alice"])
    start = threading.Barrier(32)
    queue = iter(learners)
    lock = threading.Lock()

    def client() -> Counter[int]:
        seen: Counter[int] = Counter()
        with httpx.Client(base_url=server, timeout=60) as mine:
            start.wait()
            while True:
                with lock:
                    learner = next(queue, None)
                if learner is None:
                    return seen
                body = {"learner_id": str(learner.id), "join_waitlist": False}
                seen[mine.post(f"/v1/sessions/{sid}/enrollments", json=body, headers=alice).status_code] += 1

    with ThreadPoolExecutor(32) as pool:
        outcomes = sum((f.result() for f in [pool.submit(client) for _ in range(32)]), Counter())
    assert outcomes == Counter({201: 25, 409: 975})
    detail = http.get(f"/v1/sessions/{sid}", headers=alice).json()
    assert (detail["session"]["seats_taken"], len(detail["enrollments"])) == (25, 25)
    (counted,) = rows(pg_url, demo_schema, f"SELECT count(*) FROM session_enrollments WHERE session_id = '{sid}'")
    assert counted[0] == 25


def test_one_idempotency_key_from_ten_clients_at_once_enrolls_once(
    server: str, people: dict[str, str], ids: dict[str, str], pg_url: str, demo_schema: str
) -> None:
    http = httpx.Client(base_url=server, timeout=60)
    created = schedule(http, people, ids, 5)
    sid = created.json()["session"]["id"]
    headers = auth(people["alice"], **{"Idempotency-Key": f"enroll-omar-{uuid.uuid4()}"})
    start = threading.Barrier(10)

    def client() -> httpx.Response:
        with httpx.Client(base_url=server, timeout=60) as mine:
            start.wait()
            return mine.post(f"/v1/sessions/{sid}/enrollments", json={"learner_id": people["omar"]}, headers=headers)

    with ThreadPoolExecutor(10) as pool:
        answers = [f.result() for f in [pool.submit(client) for _ in range(10)]]
    done = [a for a in answers if a.status_code == 201]
    busy = [a for a in answers if a.status_code == 409]
    assert len(done) + len(busy) == 10, [a.text for a in answers]
    assert done, "the first request must finish"
    assert len({a.content for a in done}) == 1  # the replays are the first answer, byte for byte
    assert all(a.json()["type"].endswith("/idempotency_key_in_use") for a in busy)
    (counted,) = rows(pg_url, demo_schema, f"SELECT count(*) FROM session_enrollments WHERE session_id = '{sid}'")
    assert counted[0] == 1
    # after the race, the key answers with the stored response, whoever asks again
    replay = http.post(f"/v1/sessions/{sid}/enrollments", json={"learner_id": people["omar"]}, headers=headers)
    assert (replay.status_code, replay.content) == (201, done[0].content)
