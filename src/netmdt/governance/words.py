"""What a person reads beside a criterion about its review at the centre (the case page,
``netmdt assess --explain --db``, FHIR output). Pure: only the assessment's records."""

from __future__ import annotations

from netmdt.assessment import CentreReview
from netmdt.engine.expr import number_text


def review_words(review: bool | CentreReview) -> str:
    """What a person reads beside a criterion: the centre's review, or the bundled flag."""
    if isinstance(review, bool):
        return "review needed" if review else ""
    if review.status == "approved" and review.by:
        local = " (with a local change)" if review.verdict == "approved_with_local_change" else ""
        return f"reviewed at this centre by {review.by}, {review.on}{local}"
    if review.status == "lapsed":
        return f"review lapsed (the rule changed since {review.by} reviewed it on {review.on})"
    if review.status == "rejected":
        return f"rejected at this centre by {review.by}, {review.on}"
    return "awaiting review"


def local_words(review: bool | CentreReview) -> list[str]:
    if isinstance(review, bool):
        return []
    return [
        f"local setting {v.name} = {number_text(v.value)} {v.unit} "
        f"(default {number_text(v.default)}; set by {v.by}, {v.on})"
        for v in review.local_settings
        if v.by is not None
    ]
