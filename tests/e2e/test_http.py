"""The HTTP API on the demo's organization: the public verification page and JSON, bearer tokens, problems.

In process through Starlette's test client (a real httpx client driving the ASGI app), and once through
`arccm serve` in a subprocess, as a certificate's QR code reaches it."""

from __future__ import annotations

import json
import re
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from arccm.adapters.container import on_postgres
from arccm.adapters.http.app import create_app
from arccm.adapters.http.auth import AUDIENCE, mint
from tests.e2e.conftest import JWT_SECRET, LOGS, served

pytestmark = pytest.mark.needs_postgres
SECRET = JWT_SECRET
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(pg_url: str, demo_schema: str) -> Iterator[TestClient]:
    container = on_postgres(pg_url, schema=demo_schema)
    with TestClient(create_app(container, SECRET)) as test_client:
        yield test_client
    container.subscriptions().stop()  # the event streams' pump: the host's to stop, as the container is
    container.lifecycle().shutdown()


def bearer(user_id: Any, **changes: Any) -> dict[str, str]:
    claims = {"sub": str(user_id), "aud": AUDIENCE, "exp": datetime.now(UTC) + timedelta(minutes=5), **changes}
    return {"Authorization": "Bearer " + jwt.encode(claims, changes.pop("secret", SECRET), algorithm="HS256")}


