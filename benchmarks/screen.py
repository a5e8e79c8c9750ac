"""Benchmark: screen 1,000,000 synthetic cases with every option, against the Python engine.

Generates a synthetic cohort (``netmdt synth``) as Parquet in a temporary folder (not
timed as screening), then times ``netmdt screen`` on it in a child process (wall time
and the child's peak resident memory), and in this process times ``netmdt.assess`` on a
20,000-case sample of the same generator. Prints the per-case speed ratio.

    python -m benchmarks.screen [--n 1000000] [--sample 20000] [--seed 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import netmdt
from netmdt.synth import synthetic_cases

NETMDT = [sys.executable, "-m", "netmdt.cli"]


def run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*NETMDT, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


MEASURED = """
import resource, sys
from netmdt.cli import app
try:
    app(sys.argv[1:], prog_name="netmdt")
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def run_measured(args: list[str]) -> tuple[float, int]:
    """Run a netmdt command in a child; its wall time and its own peak RSS (KiB)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return time.perf_counter() - start, int(done.stderr.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="cohort size (1,000,000)")
    parser.add_argument("--sample", type=int, default=20_000, help="Python sample (20,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cohort", type=Path, help="reuse this cohort (.parquet) instead")
    args = parser.parse_args(argv)

    kb = netmdt.load_kb()
    with tempfile.TemporaryDirectory() as tmp:
        cohort, out = Path(tmp) / "cohort.parquet", Path(tmp) / "results.parquet"
        generate = 0.0
        if args.cohort is not None:
            cohort = args.cohort
        else:
            generate = run(
                ["synth", "--n", str(args.n), "--seed", str(args.seed), "--out", str(cohort)]
            )
        wall, peak_kib = run_measured(
            ["screen", str(cohort), "--out", str(out), "--assessed-on", "2026-11-27"]
        )
        peak_mib = peak_kib / 1024
        rows = int(netmdt_rows(out))

    sample = [netmdt.parse_case(c) for c in synthetic_cases(args.sample, args.seed + 1)]
    for case in sample[:200]:
        netmdt.assess(case, kb)  # warm-up
    fresh = [netmdt.parse_case(c.model_dump()) for c in sample]
    times = []
    for case in fresh:
        t0 = time.perf_counter_ns()
        netmdt.assess(case, kb)
        times.append(time.perf_counter_ns() - t0)
    python_mean = statistics.fmean(times) / 1e3
    sql_per_case = wall / (rows // len(kb.options)) * 1e6

    print("netmdt screen benchmark")
    print(f"  knowledge base     {kb.version} ({kb.fingerprint}), {len(kb.options)} options")
    print(
        f"  cohort             {rows // len(kb.options):,} cases "
        + (f"from {args.cohort}" if args.cohort else f"generated in {generate:.1f} s")
        + " (not timed as screening)"
    )
    print(
        f"  screen             {wall:.1f} s wall for {rows:,} result rows (target <= 20 s), "
        f"peak memory of the screen process {peak_mib:,.0f} MiB (target <= 4096 MiB)"
    )
    print(f"                     {sql_per_case:.1f} µs per case, all options")
    print(
        f"  python engine      {args.sample:,}-case sample: mean {python_mean:.0f} µs, median "
        f"{statistics.median(times) / 1e3:.0f} µs per case"
    )
    print(
        f"  ratio              python / screen per case: {python_mean / sql_per_case:.0f}x "
        "(target >= 50x)"
    )
    return 0


def netmdt_rows(path: Path) -> int:
    import duckdb

    return int(duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0][0])


if __name__ == "__main__":
    sys.exit(main())
