"""The verification page in a real browser: Debian's headless Chromium opens what a certificate's QR code opens,
for an active and a revoked certificate, on a phone-sized window and in French; the test reads the DOM the browser
rendered and the colour of the status banner in its screenshot.  ``ARCCM_KEEP_SCREENSHOTS=1`` copies the
screenshots to docs/screenshots/ (shown in docs/http.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

# once per CI run: HTTP over the machine's PostgreSQL; the embedded pass repeats only test_http.py and the hostile cases
pytestmark = [pytest.mark.needs_postgres, pytest.mark.soak]
DOCS = Path(__file__).parents[2] / "docs" / "screenshots"
GREEN, RED = (0x1B, 0x7F, 0x3B), (0xB0, 0x00, 0x20)  # the page's colours for valid and revoked


def chromium(*args: str) -> str:
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium is not installed (.ci/test-tools installs it)"
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile: no state shared between runs
        ran = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
             "--window-size=390,844", *args],  # an ordinary phone's viewport
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    return ran.stdout


def has_colour(png: Path, colour: tuple[int, int, int]) -> bool:
    image = Image.open(png).convert("RGB")
    pixels = {image.getpixel((x, y)) for x in range(0, image.width, 4) for y in range(0, min(image.height, 500), 4)}
    return any(all(abs(a - b) <= 6 for a, b in zip(pixel, colour, strict=True)) for pixel in pixels)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("which", "lang", "words", "colour"),
    [
        ("active", "en", ["Valid", "D. A***"], GREEN),
        ("revoked", "en", ["Revoked — not valid"], RED),
        ("revoked", "fr", ["Révoqué — non valide"], RED),
    ],
)
def test_a_browser_shows_the_status_in_words_and_colour(
    server: str, demo: dict[str, Any], which: str, lang: str, words: list[str], colour: tuple[int, int, int],
    tmp_path: Path,
) -> None:  # fmt: skip
    url = f"{server}/verify/{demo[which]}?lang={lang}"
    dom = chromium("--dump-dom", url)
    for word in words:
        assert word in dom, dom[:3000]
    assert "<form" in dom  # the name check works without JavaScript: a plain form
    shot = tmp_path / f"verify-{which}-{lang}.png"
    chromium(f"--screenshot={shot}", url)
    assert has_colour(shot, colour), f"no {colour} status banner in the screenshot"
    if os.environ.get("ARCCM_KEEP_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        shutil.copy(shot, DOCS / shot.name)
