"""Words for the CLI's text output (``netmdt assess``, ``--explain``): sources as short
citations, missing facts by label with whom to ask, and the trial matches. No internal
code or field path reaches a person here (issue #11); the ids stay in ``--format json``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from netmdt.assessment import CentreReview, Missing, SourceRef, TrialMatch, TrialReason
from netmdt.kb import KnowledgeBase
from netmdt.vocabulary import field_label, who_to_ask

SHORT = 40  # characters of a citation's head before it is cut at a word
LONGER = 70  # the head again, for citations whose short forms clash
ABBREVIATIONS = (("National Institute for Health and Care Excellence", "NICE"),)
# Where a citation's head ends: a bracketed title, a sentence, a colon, a comma, a parenthesis.
HEAD_END = re.compile(r" \[|\. |: |, | \(|;")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _with_year(head: str, year: int | None) -> str:
    return f"{head} {year}" if year and str(year) not in head else head


def _plain(citation: str) -> str:
    text = citation.strip()
    for long, short in ABBREVIATIONS:
        text = text.replace(long, short)
    text = re.sub(r"\bet al\.", "et al", text)
    return text.replace("[", "").replace("]", "") if text.startswith("[") else text


def short_citation(source: SourceRef, limit: int = SHORT) -> str:
    """ "Abell et al 2015": the citation's head (authors or title), cut short, and its year."""
    text = _plain(source.citation)
    end = HEAD_END.search(text) if limit == SHORT else None
    head = (text[: end.start()] if end else text).rstrip(". ").strip()
    return _with_year(_cut(head, limit), source.year)


def short_citations(sources: Iterable[SourceRef]) -> dict[str, str]:
    """Each source id's short citation, unique within ``sources``: clashing ones get a longer
    head, and any still the same a letter by id order ("... 2021 (a)"). Deterministic."""
    ordered = sorted(sources, key=lambda s: s.id)
    names = {s.id: short_citation(s) for s in ordered}
    for limit in (LONGER, None):
        groups: dict[str, list[SourceRef]] = defaultdict(list)
        for s in ordered:
            groups[names[s.id]].append(s)
        for group in (g for g in groups.values() if len(g) > 1):
            for n, s in enumerate(group):
                if limit is None:
                    names[s.id] = f"{names[s.id]} ({chr(ord('a') + n)})"
                else:
                    names[s.id] = short_citation(s, limit)
    return names


def cited(ids: Iterable[str], names: Mapping[str, str]) -> str:
    """ "(Abell et al 2015; Caplin et al CLARINET 2014)", or "" for no sources."""
    shown = [names.get(i, "a source not in this knowledge base") for i in ids]
    return f" ({'; '.join(shown)})" if shown else ""


def missing_text(missing: Iterable[Missing]) -> str:
    """ "Ki-67 index — ask pathology; ...": as the web's case page and form show them."""
    return "; ".join(dict.fromkeys(f"{m.label} — {who_to_ask(m.field)}" for m in missing))


FIELD_PATH = re.compile(
    r"\b(?:tumour|disease|imaging|labs|performance|history|context)(?:\.[a-z0-9_]+)+\b"
)


def plain_paths(text: str, kb: KnowledgeBase | None) -> str:
    """A text with any case field path written as the field's label ("tumour.grade" reads
    "Grade"): for texts made outside the knowledge base (the case's own warnings)."""
    if kb is None:
        return text
    return FIELD_PATH.sub(lambda m: field_label(kb, m.group(0)), text)


STATUS_WORDS = {"met": "met", "unmet": "not met", "unknown": "unknown"}
VERDICT_WORDS = {
    "eligible": "ELIGIBLE",
    "possibly_eligible": "POSSIBLY ELIGIBLE",
    "not_eligible": "NOT ELIGIBLE",
}


def trial_reason_text(r: TrialReason) -> str:
    """ "Inclusion met: Aged 18 or over (clinicaltrialcompass.org) (awaiting review)"."""
    from netmdt.governance.words import review_words

    review = r.review
    if isinstance(review, CentreReview):
        flag = f" ({review_words(review)})"
    else:
        flag = " [review]" if review else ""
    where = f" ({urlsplit(r.url).hostname})" if r.url and urlsplit(r.url).hostname else ""
    return f"{r.kind.capitalize()} {STATUS_WORDS[r.status]}: {r.text}{where}{flag}"


def trial_lines(m: TrialMatch, arm_label: str | None) -> list[str]:
    """A trial (and arm) for one case: its verdict, each criterion, what would settle it."""
    name = m.acronym + (f" (arm: {arm_label or m.arm})" if m.arm else "")
    state = "open here" if m.open_here else "open" if m.open else "not open"
    lines = [f"{name}: {VERDICT_WORDS[m.verdict]} [{state}; {m.status_note}]"]
    lines += [f"  - {trial_reason_text(r)}" for r in m.reasons]
    if m.missing:
        lines.append(f"  Missing: {missing_text(m.missing)}")
    if m.manual_checks:
        lines.append(
            f"  Check by hand: {len(m.manual_checks)} registry criteria not encoded "
            "(netmdt trials match lists them)"
        )
    lines += [f"  warning: {w}" for w in m.warnings]
    return lines
