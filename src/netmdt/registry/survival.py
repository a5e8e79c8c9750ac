"""Kaplan-Meier PFS and OS (lifelines) and the figure (matplotlib) for the audit report.

Time zero is the first PRRT cycle (as the Newcastle audit and the Italian prospective
Lutathera study measure). PFS: to progression or death, censored at the last response
assessment (the last contact when there was none). OS: to death, censored at the last
date the patient was known alive. Months are days / (365.25 / 12).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

AT_RISK_MONTHS = (0, 6, 12, 18, 24)
DAYS_PER_MONTH = 365.25 / 12
MIN_EVENTS_FOR_LOGRANK = 5


@dataclass(frozen=True)
class Curve:
    label: str
    n: int
    events: int
    median_months: float | None  # None: not reached
    median_ci: tuple[float | None, float | None]
    at_risk: dict[int, int]
    durations: tuple[float, ...]
    observed: tuple[bool, ...]


def at_risk(durations: Sequence[float], times: Sequence[int] = AT_RISK_MONTHS) -> dict[int, int]:
    """How many are still followed (no event, not censored) at each time: duration >= t."""
    return {t: sum(1 for d in durations if d >= t) for t in times}


def _finite(x: Any) -> float | None:
    import math

    value = float(x)
    return None if math.isinf(value) or math.isnan(value) else value


def fit(label: str, durations: Sequence[float], observed: Sequence[bool]) -> Curve:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(label=label)
    kmf.fit(list(durations), event_observed=list(observed))
    ci = median_survival_times(kmf.confidence_interval_)
    lower, upper = ci.iloc[0, 0], ci.iloc[0, 1]
    return Curve(
        label=label,
        n=len(durations),
        events=sum(1 for o in observed if o),
        median_months=_finite(kmf.median_survival_time_),
        median_ci=(_finite(lower), _finite(upper)),
        at_risk=at_risk(durations),
        durations=tuple(float(d) for d in durations),
        observed=tuple(bool(o) for o in observed),
    )


def logrank(curves: Sequence[Curve]) -> tuple[float | None, str]:
    """The log-rank p-value across the curves, only when each has enough events."""
    if len(curves) < 2:
        return None, "one group only"
    few = [c.label for c in curves if c.events < MIN_EVENTS_FOR_LOGRANK]
    if few:
        return None, (
            f"too few events for a log-rank test (fewer than {MIN_EVENTS_FOR_LOGRANK} in "
            f"{', '.join(few)})"
        )
    from lifelines.statistics import multivariate_logrank_test

    durations = [d for c in curves for d in c.durations]
    groups = [c.label for c in curves for _ in c.durations]
    events = [o for c in curves for o in c.observed]
    result = multivariate_logrank_test(durations, groups, events)
    return float(result.p_value), "log-rank test"


def figure_png(title: str, groups: dict[str, tuple[Sequence[float], Sequence[bool]]]) -> str:
    """A KM figure with 95 % confidence bands, censor ticks and the numbers at risk at
    0/6/12/18/24 months under it, as a data: URI (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    fitters = []
    for label, (durations, observed) in groups.items():
        if not durations:
            continue
        kmf = KaplanMeierFitter(label=label).fit(list(durations), event_observed=list(observed))
        kmf.plot_survival_function(ax=ax, ci_show=True, show_censors=True)
        fitters.append(kmf)
    ax.set_title(title)
    ax.set_xlabel("Months from the first PRRT cycle")
    ax.set_ylabel("Probability")
    ax.set_xlim(0, max(AT_RISK_MONTHS))
    ax.set_ylim(0, 1.05)
    ax.set_xticks(list(AT_RISK_MONTHS))
    if fitters:
        add_at_risk_counts(*fitters, ax=ax, rows_to_show=["At risk"])
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
