"""Benchmark: screen 1,000,000 synthetic cases with every option, against the Python engine.

Generates a synthetic cohort (``netmdt synth``) as Parquet in a temporary folder (not
timed as screening), then times ``netmdt screen`` on it in a child process (wall time
and the child's peak resident memory), and in this process times ``netmdt.assess`` on a
20,000-case sample of the same generator. Prints the per-case speed ratio, and the
screen's trial verdict columns (``trial__<id>[__<arm>]``) with their counts.

``--open-here all`` (or a comma-separated list of card ids) screens with those trials
opened at our centre by local decision (``netmdt.trials.local.localised``), as a
centre's settings do: ``derived.open_trial_eligible`` then comes from the trial
verdicts. The screen runs in the child as ``netmdt screen`` runs it
(``netmdt.cohort.screen.screen``).

    python -m benchmarks.screen [--n 1000000] [--sample 20000] [--seed 7] \
        [--cohort FILE] [--open-here all|ID,ID]
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
from netmdt.trials.match import is_closed

NETMDT = [sys.executable, "-m", "netmdt.cli"]


def run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*NETMDT, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


MEASURED = """
import resource, sys
from datetime import date
from pathlib import Path
from netmdt import load_kb
from netmdt.cohort.screen import screen
from netmdt.trials.local import localised
from netmdt.trials.match import Local
cohort, out, here = sys.argv[1:4]
kb = load_kb()
if here:
    kb = localised(kb, Local(open_here=frozenset(here.split(","))))
try:
    screen(kb, Path(cohort), Path(out), date(2026, 11, 27))
finally:
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(use.ru_maxrss, use.ru_utime + use.ru_stime, file=sys.stderr)
"""


def run_measured(args: list[str]) -> tuple[float, int, float]:
    """Screen in a child (arguments: cohort, out, trials opened here); its wall time, its
    own peak RSS (KiB) and its CPU time (user + system, s: less sensitive than the wall
    time to other users' jobs on a shared machine)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak, cpu = done.stderr.strip().splitlines()[-1].split()
    return time.perf_counter() - start, int(peak), float(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="cohort size (1,000,000)")
    parser.add_argument("--sample", type=int, default=20_000, help="Python sample (20,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cohort", type=Path, help="reuse this cohort (.parquet) instead")
    parser.add_argument(
        "--open-here", default="", help="trials opened at our centre: all, or ID,ID (none)"
    )
    args = parser.parse_args(argv)

    kb = netmdt.load_kb()
    here = args.open_here
    if here == "all":
        here = ",".join(t.id for t in kb.trials.values() if not is_closed(t.card))
    with tempfile.TemporaryDirectory() as tmp:
        cohort, out = Path(tmp) / "cohort.parquet", Path(tmp) / "results.parquet"
        generate = 0.0
        if args.cohort is not None:
            cohort = args.cohort
        else:
            generate = run(
                ["synth", "--n", str(args.n), "--seed", str(args.seed), "--out", str(cohort)]
            )
        wall, peak_kib, cpu = run_measured([str(cohort), str(out), here])
        peak_mib = peak_kib / 1024
        rows = int(netmdt_rows(out))
        trials = trial_counts(out, sorted(kb.options)[0])

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
    print(f"                     {sql_per_case:.1f} µs per case, all options; {cpu:.1f} s CPU")
    print(f"  trials open here   {here or 'none'}")
    print(f"  trial columns      {len(trials)} (a verdict per case: eligible / possibly / not)")
    for name, counts in trials.items():
        shown = " / ".join(f"{counts.get(v, 0):,}" for v in TRIAL_VERDICTS)
        print(f"    {name:<42} {shown}")
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


TRIAL_VERDICTS = ("eligible", "possibly_eligible", "not_eligible")


def trial_counts(path: Path, option: str) -> dict[str, dict[str, int]]:
    """The trial columns of a results file, counts by verdict (one row per case: the
    rows of ``option``); empty for a screen without trial columns."""
    import duckdb

    rel = duckdb.read_parquet(str(path)).filter(f"option = '{option}'")
    out: dict[str, dict[str, int]] = {}
    for name in [c for c in rel.columns if c.startswith("trial__")]:
        rows = rel.aggregate(f'"{name}", count(*)').fetchall()
        out[name] = {str(v): int(n) for v, n in rows}
    return out


if __name__ == "__main__":
    sys.exit(main())
