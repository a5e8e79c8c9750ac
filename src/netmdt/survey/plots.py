"""The dashboard's plots, drawn on the server (matplotlib, SVG): no JavaScript needed."""

from __future__ import annotations

import io
from collections.abc import Sequence

from netmdt.survey.service import Figure, Measure


def figures_svg(figures: Sequence[Figure], measures: Sequence[Measure], by: str) -> bytes:
    """One panel per measure: the share in each group as a dot with its 95% Wilson
    interval, n beside it; groups without answers say so."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as Canvas

    canvas = Canvas(figsize=(7.5, 1.6 * len(measures)), layout="constrained")
    axes = canvas.subplots(len(measures), 1, sharex=True, squeeze=False)[:, 0]
    for ax, m in zip(axes, measures, strict=True):
        rows = [f for f in figures if f.measure == m.key]
        for y, f in enumerate(rows):
            if f.n and f.low is not None and f.high is not None and f.share is not None:
                ax.errorbar(
                    f.share * 100,
                    y,
                    xerr=[[(f.share - f.low) * 100], [(f.high - f.share) * 100]],
                    fmt="o",
                    color="#0b2e4f",
                    capsize=4,
                )
                ax.annotate(
                    f"{f.k}/{f.n}", (101, y), va="center", fontsize=8, annotation_clip=False
                )
            else:
                ax.annotate("no answers", (1, y), va="center", fontsize=8, color="#4a4a4a")
        ax.set_yticks(range(len(rows)), [f.group for f in rows])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_title(m.label, fontsize=10, loc="left")
        ax.grid(axis="x", color="#dddddd")
    axes[-1].set_xlabel(f"% of those who answered, by {by}, with 95% Wilson interval")
    out = io.BytesIO()
    canvas.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
