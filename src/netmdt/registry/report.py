"""The registry's audit report: enrolments by subgroup, cycles planned versus given (and
why treatment stopped early), the maximum toxicity grade per patient, the best response,
Kaplan-Meier PFS and OS from the first cycle (95 % confidence bands, numbers at risk, by
subgroup; log-rank only with enough events) and data completeness. As a standalone HTML
page and as a PDF (WeasyPrint, as the patient summary). No names or NHS numbers: patients
appear by registry number."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy.orm import Session

from netmdt.pdf import html_to_pdf
from netmdt.registry import survival
from netmdt.registry.schemas import RecordOut
from netmdt.registry.service import list_enrolments
from netmdt.registry.status import current_status
from netmdt.store.services import Actor, audit

TEMPLATES = Path(__file__).parent / "templates"
SUBGROUP_WORDS = {
    "bronchial": "Bronchial NET",
    "thymic": "Thymic NET",
    "ppgl": "Paraganglioma / phaeochromocytoma",
    "mtc": "Medullary thyroid carcinoma",
    "other_non_gep": "Other non-GEP NET",
    "gep_retreatment": "GEP NET retreatment",
    "unknown": "Subgroup unknown",
}


@dataclass(frozen=True)
class Times:
    pfs: tuple[float, bool] | None  # months, event; None: no cycle given
    os: tuple[float, bool] | None


def _months(a: date, b: date) -> float:
    return max(0.0, (b - a).days / survival.DAYS_PER_MONTH)


def times(r: RecordOut) -> Times:
    """PFS and OS from the first cycle. PFS: progression or death, else censored at the
    last response assessment (the last contact when no scan followed the first cycle). OS:
    death, else censored at the last date known alive (any record)."""
    if not r.cycles:
        return Times(None, None)
    t0 = r.cycles[0].given_on
    e = r.enrolment
    events = [d for d in (e.progression_date, e.death_date) if d is not None]
    if events:
        pfs = (_months(t0, min(events)), True)
    else:
        scans = [s.scanned_on for s in r.scans if s.scanned_on >= t0]
        last = max(scans) if scans else (e.last_contact or t0)
        pfs = (_months(t0, last), False)
    if e.death_date is not None:
        os = (_months(t0, e.death_date), True)
    else:
        known = [c.given_on for c in r.cycles] + [s.scanned_on for s in r.scans]
        known += [lab.taken_on for lab in r.labs] + [a.onset for a in r.adverse_events]
        known += [d for d in (e.last_contact, e.progression_date) if d is not None]
        os = (_months(t0, max(known)), False)
    return Times(pfs, os)


def report_data(db: Session, actor: Actor | str, today: date) -> dict[str, Any]:
    records = list_enrolments(db, actor)
    audit(db, actor, "read", "registry_report", None, count=len(records))
    db.commit()
    return build(records, today, current_status(db))


def build(records: list[RecordOut], today: date, status: str | None) -> dict[str, Any]:
    by_subgroup = Counter(r.enrolment.subgroup for r in records)
    rows = []
    for r in records:
        t = times(r)
        rows.append(
            {
                "id": r.enrolment.id,
                "subgroup": r.enrolment.subgroup,
                "enrolled_on": r.enrolment.enrolled_on,
                "planned": r.enrolment.planned_cycles,
                "given": len(r.cycles),
                "cumulative_gbq": r.cumulative_gbq,
                "stop_reason": r.enrolment.stop_reason,
                "max_grade": r.max_grade,
                "best_response": r.best_response,
                "sstr": next((s.sstr_response for s in reversed(r.scans) if s.sstr_response), None),
                "pfs": t.pfs,
                "os": t.os,
                "warnings": sum(len(c.warnings) for c in r.cycles),
            }
        )
    treated = [row for row in rows if row["pfs"] is not None]
    curves: dict[str, Any] = {}
    for end in ("pfs", "os"):
        overall = _fit("All patients", treated, end)
        groups: dict[str, survival.Curve] = {}
        for sub in sorted({str(row["subgroup"]) for row in treated}):
            members = [row for row in treated if row["subgroup"] == sub]
            fitted = _fit(SUBGROUP_WORDS.get(sub, sub), members, end)
            if fitted is not None:
                groups[sub] = fitted
        p, test = survival.logrank(list(groups.values()))
        title = "Progression-free survival" if end == "pfs" else "Overall survival"
        figures = []
        if overall is not None:
            figures.append(
                survival.figure_png(title, {overall.label: (overall.durations, overall.observed)})
            )
        if len(groups) > 1:
            figures.append(
                survival.figure_png(
                    f"{title} by subgroup",
                    {c.label: (c.durations, c.observed) for c in groups.values()},
                )
            )
        curves[end] = {
            "overall": overall,
            "groups": groups,
            "p": p,
            "test": test,
            "figures": figures,
        }
    return {
        "today": today,
        "status": status,
        "n": len(records),
        "treated": len(treated),
        "by_subgroup": {k: by_subgroup[k] for k in sorted(by_subgroup)},
        "rows": rows,
        "curves": curves,
        "completeness": completeness(records),
        "words": SUBGROUP_WORDS,
    }


def _fit(label: str, rows: list[dict[str, Any]], end: str) -> survival.Curve | None:
    if not rows:
        return None
    return survival.fit(label, [row[end][0] for row in rows], [row[end][1] for row in rows])


def completeness(records: list[RecordOut]) -> list[dict[str, Any]]:
    """For each item, how many enrolments have it."""
    items: dict[str, Callable[[RecordOut], bool]] = {
        "consent recorded": lambda r: True,
        "at least one cycle": lambda r: bool(r.cycles),
        "baseline bloods": lambda r: any(lab.baseline for lab in r.labs),
        "post-cycle bloods for every cycle": lambda r: (
            bool(r.cycles)
            and all(
                any(lab.taken_on > c.given_on and not lab.baseline for lab in r.labs)
                for c in r.cycles
            )
        ),
        "baseline scan (RECIST targets)": lambda r: any(s.baseline for s in r.scans),
        "a response assessment": lambda r: any(s.response for s in r.scans),
        "last contact or death": lambda r: (
            r.enrolment.last_contact is not None or r.enrolment.death_date is not None
        ),
        "subgroup known": lambda r: r.enrolment.subgroup != "unknown",
    }
    n = len(records)
    return [
        {"item": name, "have": sum(1 for r in records if test(r)), "of": n}
        for name, test in items.items()
    ]


def report_html(data: dict[str, Any]) -> str:
    return _env().get_template("registry_report.html.j2").render(**data)


def report_pdf(data: dict[str, Any]) -> bytes:
    return html_to_pdf(report_html(data))


def _fmt_months(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f}"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["months"] = _fmt_months
    return env
