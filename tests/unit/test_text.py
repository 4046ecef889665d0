"""Free text: normalized, bounded, control characters refused with the field named."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from arccm.domain.errors import InvalidValue
from arccm.domain.text import clean_text


@given(st.text(max_size=300))
def test_accepted_text_is_trimmed_nfc_and_bounded(value: str) -> None:
    outcome = clean_text("name", value)
    if isinstance(outcome, Success):
        text = outcome.unwrap()
        assert text == unicodedata.normalize("NFC", text).strip()
        assert 0 < len(text) <= 200
        assert "\x00" not in text
    else:
        assert outcome.failure().field == "name"


@given(st.text(min_size=1, max_size=20), st.text(max_size=20))
def test_a_nul_byte_is_refused_naming_the_field(before: str, after: str) -> None:
    assert clean_text("title", f"{before}\x00{after}") == Failure(
        InvalidValue("title", "must not contain control characters")
    )


def test_specific_refusals() -> None:
    assert clean_text("reason", "   ") == Failure(InvalidValue("reason", "must not be blank"))
    assert clean_text("name", "x" * 201) == Failure(InvalidValue("name", "must be at most 200 characters"))
    assert clean_text("name", "\ud800") == Failure(InvalidValue("name", "must be valid Unicode text"))
    assert clean_text("name", "Zoe\u0308") == Success("Zoë")  # NFD in, NFC out
    assert clean_text("name", "\u202eevil") == Success("\u202eevil")  # format characters are text, kept as given
