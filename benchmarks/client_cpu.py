"""The library's own CPU per enrollment: ``python -m benchmarks.client_cpu --schema S [--attempts N]``.

A diagnostic beside ``enroll_contended``, not part of the suite: on a kept schema (``python -m benchmarks --keep``)
it enrolls ``N`` learners one at a time into fresh sessions through the enroll use case, after 300 attempts of
warm-up, and prints the client process's CPU time (``time.process_time``) and the wall time per attempt.  On a
shared machine a throughput ratio moves with whatever else runs; the client's CPU per attempt moves much less,
so it is what compares two versions of the library (docs/performance.md, issue 15, eighth session).
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from benchmarks.__main__ import database_url
from benchmarks.suite import Bench, contended, library_enroller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--schema", required=True, help="a schema seeded and kept by python -m benchmarks --keep")
    parser.add_argument("--attempts", type=int, default=3_700)
    args = parser.parse_args()
    warm_up = 300
    bench = Bench.open(database_url(), args.schema, False, date.today())  # noqa: DTZ011 - the seed's anchor
    admin, ours, _, plan = contended(bench, 300, 25, args.attempts + warm_up)
    attempt = library_enroller(bench, admin, ours)
    for item in plan[:warm_up]:
        attempt(item)
    cpu, wall = time.process_time(), time.perf_counter()
    for item in plan[warm_up:]:
        attempt(item)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"client CPU {cpu * 1000 / args.attempts:.3f} ms per enrollment, wall {wall * 1000 / args.attempts:.3f} ms")


if __name__ == "__main__":
    main()
