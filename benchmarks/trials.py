"""Benchmark: trial matching beside ``assess()``, and ``netmdt screen --trial`` over a
synthetic cohort.

1. For each of ``--cases`` synthetic cases (``--seed``), times matching every trial card
   (closed ones too) on generated Python (``match_trials``), the same with the reference
   interpreter (``match_trials_reference``, the matcher before issue 16's compilation)
   and ``assess()`` in the same run, interleaved; prints the medians per case.
2. The engine's trial paths, as ``assess()`` and ``assess_summary()`` run them on the
   bundled knowledge base (not closed cards, our centre's settings): the full view's
   ``TrialMatch`` records (``netmdt.engine.assess._trials``) and the summary view's lines
   (``_trial_summary_list``), beside the same paths on the compiled matcher as it was
   before its records were cached whole (``_trials_before``, ``_summaries_before``
   below: a copy of ``netmdt.trials.compiled`` at commit 53237e5, which cached the
   outcome per status vector and rebuilt every record per case). Interleaved, in the
   same process; a first pass over the cases (each case's first time: the caches fill as
   a cohort goes), then ``--rounds`` more (warm caches: each case's best time); medians
   per case. ``--alone`` times each path's passes one after the other instead.
3. Generates ``--n`` synthetic cases as Parquet in a temporary folder (not timed), then
   times ``netmdt screen COHORT --trial ID`` in a child process (wall time and the
   child's peak resident memory). ``--cases-only`` skips it.

    python -m benchmarks.trials [--cases 2000] [--seed 11] [--rounds 3] [--alone] [--cases-only]
                                [--n 1000000] [--trial radiant2] [--kb DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.screen import run_measured
from netmdt.assessment import TrialMatch, TrialReason, TrialSummary, TrialVerdict
from netmdt.case import Case, parse_case
from netmdt.cohort.table import flat_row, write_flat
from netmdt.engine.assess import (
    _open_trial,
    _trial_summary_list,
    _trials,
    assess,
    missing_facts,
)
from netmdt.engine.facts import facts_of
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.synth import synthetic_cases
from netmdt.trials.compiled import _Arm, _Outcome, _outcome, _plan, _warnings
from netmdt.trials.load import TrialCriterion
from netmdt.trials.match import Local, Where, _plain, match_trials, match_trials_reference

# ----------------------------------------- the compiled matcher before whole records
# (netmdt.trials.compiled at commit 53237e5, on the same plans and outcome cache)


def _matches_before(
    kb: KnowledgeBase, facts: Mapping[str, Any], local: Local | None
) -> Iterable[tuple[_Arm, _Outcome]]:
    plan = _plan(kb, local or Local(), Where(), False)
    statuses = plan.statuses(facts)
    for arm in plan.arms:
        yield arm, _outcome(arm.trial, arm.picks, statuses[arm.index])


_PLAIN = frozenset({str, int, float, bool, date})
_SHOWN_BEFORE: dict[tuple[TrialCriterion, tuple[tuple[type, Any], ...]], TrialReason] = {}


def _shown_before(record: TrialReason, c: TrialCriterion, facts: Mapping[str, Any]) -> TrialReason:
    values = [facts.get(p) for p in c.reads]
    if all(v is None or type(v) in _PLAIN for v in values):
        key = (c, tuple([(type(v), v) for v in values]))
        found = _SHOWN_BEFORE.get(key)
        if found is None:
            if len(_SHOWN_BEFORE) >= 65536:
                _SHOWN_BEFORE.clear()
            found = _SHOWN_BEFORE[key] = _with_values_before(record, c, facts)
        return found
    return _with_values_before(record, c, facts)


def _with_values_before(
    record: TrialReason, c: TrialCriterion, facts: Mapping[str, Any]
) -> TrialReason:
    fields = dict(record.__dict__)
    fields["values"] = {p: _plain(facts[p]) for p in c.reads if facts.get(p) is not None}
    return TrialReason.trusted(**fields)


def _match_before(
    kb: KnowledgeBase, facts: Mapping[str, Any], local: Local | None
) -> list[TrialMatch]:
    from netmdt.trials.compiled import _plan  # noqa: F401  (match_trials imported per call)

    today = facts.get("assessed_on")
    today = today if isinstance(today, date) else None
    out: list[TrialMatch] = []
    for arm, o in _matches_before(kb, facts, local):
        reasons = [r if isinstance(r, TrialReason) else _shown_before(*r, facts) for r in o.reasons]
        out.append(
            TrialMatch.trusted(
                trial=arm.trial.card.id,
                acronym=arm.trial.card.acronym,
                registry_ids=dict(arm.registry_ids),
                arm=arm.arm,
                verdict=o.verdict,
                overall_status=arm.trial.card.overall_status,
                open=arm.opened,
                open_here=arm.here,
                opening_soon=arm.soon,
                status_note=arm.note,
                reasons=reasons,
                missing=(
                    missing_facts(list(o.unknown), facts, kb)
                    if o.verdict == "possibly_eligible"
                    else []
                ),
                manual_checks=list(arm.manual),
                sites=list(arm.sites),
                warnings=list(_warnings(arm.trial, today, arm.opened, arm.where)),
                review_needed=o.review,
            )
        )
    return out


def _trials_before(kb: KnowledgeBase, facts: dict[str, Any]) -> list[TrialMatch]:
    """``netmdt.engine.assess._trials`` on the matcher before (its import per call too)."""
    if not kb.trials:
        return []
    from netmdt.trials.match import match_trials  # noqa: F401

    found = _match_before(kb, facts, kb.trials_local)
    _open_trial(facts, {m.verdict for m in found if m.open_here})
    return found


def _summaries_before(kb: KnowledgeBase, facts: dict[str, Any]) -> list[TrialSummary]:
    """``netmdt.engine.assess._trial_summary_list`` on the matcher before."""
    if not kb.trials:
        return []
    from netmdt.trials.compiled import _plan  # noqa: F401

    out: list[TrialSummary] = []
    here: set[TrialVerdict] = set()
    for arm, o in _matches_before(kb, facts, kb.trials_local):
        if arm.here:
            here.add(o.verdict)
        if o.verdict == "not_eligible":
            continue
        out.append(
            TrialSummary.trusted(
                trial=arm.trial.card.id,
                acronym=arm.trial.card.acronym,
                arm=arm.arm,
                verdict=o.verdict,
                open=arm.opened,
                open_here=arm.here,
                opening_soon=arm.soon,
                missing=(
                    [m.field for m in missing_facts(list(o.unknown), facts, kb)]
                    if o.verdict == "possibly_eligible"
                    else []
                ),
            )
        )
    _open_trial(facts, here)
    return out


ENGINE_PATHS: dict[str, Callable[[KnowledgeBase, dict[str, Any]], object]] = {
    "full": _trials,
    "full, before": _trials_before,
    "summary": _trial_summary_list,
    "summary, before": _summaries_before,
}


def engine_paths(
    kb: KnowledgeBase, cases: list[Case], rounds: int = 3, alone: bool = False
) -> dict[str, tuple[float, float]]:
    """Per path: the median per case of the first pass and of each case's best time in
    ``rounds`` more passes (warm caches), in µs. Interleaved (each case through every
    path in turn), or with ``alone`` each path's passes one after the other."""
    if alone:
        found: dict[str, tuple[float, float]] = {}
        for name, fn in ENGINE_PATHS.items():
            found |= _timed({name: fn}, kb, cases, rounds)
        return found
    return _timed(ENGINE_PATHS, kb, cases, rounds)


