"""Benchmark: trial matching beside ``assess()``, and ``netmdt screen --trial`` over a
synthetic cohort.

1. For each of ``--cases`` synthetic cases, times matching every trial card (closed ones
   too) on generated Python (``match_trials``), the same with the reference interpreter
   (``match_trials_reference``, the matcher before issue 16's compilation) and
   ``assess()`` in the same run, interleaved; prints the medians per case. ``--cases-only``
   skips the screen.
2. Generates ``--n`` synthetic cases as Parquet in a temporary folder (not timed), then
   times ``netmdt screen COHORT --trial ID`` in a child process (wall time and the
   child's peak resident memory).

    python -m benchmarks.trials [--cases 2000] [--n 1000000] [--trial radiant2] [--kb DIR]
"""

from __future__ import annotations

import argparse
import os
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
from netmdt.trials.match import match_trials, match_trials_reference


def per_case(kb_dir: str | None, n: int) -> tuple[float, float, float, int]:
    kb = load_kb(kb_dir)
    cases = [parse_case(c) for c in synthetic_cases(n, 11)]
    for case in cases[:50]:  # warm up (compiling, caches)
        match_trials(kb, facts_of(case), include_closed=True)
        assess(case, kb)
    match_times, reference_times, assess_times = [], [], []
    for case in cases:
        facts = facts_of(case)
        start = time.perf_counter()
        match_trials(kb, facts, include_closed=True)
        match_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        match_trials_reference(kb, facts, include_closed=True)
        reference_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        assess(case, kb)
        assess_times.append(time.perf_counter() - start)
    return (
        statistics.median(match_times),
        statistics.median(reference_times),
        statistics.median(assess_times),
        len(kb.trials),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=2000, help="cases for the per-case timing")
    parser.add_argument("--n", type=int, default=1_000_000, help="cohort size for screen --trial")
    parser.add_argument("--trial", default="radiant2", help="the trial card to screen for")
    parser.add_argument("--kb", default=None, help="knowledge-base folder (default: bundled)")
    parser.add_argument("--cases-only", action="store_true", help="skip the screen")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    match_s, reference_s, assess_s, cards = per_case(args.kb, args.cases)
    print(
        f"per case (median of {args.cases:,}): match {cards} trial cards "
        f"{match_s * 1e6:,.1f} us (generated Python), {reference_s * 1e6:,.1f} us "
        f"(reference interpreter, {reference_s / match_s:.1f}x); assess() "
        f"{assess_s * 1e6:,.0f} us; load average {load[0]:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    if args.cases_only:
        return 0
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
