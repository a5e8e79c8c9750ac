"""Benchmark: trial matching beside ``assess()``, and ``netmdt screen --trial`` over a
synthetic cohort.

1. For each of ``--cases`` synthetic cases, times matching every trial card (closed ones
   too) and ``assess()`` in the same run; prints the medians per case.
2. Generates ``--n`` synthetic cases as Parquet in a temporary folder (not timed), then
   times ``netmdt screen COHORT --trial ID`` in a child process (wall time and the
   child's peak resident memory).

    python -m benchmarks.trials [--cases 2000] [--n 1000000] [--trial radiant2] [--kb DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.screen import run_measured
from netmdt.case import parse_case
from netmdt.cohort.table import flat_row, write_flat
from netmdt.engine.assess import assess
from netmdt.engine.facts import facts_of
from netmdt.kb import load_kb
from netmdt.synth import synthetic_cases
from netmdt.trials.match import match_trials


def per_case(kb_dir: str | None, n: int) -> tuple[float, float, int]:
    kb = load_kb(kb_dir)
    cases = [parse_case(c) for c in synthetic_cases(n, 11)]
    match_times, assess_times = [], []
    for case in cases:
        start = time.perf_counter()
        match_trials(kb, facts_of(case), include_closed=True)
        match_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        assess(case, kb)
        assess_times.append(time.perf_counter() - start)
    return statistics.median(match_times), statistics.median(assess_times), len(kb.trials)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=2000, help="cases for the per-case timing")
    parser.add_argument("--n", type=int, default=1_000_000, help="cohort size for screen --trial")
    parser.add_argument("--trial", default="radiant2", help="the trial card to screen for")
    parser.add_argument("--kb", default=None, help="knowledge-base folder (default: bundled)")
    args = parser.parse_args(argv)
    match_s, assess_s, cards = per_case(args.kb, args.cases)
    print(
        f"per case (median of {args.cases:,}): match {cards} trial cards "
        f"{match_s * 1e6:,.0f} us; assess() {assess_s * 1e6:,.0f} us"
    )
    with tempfile.TemporaryDirectory(prefix="netmdt-trials-bench-") as folder:
        cohort = Path(folder) / "cohort.parquet"
        write_flat((flat_row(c) for c in synthetic_cases(args.n, 7)), cohort)
        cmd = [
            "screen",
            str(cohort),
            "--trial",
            args.trial,
            "--out",
            str(Path(folder) / "o.parquet"),
        ]
        if args.kb:
            cmd += ["--kb", args.kb]
        wall, rss_kib = run_measured(cmd)
    print(
        f"screen --trial {args.trial} over {args.n:,} cases: {wall:.1f} s wall, "
        f"peak {rss_kib / 1024:,.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
