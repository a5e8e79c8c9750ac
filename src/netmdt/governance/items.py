"""The reviewable items of a knowledge base, each with a fingerprint of its content.

An item id names what a clinical lead reviews:

* ``<option>.<criterion>`` and ``<option>.<warning>``, e.g.
  ``prrt_lu177_dotatate.type_suitable`` (criterion and warning ids are unique per option);
* ``<option>.funding.<system>.<n>``: the n-th funding rule (from 1) of a health system;
* ``trial:<trial>.<criterion>``: a trial card's eligibility criterion (the ``trials``
  package), including the criteria made from the card's age and sex limits (``min_age``,
  ``max_age``, ``sex``).

The content bound to a review is the item's rule (its expression with every shared
definition written out, and local settings as ``param(id)``, so that a change of a
definition lapses the reviews of the criteria that use it, and a change of a local value
does not), its text as read (``{option:id}`` references written out: renaming an option
lapses the reviews of texts naming it; ``{parameter}`` places kept) and its sources (id,
citation, year, link: a new edition of a cited guideline lapses the review). Nothing else
counts, so an edit elsewhere in the file leaves the review standing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from netmdt.engine.expr import Apply, DefRef, FieldRef, ListLit, Literal, Node, ParamRef
from netmdt.kb.model import KnowledgeBase
from netmdt.kb.schema import GROUPS


@dataclass(frozen=True)
class Item:
    id: str
    kind: str  # criterion | warning | funding | trial_criterion
    option: str  # the option id, or ``trial:<trial>`` for a trial criterion
    group: str  # criterion group, "warnings", "funding", or inclusion | exclusion
    text: str  # as shown (local values filled in)
    rule: str  # in clinician English
    sources: tuple[str, ...]
    evidence: str
    review_needed: bool  # the bundled flag (review: needed)
    disagreement: str | None
    params: tuple[str, ...]  # the local settings its rule reads
    content: dict[str, Any]  # what a review is bound to
    fingerprint: str
    url: str | None = None  # a trial criterion's inline source (the registry page)
    quote: str | None = None  # a trial criterion's registry line


TRIAL_PREFIX = "trial:"


def trial_item_id(trial: str, criterion: str) -> str:
    return f"{TRIAL_PREFIX}{trial}.{criterion}"


def canonical(node: Node) -> str:
    """An expression written out in full: definitions expanded, settings by name."""
    if isinstance(node, ParamRef):
        return f"param({node.param.id})"
    if isinstance(node, ListLit):
        return "[" + ", ".join(canonical(i) for i in node.items) + "]"
    if isinstance(node, Literal):
        return json.dumps(node.value)
    if isinstance(node, FieldRef):
        return node.info.path
    if isinstance(node, DefRef):
        return "(" + canonical(node.definition.expr) + ")"
    assert isinstance(node, Apply)
    return node.op.name + "(" + ", ".join(canonical(a) for a in node.args) + ")"


def _params(node: Node | None) -> tuple[str, ...]:
    from netmdt.engine.expr import params_used

    return () if node is None else tuple(dict.fromkeys(p.id for p in params_used(node)))


def _sources(kb: KnowledgeBase, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for s in ids:
        src = kb.sources.get(s)
        out.append(
            {"id": s}
            if src is None
            else {"id": s, "citation": src.citation, "year": src.year, "url": src.url}
        )
    return out


def content_fingerprint(content: dict[str, Any]) -> str:
    canonical_json = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical_json.encode()).hexdigest()[:16]


def _raw(kb: KnowledgeBase, option: str) -> dict[str, Any]:
    data = kb.raw.get(f"options/{option}.yaml")
    return data if isinstance(data, dict) else {}


@cache
def kb_items(kb: KnowledgeBase) -> dict[str, Item]:
    """Every reviewable item of the knowledge base, by id, in knowledge-base order."""
    items: dict[str, Item] = {}

    def as_read(text: str | None) -> str | None:  # references written out, {parameter} kept
        return None if text is None else kb.references.resolve(text)

    for option in kb.options.values():
        raw = _raw(kb, option.id)
        written = {c["id"]: c for g in GROUPS for c in raw.get(g) or []}
        written |= {w["id"]: w for w in raw.get("warnings") or []}
        for c in option.criteria:
            spec = written.get(c.id, {})
            content = {
                "group": c.group,
                "text": as_read(spec.get("text", c.text)),
                "if_not_met": as_read(spec.get("if_not_met")),
                "if_false": spec.get("if_false"),
                "rule": canonical(c.expr),
                "sources": _sources(kb, c.sources),
            }
            items[f"{option.id}.{c.id}"] = Item(
                f"{option.id}.{c.id}",
                "criterion",
                option.id,
                c.group,
                c.text,
                c.expr.describe(),
                c.sources,
                c.evidence,
                c.review,
                c.disagreement,
                _params(c.expr),
                content,
                content_fingerprint(content),
            )
        for w in option.warnings:
            spec = written.get(w.id, {})
            content = {
                "group": "warnings",
                "text": as_read(spec.get("text", w.text)),
                "rule": None if w.expr is None else canonical(w.expr),
                "sources": _sources(kb, w.sources),
            }
            items[f"{option.id}.{w.id}"] = Item(
                f"{option.id}.{w.id}",
                "warning",
                option.id,
                "warnings",
                w.text,
                "always, while the option is in play" if w.expr is None else w.expr.describe(),
                w.sources,
                w.evidence,
                w.review,
                None,
                _params(w.expr),
                content,
                content_fingerprint(content),
            )
        for system, rules in option.funding.items():
            for n, r in enumerate(rules, 1):
                content = {
                    "group": "funding",
                    "pathway": r.pathway,
                    "registry_status": r.registry_status,
                    "text": r.note,
                    "rule": None if r.expr is None else canonical(r.expr),
                    "sources": _sources(kb, r.sources),
                }
                item = f"{option.id}.funding.{system}.{n}"
                items[item] = Item(
                    item,
                    "funding",
                    option.id,
                    "funding",
                    f"{r.pathway.replace('_', ' ')}: {r.note}",
                    "otherwise" if r.expr is None else r.expr.describe(),
                    r.sources,
                    "V",
                    False,
                    None,
                    _params(r.expr),
                    content,
                    content_fingerprint(content),
                )
    for trial in kb.trials.values():
        for tc in trial.criteria:
            content = {
                "group": tc.kind,
                "text": tc.text,
                "quote": tc.quote,
                "rule": canonical(tc.expr),
                "arms": list(tc.arms) if tc.arms else None,
                "sources": _sources(kb, tc.sources)
                + ([{"url": tc.url}] if tc.url and not tc.implicit else []),
            }
            item = trial_item_id(trial.id, tc.id)
            items[item] = Item(
                item,
                "trial_criterion",
                f"{TRIAL_PREFIX}{trial.id}",
                tc.kind,
                tc.text,
                tc.expr.describe(),
                tc.sources,
                tc.evidence,
                tc.review,
                None,
                _params(tc.expr),
                content,
                content_fingerprint(content),
                url=tc.url,
                quote=tc.quote,
            )
    return items
