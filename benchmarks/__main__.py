"""python -m benchmarks [--quick] [--json PATH]: every benchmark against its baseline, one database, one run.

The database is ARCCM_BENCH_DATABASE_URL, else ARCCM_DATABASE_URL, else an embedded server. A fresh schema is
seeded (scale s with --quick, m otherwise), measured, and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from arccm.adapters.postgres.database import Database, normalize_url
from arccm.adapters.postgres.seed import seed
from arccm.adapters.runtime import server_url
from benchmarks.legacy_volume import import_legacy
from benchmarks.over_http import http_enroll, http_verify, sse_fanout
from benchmarks.suite import SUITE, Bench

SUITE.extend([("http_verify", http_verify), ("http_enroll", http_enroll), ("sse_fanout", sse_fanout)])  # issue 12
SUITE.append(("import_legacy", import_legacy))  # issue 14


def database_url() -> str:
    configured = os.environ.get("ARCCM_BENCH_DATABASE_URL") or os.environ.get("ARCCM_DATABASE_URL")
    return server_url(configured, Path(tempfile.gettempdir()) / "arccm-bench")


def row_level_security(database: Database, on: bool) -> None:
    """Enable (and force) or disable row-level security on every table arccm's migrations made."""
    change = (
        "ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY"
        if on
        else "NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY"
    )
    with database.owner_engine().begin() as connection:
        tables = connection.execute(
            text("SELECT DISTINCT tablename FROM pg_policies WHERE schemaname = :s"),
            {"s": database.schema},
        ).scalars()
        for table in list(tables):
            connection.execute(text(f'ALTER TABLE "{database.schema}"."{table}" {change}'))


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of several runs of one benchmark in one setting, the one whose own figure is the median (all are listed)."""
    chosen = sorted(runs, key=lambda r: r["ours"])[len(runs) // 2]
    if len(runs) > 1:
        chosen["extra"]["rounds"] = [{"ours": r["ours"], "baseline": r["baseline"]["value"]} for r in runs]
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="scale s and fewer repetitions (a few minutes)")
    parser.add_argument("--json", type=Path, help="write the results here (DESIGN §6 format)")
    parser.add_argument("--scale", choices=["demo", "s", "m", "l"], help="override the data scale")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    parser.add_argument("--keep", action="store_true", help="keep the seeded schema")
    parser.add_argument("--schema", help="run on this kept schema (seeded by an earlier --keep run) instead of seeding")
    parser.add_argument(
        "--rls",
        choices=["on", "off", "both"],
        default="on",
        help="off: the same suite with row-level security disabled on every table (to measure what it costs);"
        " both: each benchmark with it on and off, back to back on the same data, in alternating order",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run each benchmark this many times per setting (alternating with --rls both) and report the median run",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    scale = args.scale or ("s" if args.quick else "m")
    url = database_url()
    schema = args.schema or f"bench_{scale}_{uuid.uuid4().hex[:8]}"
    database = Database(normalize_url(url), schema=schema)
    today = date.today()  # noqa: DTZ011 - the seed's anchor
    started = time.perf_counter()
    database.upgrade()  # a kept schema (--schema) is brought to the newest revision first
    if args.schema is None:
        report = seed(database.owner_engine(), schema, scale, 1, today)
        print(f"seeded scale {scale} in {report.seconds}s into {schema}", file=sys.stderr)
    bench = Bench.open(url, schema, args.quick, today)
    results: list[dict[str, Any]] = []
    try:
        for index, (name, run) in enumerate(SUITE):
            if args.only and name not in args.only:
                continue
            runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
            for round_ in range(args.rounds):
                first = (index + round_) % 2 == 0  # on first, then off — and the other way round the next time
                settings = {"on": [True], "off": [False], "both": [True, False] if first else [False, True]}
                for on in settings[args.rls]:
                    row_level_security(database, on=on)
                    began = time.perf_counter()
                    result = run(bench).as_json()
                    result["extra"]["row_level_security"] = "on" if on else "off"
                    runs[on].append(result)
                    print(
                        f"{name:<22} {'on ' if on else 'off'} ours {result['ours']:>10} {result['unit']:<15}"
                        f" {result['baseline']['name']:<12} {result['baseline']['value']:>10}"
                        f"  ratio {result['ratio']:>7}  ({time.perf_counter() - began:.0f}s)",
                        file=sys.stderr,
                    )
            results.extend(median_run(found) for found in runs.values() if found)
    finally:
        row_level_security(database, on=True)
        bench.container.subscriptions().stop()  # before the server goes: its listener would only reconnect in vain
        bench.container.lifecycle().shutdown()
        if not args.keep and args.schema is None:
            with database.owner_engine().begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    document = {
        "schema": 1,
        "quick": bool(args.quick),
        "scale": scale,
        "row_level_security": args.rls,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
    if args.json:
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    else:
        print(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