def test_a_certificate_verifies_as_people_type_and_paste_its_code(client: TestClient, demo: dict[str, Any]) -> None:
    code = demo["active"]
    answer = client.get(f"/v1/verify/{code}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "active"
    assert body["recipient_name"] != demo["active_name"]  # masked
    assert body["recipient_name"].endswith("***")
    assert body["name_confirmed"] is None
    typed = code.lower().replace("-", " ")
    for variant in (typed, code.replace("-", ""), f"https://certs.example.org/verify/{code}"):
        again = client.get("/v1/verify/" + variant)
        assert again.status_code == 200, variant
        assert again.json() == body, variant
    named = client.get(f"/v1/verify/{code}", params={"name": demo["active_name"].upper()})
    assert named.json()["name_confirmed"] is True
    assert named.json()["recipient_name"] == demo["active_name"]
    wrong = client.get(f"/v1/verify/{code}", params={"name": "Someone Else"})
    assert wrong.json()["name_confirmed"] is False
    assert wrong.json()["recipient_name"] == body["recipient_name"]


def test_unknown_malformed_and_mistyped_codes_get_the_same_answer(client: TestClient, demo: dict[str, Any]) -> None:
    code = demo["active"]
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    answers = [client.get("/v1/verify/" + c) for c in ("ZZZZ-ZZZZ-ZZZZ-Z", "x", mistyped, "%00%ff", "A" * 400)]
    assert {a.status_code for a in answers} == {404}
    assert {a.headers["content-type"] for a in answers} == {PROBLEM}
    assert len({a.text for a in answers}) == 1, [a.text for a in answers]


def test_the_verification_page_shows_status_in_words_in_english_and_french(
    client: TestClient, demo: dict[str, Any]
) -> None:
    page = client.get(f"/verify/{demo['active']}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert ">Valid<" in page.text
    assert demo["active_name"] not in page.text
    french = client.get(f"/verify/{demo['revoked']}", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert 'lang="fr"' in french.text
    assert "Révoqué — non valide" in french.text
    assert "Révoqué le" in french.text
    english = client.get(f"/verify/{demo['revoked']}", params={"lang": "en"})
    assert "Revoked — not valid" in english.text
    unknown = client.get("/verify/<script>alert(1)</script>")
    assert unknown.status_code == 404
    assert "<script>" not in unknown.text
    confirm = client.get(f"/verify/{demo['active']}", params={"name": demo["active_name"]})
    assert "The name matches." in confirm.text


def test_lookups_are_rate_limited_per_client_and_name_checks_more_tightly(
    pg_url: str, demo_schema: str, demo: dict[str, Any]
) -> None:
    container = on_postgres(pg_url, schema=demo_schema)
    try:
        with TestClient(create_app(container, SECRET)) as fresh:
            names = [fresh.get(f"/v1/verify/{demo['active']}", params={"name": f"Guess {i}"}) for i in range(11)]
            assert [a.status_code for a in names] == [200] * 10 + [429]
            assert names[-1].headers["content-type"] == PROBLEM
            assert int(names[-1].headers["retry-after"]) >= 1
            plain = [fresh.get(f"/v1/verify/{demo['active']}") for _ in range(50)]
            assert [a.status_code for a in plain].count(429) == 1  # 60 a minute, the name checks counted
            assert fresh.get(f"/verify/{demo['active']}").status_code == 429
    finally:
        container.lifecycle().shutdown()


def test_a_bearer_token_names_the_caller_and_the_database_says_who_they_are(
    client: TestClient, demo: dict[str, Any]
) -> None:
    sam = demo["people"]["sam@example.org"]
    me = client.get("/v1/me", headers=bearer(sam))
    assert me.status_code == 200, me.text
    assert (me.json()["user_id"], me.json()["role"]) == (str(sam), "SA")
    refused = {
        "none": {},
        "not bearer": {"Authorization": "Basic c2FtOnNhbQ=="},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "expired": bearer(sam, exp=datetime.now(UTC) - timedelta(seconds=5)),
        "other audience": bearer(sam, aud="somebody-else"),
        "other secret": bearer(sam, secret="another-secret-of-at-least-thirty-two-chars"),
        "unknown user": bearer(uuid.uuid4()),
        "not a uuid": bearer("sam"),
    }
    for why, headers in refused.items():
        answer = client.get("/v1/me", headers=headers)
        assert answer.status_code == 401, why
        assert answer.headers["content-type"] == PROBLEM, why
        assert answer.json()["type"].endswith("/unauthenticated"), why
    assert mint(sam, SECRET, timedelta(minutes=1)).count(".") == 2


def test_a_user_deactivated_between_two_requests_is_refused_at_the_next(
    client: TestClient, demo: dict[str, Any]
) -> None:
    """The app keeps resolved callers for two seconds; each transaction still asks the database who they are, so
    a deactivation (or a role change) is felt by the very next request, not two seconds later."""
    sam, paul = demo["people"]["sam@example.org"], demo["people"]["paul@example.org"]
    assert client.get("/v1/sessions", headers=bearer(paul)).status_code == 200  # paul is resolved and kept
    off = client.put(f"/v1/people/{paul}/active", json={"active": False}, headers=bearer(sam))
    assert off.status_code == 200, off.text
    try:
        for path in ("/v1/sessions", "/v1/dashboard", "/v1/me", "/v1/sessions"):
            refused = client.get(path, headers=bearer(paul))
            assert (refused.status_code, refused.headers["content-type"]) == (403, PROBLEM), (path, refused.text)
    finally:
        on = client.put(f"/v1/people/{paul}/active", json={"active": True}, headers=bearer(sam))
        assert on.status_code == 200, on.text
    assert client.get("/v1/sessions", headers=bearer(paul)).status_code == 200


def test_lists_page_with_cursors_and_bad_input_is_a_problem_naming_the_field(
    client: TestClient, demo: dict[str, Any]
) -> None:
    sam = bearer(demo["people"]["sam@example.org"])
    first = client.get("/v1/sessions", params={"limit": 1}, headers=sam)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 1
    assert page["next"] is None  # the demo has one session (paging itself: tests/contract/test_directory.py)
    detail = client.get(f"/v1/sessions/{page['items'][0]['id']}", headers=sam)
    assert detail.status_code == 200
    cases = {
        "/v1/sessions/not-a-uuid": "session_id",
        "/v1/sessions?limit=100000": "limit",
        "/v1/sessions?after=forged": "after",
        "/v1/sessions?status=%00": "status",
        "/v1/sessions?from=2026-02-30": "from",
    }
    for url, field in cases.items():
        answer = client.get(url, headers=sam)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["field"] == field, (url, answer.json())
    missing = client.get(f"/v1/sessions/{uuid.uuid4()}", headers=sam)
    assert (missing.status_code, missing.json()["type"].rsplit("/", 1)[1]) == (404, "not_found")
    nowhere = client.get("/v1/nowhere")
    assert (nowhere.status_code, nowhere.headers["content-type"]) == (404, PROBLEM)
    dashboard = client.get("/v1/dashboard", headers=sam)
    assert dashboard.status_code == 200
    assert dashboard.json()["certificates_total"] == 2  # the demo's revoked one, and the active one written here


def test_arccm_serve_answers_what_a_certificates_qr_opens_and_stops_on_sigterm(
    pg_url: str, demo_schema: str, demo: dict[str, Any]
) -> None:
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": demo_schema, "ARCCM_JWT_SECRET": SECRET}
    with served(env) as (base, server):
        page = httpx.get(f"{base}/verify/{demo['revoked']}", timeout=10)
        assert page.status_code == 200
        assert "Revoked — not valid" in page.text
        assert httpx.get(base + "/healthz", timeout=10).json() == {"status": "ok"}
        assert httpx.get(base + "/openapi.json", timeout=10).json()["paths"]["/v1/verify/{code}"]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=40) == 0
        lines = [json.loads(line) for line in LOGS[server.pid]().splitlines() if line.startswith("{")]
        access = next(line for line in lines if line["request_id"] == page.headers["x-request-id"])
        assert access["route"] == "/verify/{code:path}"  # the template: no code in the log
        assert (access["method"], access["status"], access["client"]) == ("GET", 200, "127.0.0.1")


def test_the_directory_answers_in_the_callers_scope(client: TestClient, demo: dict[str, Any]) -> None:
    sam = bearer(demo["people"]["sam@example.org"])
    hank = bearer(demo["people"]["hank@example.org"])  # another provider's coordinator: sees none of it
    found = client.get("/v1/people", params={"q": "lee"}, headers=sam).json()
    assert [p["name"] for p in found["items"]] == ["Lee Chen"]
    assert client.get("/v1/people", params={"q": "lee"}, headers=hank).json()["items"] == []
    listed = client.get("/v1/certificates", headers=sam).json()["items"]
    assert {c["status"] for c in listed} == {"active", "revoked"}
    one = client.get(f"/v1/certificates/{demo['revoked'].lower()}", headers=sam)
    assert one.status_code == 200
    assert one.json()["certificate"]["status"] == "revoked"
    assert client.get(f"/v1/certificates/{demo['revoked']}", headers=hank).status_code == 404
    assert client.get("/v1/certificates", params={"status": "lost"}, headers=sam).json()["field"] == "status"
    month = client.get("/v1/calendar", params={"from": "2026-12-01", "to": "2027-01-01", "tz": "America/Toronto"},
                       headers=sam)  # fmt: skip
    assert month.status_code == 200, month.text
    assert [e["title"] for e in month.json()] == ["CPR Level C — Saturday"]
    zone = client.get("/v1/calendar", params={"from": "2026-12-01", "to": "2027-01-01", "tz": "Mars/Olympus"},
                      headers=sam)  # fmt: skip
    assert (zone.status_code, zone.json()["field"]) == (422, "timezone")
    for listing in ("/v1/rosters", "/v1/batches"):
        answer = client.get(listing, headers=sam)
        assert answer.status_code == 200, listing
        assert set(answer.json()) == {"items", "next"}


def sse(lines: Iterator[str]) -> list[dict[str, str]]:
    """Server-Sent Events as dicts of their fields (comments and the retry hint left out)."""
    out: list[dict[str, str]] = []
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in event:
                out.append(event)
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            event[name] = value
    return out


def test_the_event_stream_resumes_after_the_last_event_id_with_nothing_missed_or_twice(
    client: TestClient, demo: dict[str, Any]
) -> None:
    sam = bearer(demo["people"]["sam@example.org"])
    with client.stream("GET", "/v1/events", params={"max_events": 8, "since": "0:0"}, headers=sam) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        first = sse(stream.iter_lines())
    assert len(first) == 8
    assert all(json.loads(e["data"])["cursor"] == e["id"] for e in first)
    resumed_from = first[2]["id"]
    with client.stream(
        "GET", "/v1/events", params={"max_events": 5}, headers={**sam, "Last-Event-ID": resumed_from}
    ) as stream:
        again = sse(stream.iter_lines())
    assert [e["id"] for e in again] == [e["id"] for e in first[3:8]]
    lee = bearer(demo["people"]["lee@example.org"])
    certificates = {"max_events": 2, "topics": "certificates", "since": "0:0"}
    with client.stream("GET", "/v1/events", params=certificates, headers=lee) as stream:
        own = sse(stream.iter_lines())
    assert {e["event"] for e in own} == {"certificates"}
    bad = client.get("/v1/events", headers={**sam, "Last-Event-ID": "yesterday"})
    assert (bad.status_code, bad.json()["field"]) == (422, "Last-Event-ID")
    unknown = client.get("/v1/events", params={"topics": "gossip"}, headers=sam)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "topics.0")  # the first item named
    assert client.get("/v1/events").status_code == 401


def test_metrics_count_requests_by_route_template_and_every_response_has_a_request_id(
    client: TestClient, demo: dict[str, Any]
) -> None:
    first = client.get(f"/v1/verify/{demo['active']}")
    second = client.get(f"/v1/verify/{demo['revoked']}")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    counted = [line for line in metrics.text.splitlines() if line.startswith("arccm_http_requests_total{")]
    assert any('route="/v1/verify/{code:path}"' in line and 'status="200"' in line for line in counted), counted
    assert not any(demo["active"] in line for line in counted)  # an id or a code never becomes a label
    assert 'arccm_db_pool_connections{state="size"}' in metrics.text
    assert 'arccm_feed_subscriptions{served="own_scope"}' in metrics.text


def test_a_certificate_downloads_as_pdf_and_a_revoked_one_does_not(client: TestClient, demo: dict[str, Any]) -> None:
    sam = bearer(demo["people"]["sam@example.org"])
    pdf = client.get(f"/v1/certificates/{demo['active']}/pdf", headers=sam)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert re.fullmatch(r'attachment; filename="certificate-[0-9a-f-]{36}\.pdf"', pdf.headers["content-disposition"])
    revoked = client.get(f"/v1/certificates/{demo['revoked']}/pdf", headers=sam)
    assert (revoked.status_code, revoked.headers["content-type"]) == (409, PROBLEM)
    assert revoked.json()["type"].endswith("/not_printable")
    hank = bearer(demo["people"]["hank@example.org"])
    assert client.get(f"/v1/certificates/{demo['active']}/pdf", headers=hank).status_code == 404
