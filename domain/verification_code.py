"""Certificate verification codes: Crockford base32 with a mod-37 check symbol.

A code is 12 data symbols (60 random bits, drawn by a CSPRNG behind the
``CodeSource`` port — never here) and one check symbol, printed as
``XXXX-XXXX-XXXX-C``.  Reading is forgiving: any case, with or without
separators and spaces, and the look-alikes O→0, I/L→1.

The check symbol is the code's value mod 37.  37 is prime and divides neither
32**k nor any symbol difference (|d| < 32), nor 31 — so every single-symbol
substitution (``d·32**k``) and every adjacent transposition (``d·31·32**k``)
changes the value mod 37 and is caught before any lookup.  The data symbols are
most significant first, so the last data symbol is the units digit; swapping
it with the check symbol changes the residue too (``2c - d ≢ d`` unless c = d).
"""

from __future__ import annotations

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.errors import DomainError, MalformedCode, MistypedCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
DATA_SYMBOLS = 12
RANDOM_BITS = DATA_SYMBOLS * 5
GROUP = 4
_VALUE = {symbol: index for index, symbol in enumerate(ALPHABET)}
_CHECK_VALUE = {symbol: index for index, symbol in enumerate(CHECK_ALPHABET)}
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", "- \t")


@attrs.frozen
class VerificationCode:
    """A well-formed code, kept in canonical form (13 upper-case symbols)."""

    canonical: str

    @property
    def display(self) -> str:
        body = self.canonical[:DATA_SYMBOLS]
        groups = [body[i : i + GROUP] for i in range(0, DATA_SYMBOLS, GROUP)]
        return "-".join([*groups, self.canonical[DATA_SYMBOLS:]])

    def __str__(self) -> str:
        return self.display


def check_symbol(value: int) -> str:
    return CHECK_ALPHABET[value % 37]


def encode(value: int) -> VerificationCode:
    """Turn ``RANDOM_BITS`` random bits into a code."""
    if not 0 <= value < 1 << RANDOM_BITS:
        raise ValueError(f"code value must be {RANDOM_BITS} bits, got {value}")
    symbols = [ALPHABET[(value >> (5 * shift)) & 31] for shift in reversed(range(DATA_SYMBOLS))]
    return VerificationCode("".join(symbols) + check_symbol(value))


def decode_value(body: str) -> int:
    value = 0
    for symbol in body:
        value = value * 32 + _VALUE[symbol]
    return value


def normalize(text: str) -> str:
    """Upper-case, drop separators, map look-alikes — without judging validity."""
    compact = text.upper().translate(_SEPARATORS)
    body, check = compact[:DATA_SYMBOLS], compact[DATA_SYMBOLS:]
    return body.translate(_LOOKALIKES) + check.translate(_LOOKALIKES)


def parse(text: str) -> Result[VerificationCode, DomainError]:
    """Read a code as a person typed it; tell malformed and mistyped codes apart."""
    compact = normalize(text)
    if len(compact) != DATA_SYMBOLS + 1:
        return Failure(MalformedCode(f"expected {DATA_SYMBOLS + 1} symbols, got {len(compact)}"))
    body, check = compact[:DATA_SYMBOLS], compact[DATA_SYMBOLS]
    bad = sorted({symbol for symbol in body if symbol not in _VALUE})
    if bad or check not in _CHECK_VALUE:
        return Failure(MalformedCode(f"symbols outside Crockford base32: {''.join(bad) or check}"))
    if check_symbol(decode_value(body)) != check:
        return Failure(MistypedCode())
    return Success(VerificationCode(compact))
