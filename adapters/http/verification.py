"""Public verification: ``GET /verify/{code}`` (the page a certificate's QR opens, server-rendered, no JavaScript,
English and French) and ``GET /v1/verify/{code}`` (JSON).  Anyone may ask; each client address is rate-limited,
asking to confirm a full name more tightly.  An unknown, a malformed and a mistyped code get the same answer, after
the same database lookup, so neither the response nor its timing tells a guesser which codes are close."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import unquote

import attrs
import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from returns.result import Success

from arccm.adapters.http.limits import Limiter
from arccm.adapters.http.problems import MEDIA_TYPE, PROBLEM_SCHEMA, documented, problem
from arccm.application import commands
from arccm.domain.verification_code import ALPHABET, DATA_SYMBOLS, check_symbol, decode_value

router = APIRouter(responses=documented(422, 429))
LOOKUPS_PER_MINUTE = 60  # per client address
NAME_CHECKS_PER_MINUTE = 10  # confirming a full name: guessing names is what this slows


@attrs.frozen
class Limits:
    """The app's rate limits (one set per app, in its process)."""

    lookups: Limiter = attrs.field(factory=lambda: Limiter(LOOKUPS_PER_MINUTE, 60.0))
    name_checks: Limiter = attrs.field(factory=lambda: Limiter(NAME_CHECKS_PER_MINUTE, 60.0))


MAX_CODE_INPUT = 300  # a pasted URL with its code, at most
MAX_NAME = 200
UNKNOWN = ("unknown_code", "Unknown code", "No certificate has this code. Check it against the certificate.")

TEXT = {
    "en": {
        "title": "Certificate verification", "code": "Code", "holder": "Holder", "course": "Course",
        "issuer": "Issued by", "issued": "Issued", "expires": "Expires", "revoked": "Revoked",
        "active": "Valid", "expired": "Expired", "superseded": "Replaced by a newer certificate",
        "revoked_status": "Revoked — not valid", "unknown": "No certificate has this code.",
        "unknown_hint": "Check the code on the certificate: letters and digits, hyphens optional.",
        "confirm": "Confirm the holder's full name", "check": "Check", "name_yes": "The name matches.",
        "name_no": "The name does not match the certificate.", "limited": "Too many requests: try again in a minute.",
        "other": "Français", "lang_other": "fr",
    },
    "fr": {
        "title": "Vérification de certificat", "code": "Code", "holder": "Titulaire", "course": "Formation",
        "issuer": "Délivré par", "issued": "Délivré le", "expires": "Expire le", "revoked": "Révoqué le",
        "active": "Valide", "expired": "Expiré", "superseded": "Remplacé par un certificat plus récent",
        "revoked_status": "Révoqué — non valide", "unknown": "Aucun certificat ne porte ce code.",
        "unknown_hint": "Vérifiez le code inscrit sur le certificat : lettres et chiffres, tirets facultatifs.",
        "confirm": "Confirmer le nom complet du titulaire", "check": "Vérifier",
        "name_yes": "Le nom correspond.", "name_no": "Le nom ne correspond pas au certificat.",
        "limited": "Trop de demandes : réessayez dans une minute.", "other": "English", "lang_other": "en",
    },
}  # fmt: skip
COLOURS = {"active": "#1b7f3b", "expired": "#8a6d00", "superseded": "#8a6d00", "revoked": "#b00020"}
PAGE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ t.title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:36rem;padding:1rem;line-height:1.45;color:#222}
.status{padding:.8rem 1rem;border-radius:.4rem;color:#fff;font-size:1.3rem;font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{color:#555}dd{margin:0}
input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}button{font-size:1rem;margin-top:.5rem}
.note{padding:.5rem 1rem;border-left:.3rem solid #888;background:#f4f4f4}
</style></head><body>
<h1>{{ t.title }}</h1>
{% if limited %}<p class="note" role="alert">{{ t.limited }}</p>{% endif %}
{% if certificate %}
<p class="status" id="status" style="background:{{ colour }}">{{ status_text }}</p>
<dl>
<dt>{{ t.code }}</dt><dd>{{ code }}</dd>
<dt>{{ t.holder }}</dt><dd id="holder">{{ certificate.recipient_name }}</dd>
<dt>{{ t.course }}</dt><dd>{{ certificate.course_name }}</dd>
<dt>{{ t.issuer }}</dt><dd>{{ certificate.issuer_name }}</dd>
<dt>{{ t.issued }}</dt><dd>{{ certificate.issue_date.isoformat() }}</dd>
<dt>{{ t.expires }}</dt><dd>{{ certificate.expiry_date.isoformat() }}</dd>
{% if certificate.revoked_on %}<dt>{{ t.revoked }}</dt><dd>{{ certificate.revoked_on.isoformat() }}</dd>{% endif %}
</dl>
{% if confirmed is not none %}
<p class="note" id="name-check">{{ t.name_yes if confirmed else t.name_no }}</p>
{% endif %}
<form method="get"><input type="hidden" name="lang" value="{{ lang }}">
<label for="name">{{ t.confirm }}</label><input id="name" name="name" maxlength="200" autocomplete="off">
<button type="submit">{{ t.check }}</button></form>
{% elif not limited %}
<p class="status" id="status" style="background:#555">{{ t.unknown }}</p><p>{{ t.unknown_hint }}</p>
{% endif %}
<p><a href="?lang={{ t.lang_other }}" hreflang="{{ t.lang_other }}">{{ t.other }}</a></p>
</body></html>
""")


def code_from(typed: str) -> str:
    """The code in what someone typed or pasted: a verification URL's last path segment, or the text itself (the
    use case forgives case, spaces, hyphens and look-alike letters)."""
    text = unquote(typed.strip())[:MAX_CODE_INPUT]
    if "/verify/" in text:
        text = text.rsplit("/verify/", 1)[1]
    return text.split("?", 1)[0].split("#", 1)[0].strip("/ ")


def _decoy() -> str:
    """A well-formed code that is almost surely no certificate's: looked up for a malformed or mistyped one, so
    that every miss costs the same lookup."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(DATA_SYMBOLS))
    return body + check_symbol(decode_value(body))


