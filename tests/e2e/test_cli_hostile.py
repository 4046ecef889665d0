"""Every CLI command, fed hostile input: a non-zero exit, exactly one line on stderr, no traceback, nothing written.

The commands are found by walking the CLI itself, so a command added later is swept too.  Each parameter of
each command gets, in turn, every hostile value while the others hold plausible ones.  Two databases: an
unreachable one (every command must say so in one line), and the PostgreSQL service with a demo organization (the
values reach the use cases).  argv cannot carry NUL, and one argument is at most 128 KiB on Linux.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from arccm.adapters.cli.main import app, placeholders, run

HOSTILE = (
    "x" * 131_000,  # just under Linux's 128 KiB limit for one argument
    "\x1b[31mred\x07\r\nline two\ttab",
    "not-a-uuid",
    "-1",
    "9" * 5_000,
    "",
    "/proc/self/no/such/dir/out.pdf",
    "Robert'); DROP TABLE certificates;--",
    "名前 \u202e reversed",
    "-5:-3",
    "99999999999999999999999:1",
    "2026-02-30",
)
BOUNDED = {"max_events"}  # always given (a plausible value unless it is the hostile one): a tail must end
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nowhere"
# commands that change or load a whole database, never run against the shared service by this sweep
WHOLE_DATABASE = {("demo",), ("seed",), ("db", "upgrade"), ("db", "downgrade")}
SERVES = {("serve",)}  # runs until stopped: its bad input is refused before it serves (the unreachable sweep)


def _commands() -> Iterator[tuple[tuple[str, ...], object]]:
    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], object]]:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in sorted(subcommands.items()):
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    yield from walk(placeholders(typer.main.get_command(app)), ())


COMMANDS = list(_commands())


def _plausible(param: object) -> str:
    name = getattr(param, "name", "")
    known = {"max_events": "1", "code": "6G8S-9DFS-N7EB-9", "output": "never-written.pdf", "text": "lee",
             "user": "sam@example.org"}  # fmt: skip
    return known.get(name, str(uuid.uuid4()))  # sam is the demo's administrator: hostile values reach the use cases


# the values that get past the parser to the use cases and the database (the rest are refused before they connect,
# and the unreachable sweep covers them): the database sweep starts a container per case, so it takes these only
REACHING = (HOSTILE[0], HOSTILE[1], HOSTILE[2], HOSTILE[7], HOSTILE[8])


def _cases(command: object, values: tuple[str, ...] = HOSTILE) -> Iterator[list[str]]:
    params = [p for p in command.params if not getattr(p, "is_flag", False) and p.name != "help"]  # type: ignore[attr-defined]

    def argv(hostile_param: object, hostile: str) -> list[str]:
        out: list[str] = []
        for p in params:
            if not p.required and p is not hostile_param and p.name not in BOUNDED:
                continue
            text = hostile if p is hostile_param else _plausible(p)
            out += [text] if p.param_type_name == "argument" else [p.opts[-1], text]
        return out

    for p in params:
        for hostile in values:
            yield argv(p, hostile)


def _sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: tuple[str, ...], command: object,
    values: tuple[str, ...] = HOSTILE,
) -> None:  # fmt: skip
    failures = []
    for args in _cases(command, values):
        with pytest.raises(SystemExit) as exited:
            run([*path, *args])
        _, err = capsys.readouterr()
        code = exited.value.code
        shown = [a[:40] for a in args]
        if code == 0 and not err:
            continue  # a hostile value that is nevertheless valid (a name to search for): fine, if it said nothing
        if not isinstance(code, int) or code == 0 or len(err.splitlines()) != 1 or "Traceback" in err:
            failures.append(f"{' '.join(path)} {shown}: exit {code}, stderr {err[:300]!r}")
        elif len(err) > 400:
            failures.append(f"{' '.join(path)} {shown}: stderr of {len(err)} characters")
    assert not failures, "\n".join(failures[:20])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_hostile_input_with_an_unreachable_database(
    path: tuple[str, ...], command: object, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ARCCM_DATABASE_URL", UNREACHABLE)
    monkeypatch.chdir(tmp_path)
    _sweep(tmp_path, capsys, path, command)


@pytest.mark.needs_postgres
@pytest.mark.soak  # once, against the service: the unreachable sweep above covers both passes
@pytest.mark.parametrize(
    ("path", "command"),
    [(p, c) for p, c in COMMANDS if p not in WHOLE_DATABASE | SERVES],
    ids=[" ".join(p) for p, _ in COMMANDS if p not in WHOLE_DATABASE | SERVES],
)
def test_hostile_input_with_a_database(
    path: tuple[str, ...], command: object, pg_url: str, demo_schema: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ARCCM_DATABASE_URL", pg_url)
    monkeypatch.setenv("ARCCM_DB_SCHEMA", demo_schema)
    monkeypatch.chdir(tmp_path)
    _sweep(tmp_path, capsys, path, command, REACHING)


def test_help_names_every_value_and_no_type() -> None:
    """A placeholder says what to give (CODE, PATH, N), never a type (<str>, <bool>)."""
    unnamed = [
        f"{' '.join(path)} {param.name}"
        for path, command in COMMANDS
        for param in command.params  # type: ignore[attr-defined]
        if not getattr(param, "is_flag", False) and param.name != "help" and not param.metavar
    ]
    assert unnamed == []


def test_stored_text_is_shown_as_text_on_a_terminal() -> None:
    """A name holding markup or a terminal escape is printed as it is written, on a real terminal (a pty)."""
    import os
    import pty
    import subprocess
    import sys

    snippet = (
        "import attrs\nfrom arccm.adapters.cli.common import table\n"
        "@attrs.frozen\nclass Row:\n    name: str\n"
        "table([Row('[bold red]Eve[/] \\x1b[31mred'), Row('[/]')], ['name'])\n"
    )
    primary, secondary = pty.openpty()
    done = subprocess.run([sys.executable, "-c", snippet], stdout=secondary, stderr=subprocess.PIPE, timeout=60,
                          env={**os.environ, "COLUMNS": "80"}, check=False)  # fmt: skip
    os.close(secondary)
    shown = os.read(primary, 65536).decode()
    os.close(primary)
    assert done.returncode == 0, done.stderr
    assert "[bold red]Eve[/] \\x1b[31mred" in shown
    assert "\x1b[31mred" not in shown
    assert "│ [/]" in shown
