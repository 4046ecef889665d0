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


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DOCUMENTED_CODE = "S1B9-WD06-VSJG-Z"  # the demo certificate's code when docs/cli.md was written


def console_examples(page: Path) -> list[tuple[str, list[str], int]]:
    """Each ``$ arccm …`` line of the page's console blocks, the lines shown after it, and its exit code."""
    examples: list[tuple[str, list[str], int]] = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ "):
                examples.append((line[2:], [], 0))
            elif (exited := re.fullmatch(r"# exit (\d+)", line)) and examples:
                examples[-1] = (examples[-1][0], examples[-1][1], int(exited.group(1)))
            elif examples:
                examples[-1][1].append(line)
    return examples


@pytest.mark.needs_postgres
def test_console_examples_run_on_a_fresh_demo(
    pg_url: str, demo_schema: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import shlex

    from arccm.adapters.cli.main import run

    monkeypatch.setenv("ARCCM_DATABASE_URL", pg_url)
    monkeypatch.setenv("ARCCM_DB_SCHEMA", demo_schema)

    def arccm(args: list[str]) -> tuple[int, list[str]]:
        with pytest.raises(SystemExit) as exited:
            run(args)
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), [*out.splitlines(), *err.splitlines()]

    _, listed = arccm(["certificates", "list", "--as", "sam@example.org", "--json"])
    code = json.loads(listed[0])["items"][0]["code"]
    examples = [e for page in PAGES for e in console_examples(page)]
    assert len(examples) >= 6
    for command, shown, expected_exit in examples:
        exit_code, printed = arccm(shlex.split(command.replace(DOCUMENTED_CODE, code))[1:])
        assert exit_code == expected_exit, (command, printed)
        masked = [UUID.sub("ID", line.replace(code, DOCUMENTED_CODE)) for line in printed]
        assert masked == [UUID.sub("ID", line) for line in shown], command