def _timed(
    paths: dict[str, Callable[[KnowledgeBase, dict[str, Any]], object]],
    kb: KnowledgeBase,
    cases: list[Case],
    rounds: int,
) -> dict[str, tuple[float, float]]:
    for case in cases[:20]:  # the same answers, before and after
        assert _trials(kb, facts_of(case)) == _trials_before(kb, facts_of(case))
        assert _trial_summary_list(kb, facts_of(case)) == _summaries_before(kb, facts_of(case))
    first: dict[str, list[float]] = {name: [] for name in paths}
    best: dict[str, list[float]] = {name: [math.inf] * len(cases) for name in paths}
    for round_ in range(1 + rounds):
        for i, case in enumerate(cases):
            for name, fn in paths.items():
                facts = facts_of(case)  # the engine's own copy (the paths set a fact)
                start = time.perf_counter()
                fn(kb, facts)
                took = time.perf_counter() - start
                if round_ == 0:
                    first[name].append(took)
                else:
                    best[name][i] = min(best[name][i], took)
    return {
        name: (statistics.median(first[name]) * 1e6, statistics.median(best[name]) * 1e6)
        for name in paths
    }


def per_case(kb_dir: str | None, n: int, seed: int = 11) -> tuple[float, float, float, int]:
    kb = load_kb(kb_dir)
    cases = [parse_case(c) for c in synthetic_cases(n, seed)]
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
    parser.add_argument("--seed", type=int, default=11, help="seed of the synthetic cases")
    parser.add_argument("--rounds", type=int, default=3, help="warm passes (engine paths)")
    parser.add_argument("--alone", action="store_true", help="engine paths not interleaved")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    kb = load_kb(args.kb)
    cases = [parse_case(c) for c in synthetic_cases(args.cases, args.seed)]
    found = engine_paths(kb, cases, args.rounds, args.alone)
    print(
        f"engine trial paths, median per case of {args.cases:,} (seed {args.seed}; "
        f"{len(kb.trials)} cards; {'each alone' if args.alone else 'interleaved'}), us: "
        f"first pass / best of {args.rounds} more (warm)"
    )
    for name, (first, second) in found.items():
        print(f"  {name:<16} {first:8.1f} {second:8.1f}")
    for view in ("full", "summary"):
        before, after = found[f"{view}, before"][1], found[view][1]
        print(f"  {view}: {before / after:.1f}x faster (warm)")
    print(f"  load average {load[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    load = os.getloadavg()
    match_s, reference_s, assess_s, cards = per_case(args.kb, args.cases, args.seed)
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