def _verify(request: Request, typed: str, name: str | None) -> Any:
    verify = request.app.state.container.verify_certificate()
    code = code_from(typed)
    answer = verify(commands.VerifyCertificate(code, name))
    if not isinstance(answer, Success) and answer.failure().code in ("malformed_code", "mistyped_code"):
        verify(commands.VerifyCertificate(_decoy(), None))
    return answer


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _wait(request: Request, name: str | None) -> int:
    limits: Limits = request.app.state.limits
    wait = limits.lookups.check(_client(request))
    if not wait and name is not None:
        wait = limits.name_checks.check(_client(request))
    return wait


@router.get("/v1/verify/{code:path}", tags=["verification"], summary="Verify a certificate (JSON)",
            responses=documented(404))  # fmt: skip
def verify_json(
    request: Request,
    code: str,
    name: str | None = Query(None, max_length=MAX_NAME, description="A full name to confirm"),
) -> Response:
    wait = _wait(request, name)
    if wait:
        return problem(429, "rate_limited", "Too many requests", "Too many verifications from this address.",
                       retry_after=wait)  # fmt: skip
    answer = _verify(request, code, name)
    if not isinstance(answer, Success):
        return problem(404, *UNKNOWN)
    verification = answer.unwrap()
    c = verification.certificate
    return JSONResponse({"status": c.status, "recipient_name": c.recipient_name, "course_name": c.course_name,
                         "issuer_name": c.issuer_name, "issue_date": c.issue_date.isoformat(),
                         "expiry_date": c.expiry_date.isoformat(),
                         "revoked_on": c.revoked_on.isoformat() if c.revoked_on else None,
                         "name_confirmed": verification.name_confirmed})  # fmt: skip


def _language(request: Request, lang: str | None) -> str:
    if lang in TEXT:
        return lang
    for part in request.headers.get("accept-language", "")[:200].split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in TEXT:
            return tag
    return "en"


PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No certificate has this code (the page says so); an address no route matches (one with a"
        " line break in it, say) is a problem",
        "content": {"text/html": {}, MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
    },
    429: {"description": "Too many verifications from this address; see Retry-After", "content": {"text/html": {}}},
}


@router.get("/verify/{code:path}", response_class=HTMLResponse, tags=["verification"], include_in_schema=True,
            summary="The verification page a certificate's QR code opens", responses=PAGE_RESPONSES)  # fmt: skip
def verify_page(
    request: Request, code: str, name: str | None = Query(None, max_length=MAX_NAME),
    lang: str | None = Query(None, max_length=5),
) -> HTMLResponse:  # fmt: skip
    language = _language(request, lang)
    name = name if name and name.strip() else None
    wait = _wait(request, name)
    headers = {"Cache-Control": "no-store", "Content-Language": language, "Vary": "Accept-Language"}
    t = TEXT[language]
    if wait:
        html = PAGE.render(t=t, lang=language, limited=True, certificate=None)
        return HTMLResponse(html, status_code=429, headers={**headers, "Retry-After": str(wait)})
    answer = _verify(request, code, name)
    if not isinstance(answer, Success):
        return HTMLResponse(PAGE.render(t=t, lang=language, certificate=None), status_code=404, headers=headers)
    verification = answer.unwrap()
    status = verification.certificate.status
    html = PAGE.render(
        t=t, lang=language, certificate=verification.certificate, confirmed=verification.name_confirmed,
        code=code_from(code).upper(), colour=COLOURS.get(status, "#555"),
        status_text=t["revoked_status"] if status == "revoked" else t.get(status, status),
    )  # fmt: skip
    return HTMLResponse(html, headers=headers)
