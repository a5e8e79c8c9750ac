"""RECIST 1.1 response from lesion measurements (Eisenhauer EA et al., Eur J Cancer
2009;45:228-247):

- targets: at most 5 in total and 2 per organ; a non-nodal target measures >= 10 mm in
  its longest diameter, a nodal target >= 15 mm in its short axis (10 to < 15 mm is a
  non-target node, < 10 mm is normal);
- the sum is the longest diameters of non-nodal targets plus the short axes of nodal ones;
- CR: every non-nodal target gone and every nodal target < 10 mm short axis;
- PR: the sum at least 30 % below the baseline sum;
- PD: the sum at least 20 % above the smallest sum on study (the nadir, baseline
  included) AND at least 5 mm above it; or a new lesion; or unequivocal progression of
  non-target disease;
- SD: otherwise.

Confirmation of a response (>= 4 weeks) is not applied: it is needed only when response
is the primary end point, and the registry reports best response unconfirmed (said so in
the report).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from netmdt.errors import Problem, RecordValidationError

MAX_TARGETS = 5
MAX_PER_ORGAN = 2
NON_NODAL_MIN_MM = 10
NODAL_MIN_MM = 15
NODE_NORMAL_MM = 10
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
_RANK = {"CR": 0, "PR": 1, "SD": 2, "PD": 3, "NE": 4}


@dataclass(frozen=True)
class Target:
    lesion: str  # the lesion's label, the same at every scan
    organ: str
    nodal: bool
    mm: float  # longest diameter (non-nodal) or short axis (nodal); 0 = gone


@dataclass(frozen=True)
class Scan:
    targets: tuple[Target, ...]
    new_lesions: bool = False
    non_target: str = "none"  # none | absent | present | unequivocal_progression


@dataclass(frozen=True)
class Response:
    sum_mm: float
    nadir_mm: float  # smallest sum before this scan (baseline included)
    change_from_baseline_percent: float
    change_from_nadir_percent: float
    target_response: str
    overall: str
    reason: str


def check_baseline(targets: list[Target] | tuple[Target, ...], where: str = "lesions") -> None:
    """Refuse a baseline target set RECIST 1.1 does not allow, naming each lesion."""
    problems = []
    if len(targets) > MAX_TARGETS:
        problems.append(
            Problem(
                where, f"{len(targets)} target lesions: RECIST 1.1 allows at most {MAX_TARGETS}"
            )
        )
    for organ, n in Counter(t.organ for t in targets).items():
        if n > MAX_PER_ORGAN:
            problems.append(
                Problem(
                    where,
                    f"{n} target lesions in {organ}: RECIST 1.1 allows at most "
                    f"{MAX_PER_ORGAN} per organ",
                )
            )
    seen: set[str] = set()
    for i, t in enumerate(targets):
        at = f"{where}[{i}]"
        if t.lesion in seen:
            problems.append(Problem(f"{at}.lesion", f"lesion {t.lesion!r} is listed twice"))
        seen.add(t.lesion)
        if t.nodal and t.mm < NODAL_MIN_MM:
            problems.append(
                Problem(
                    f"{at}.mm",
                    f"a lymph node of {t.mm:g} mm short axis cannot be a RECIST target: a "
                    f"target node measures >= {NODAL_MIN_MM} mm (10 to < 15 mm: non-target)",
                )
            )
        if not t.nodal and t.mm < NON_NODAL_MIN_MM:
            problems.append(
                Problem(
                    f"{at}.mm",
                    f"a lesion of {t.mm:g} mm cannot be a RECIST target: a measurable "
                    f"lesion's longest diameter is >= {NON_NODAL_MIN_MM} mm",
                )
            )
    if problems:
        raise RecordValidationError(problems)


def _sum(scan: Scan) -> Fraction:
    return sum((Fraction(str(t.mm)) for t in scan.targets), Fraction(0))


def _pct(a: Fraction, b: Fraction) -> float:
    return 0.0 if b == 0 else float((a - b) * 100 / b)


def responses(baseline: Scan, follow_ups: list[Scan]) -> list[Response]:
    """The response at each follow-up scan (in date order) against the baseline."""
    check_baseline(baseline.targets)
    labels = {t.lesion for t in baseline.targets}
    base = _sum(baseline)
    nadir = base
    out = []
    for n, scan in enumerate(follow_ups):
        got = {t.lesion for t in scan.targets}
        if got != labels:
            raise RecordValidationError(
                [
                    Problem(
                        f"scans[{n}].lesions",
                        "measure the baseline's target lesions at every scan (0 mm when gone); "
                        f"missing: {sorted(labels - got)}, not at baseline: {sorted(got - labels)}",
                    )
                ]
            )
        total = _sum(scan)
        out.append(_response(scan, total, base, nadir))
        nadir = min(nadir, total)
    return out


def _response(scan: Scan, total: Fraction, base: Fraction, nadir: Fraction) -> Response:
    grew = total - nadir
    if grew * 100 >= 20 * nadir and grew >= 5 and nadir >= 0 and grew > 0:
        target, why = "PD", "sum >= 20 % and >= 5 mm above the nadir"
    elif all((t.mm < NODE_NORMAL_MM) if t.nodal else (t.mm == 0) for t in scan.targets):
        target, why = "CR", "every non-nodal target gone and every target node < 10 mm"
    elif base > 0 and (base - total) * 100 >= 30 * base:
        target, why = "PR", "sum >= 30 % below baseline"
    else:
        target, why = "SD", "neither 30 % smaller than baseline nor 20 % and 5 mm above nadir"
    overall = target
    if scan.new_lesions:
        overall, why = "PD", "new lesion"
    elif scan.non_target == "unequivocal_progression":
        overall, why = "PD", "unequivocal progression of non-target disease"
    elif target == "CR" and scan.non_target == "present":
        overall, why = "PR", "targets in complete response, non-target disease still present"
    return Response(
        sum_mm=float(total),
        nadir_mm=float(nadir),
        change_from_baseline_percent=round(_pct(total, base), 1),
        change_from_nadir_percent=round(_pct(total, nadir), 1),
        target_response=target,
        overall=overall,
        reason=why,
    )


def best(overall: list[str]) -> str | None:
    """The best overall response recorded (unconfirmed)."""
    return min(overall, key=_RANK.__getitem__) if overall else None
