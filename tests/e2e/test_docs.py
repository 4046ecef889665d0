"""Examples in the README and docs run."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_python_examples_run(page: Path) -> None:
    out = io.StringIO()
    for block in python_blocks(page):
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(page), "exec"), {"__name__": "__doc_example__"})
    for expected in re.findall(r"print\(.*?\)\s+# (.+)", page.read_text()):
        assert expected.strip() in out.getvalue()


def test_the_sample_certificate_in_the_docs_is_a_real_render() -> None:
    import zxingcpp
    from PIL import Image

    image = Image.open(ROOT / "docs" / "img" / "certificate-sample.png")
    (qr,) = zxingcpp.read_barcodes(image)
    assert qr.text.endswith("/verify/QQJM-5RYP-9KJP-A")
