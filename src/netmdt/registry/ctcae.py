"""CTCAE v5.0 grades computed from a laboratory value, its reference range and the
patient's baseline, by the rows of ``ctcae_v5.yaml`` (each row quotes the NCI text it
encodes). Only laboratory-graded terms: every other adverse event is entered with its
CTCAE term and grade by a clinician."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

CTCAE_VERSION = "5.0"


@dataclass(frozen=True)
class Term:
    term: str
    analyte: str
    unit: str
    meddra_code: int | None
    nci_text: dict[int, str]
    grades: dict[int, tuple[dict[str, Any], ...]]
    verified: str


@dataclass(frozen=True)
class Grade:
    """A computed grade (0 = within the limits of every grade) and why; ``grade`` is None
    when a limit the value needs (LLN, ULN) is not recorded."""

    term: str
    meddra_code: int | None
    grade: int | None
    reason: str
    ctcae_version: str = CTCAE_VERSION


@cache
def table() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        files("netmdt.registry").joinpath("ctcae_v5.yaml").read_text(encoding="utf-8")
    )
    return raw


@cache
def terms() -> dict[str, Term]:
    """The lab-graded terms by analyte (the lab field they grade)."""
    out = {}
    for row in table()["terms"]:
        out[row["analyte"]] = Term(
            term=row["term"],
            analyte=row["analyte"],
            unit=row["unit"],
            meddra_code=row["meddra_code"],
            nci_text={int(k): v for k, v in row["nci_text"].items()},
            grades={int(k): tuple(v) for k, v in row["grades"].items()},
            verified=row["verified"],
        )
    return out


def _exact(x: float) -> Fraction:
    return Fraction(str(x))


def grade(
    analyte: str,
    value: float,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
) -> Grade:
    """The CTCAE grade of one result. Raises KeyError for an analyte CTCAE does not grade
    here."""
    term = terms()[analyte]
    v = _exact(value)
    limits = {
        "LLN": None if lln is None else _exact(lln),
        "ULN": None if uln is None else _exact(uln),
        "baseline": None if baseline is None else _exact(baseline),
    }
    state = _baseline_state(limits)
    missing: set[str] = set()
    for g in sorted(term.grades, reverse=True):
        for rule in term.grades[g]:
            if rule.get("baseline", state) != state:
                continue
            if "value" in rule:
                threshold: Fraction | None = _exact(rule["value"])
            else:
                base = limits[rule["of"]]
                threshold = None if base is None else base * _exact(rule.get("times", 1))
                if base is None:
                    if rule["of"] != "baseline":
                        missing.add(rule["of"])
                    continue
            assert threshold is not None
            if _holds(rule["op"], v, threshold):
                text = term.nci_text[g]
                return Grade(term.term, term.meddra_code, g, f"grade {g}: {text}")
    if missing:
        return Grade(
            term.term,
            term.meddra_code,
            None,
            f"not gradable: the {' and '.join(sorted(missing))} of the laboratory is not recorded",
        )
    return Grade(term.term, term.meddra_code, 0, "within grade 1's limit")


def _baseline_state(limits: dict[str, Fraction | None]) -> str:
    b, lo, hi = limits["baseline"], limits["LLN"], limits["ULN"]
    if b is None:
        return "normal"
    if (hi is not None and b > hi) or (lo is not None and b < lo):
        return "abnormal"
    return "normal"


def _holds(op: str, v: Fraction, threshold: Fraction) -> bool:
    if op == "lt":
        return v < threshold
    if op == "gt":
        return v > threshold
    if op == "ge":
        return v >= threshold
    raise ValueError(f"unknown operator {op!r} in ctcae_v5.yaml")
