"""Verification codes: CSPRNG, Crockford base32, a check symbol that catches typos."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from arccm.adapters.system import SecureCodes
from arccm.domain.errors import MalformedCode, MistypedCode
from arccm.domain.verification_code import (
    ALPHABET,
    CHECK_ALPHABET,
    DATA_SYMBOLS,
    RANDOM_BITS,
    VerificationCode,
    encode,
    parse,
)

values = st.integers(min_value=0, max_value=(1 << RANDOM_BITS) - 1)
codes = values.map(encode)


def test_codes_carry_at_least_60_random_bits_in_12_symbols_plus_a_check() -> None:
    assert RANDOM_BITS >= 60
    assert DATA_SYMBOLS == 12
    code = SecureCodes().new_code()
    assert len(code.canonical) == 13
    assert code.display.count("-") == 3
    assert [len(group) for group in code.display.split("-")] == [4, 4, 4, 1]


@given(codes)
def test_round_trip_through_display(code: VerificationCode) -> None:
    assert parse(code.display) == Success(code)
    assert parse(code.canonical) == Success(code)


@given(codes, st.data())
def test_reading_forgives_case_separators_and_look_alikes(code: VerificationCode, data: st.DataObject) -> None:
    typed = []
    for symbol in code.display:
        choices = [symbol, symbol.lower()]
        if symbol == "0":
            choices += ["O", "o"]
        if symbol == "1":
            choices += ["I", "i", "L", "l"]
        if symbol == "-":
            choices += ["", " ", "--"]
        typed.append(data.draw(st.sampled_from(choices)))
    assert parse("".join(typed)) == Success(code)


@given(codes, st.integers(min_value=0, max_value=12))
def test_every_single_substitution_is_detected(code: VerificationCode, position: int) -> None:
    original = code.canonical
    alphabet = ALPHABET if position < DATA_SYMBOLS else CHECK_ALPHABET
    for replacement in alphabet:
        if replacement == original[position]:
            continue
        typo = original[:position] + replacement + original[position + 1 :]
        outcome = parse(typo)
        assert isinstance(outcome, Failure), f"{typo} accepted as a typo of {original}"


@given(codes, st.integers(min_value=0, max_value=11))
def test_every_adjacent_transposition_is_detected(code: VerificationCode, position: int) -> None:
    original = code.canonical
    a, b = original[position], original[position + 1]
    if a == b:
        return
    swapped = original[:position] + b + a + original[position + 2 :]
    assert isinstance(parse(swapped), Failure)


def test_transpositions_exhaustively_for_every_symbol_pair() -> None:
    """Every pair of distinct symbols at every adjacent position (not only sampled codes)."""
    for position in range(DATA_SYMBOLS):
        for a in ALPHABET:
            for b in ALPHABET:
                if a == b:
                    continue
                body = ["0"] * DATA_SYMBOLS
                body[position] = a
                if position + 1 < DATA_SYMBOLS:
                    body[position + 1] = b
                value = 0
                for symbol in body:
                    value = value * 32 + ALPHABET.index(symbol)
                code = encode(value).canonical
                swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
                if swapped != code:
                    assert isinstance(parse(swapped), Failure), (code, swapped)


def test_a_typo_is_told_apart_from_garbage() -> None:
    code = encode(123456789).canonical
    typo = ("1" if code[0] != "1" else "2") + code[1:]
    assert parse(typo) == Failure(MistypedCode())
    assert isinstance(parse("hello").failure(), MalformedCode)
    assert isinstance(parse("UUUU-UUUU-UUUU-U").failure(), MalformedCode)
    assert isinstance(parse(code + "0").failure(), MalformedCode)


def test_encode_rejects_values_outside_the_code_space() -> None:
    with pytest.raises(ValueError, match="60 bits"):
        encode(1 << RANDOM_BITS)
    with pytest.raises(ValueError, match="60 bits"):
        encode(-1)


def test_a_million_generated_codes_are_unique_and_use_the_whole_alphabet() -> None:
    source = SecureCodes()
    seen = {source.new_code().canonical for _ in range(1_000_000)}
    assert len(seen) == 1_000_000
    for position in range(DATA_SYMBOLS):
        assert {code[position] for code in list(seen)[:20_000]} == set(ALPHABET)
