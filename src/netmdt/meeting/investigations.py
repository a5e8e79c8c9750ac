"""The investigations the MDT asked for with a decision, in the words people read.

A request names a fact the case's assessment lists as unknown (its ``field``), free
text, or both. The fact reads by its label and who to ask (``netmdt.vocabulary``), as
the case page's blocking facts do: "Ki-67 index — ask pathology"; a note follows after a
colon; free text alone reads as
typed. The patient summary never shows free text (it is written for clinicians)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from netmdt.vocabulary import field_label, who_to_ask

# The decision form offers this many of the case's unknown facts (in the engine's order,
# the ones that settle most options first); the rest sit behind "more unknown facts".
OFFERED_OPEN = 8


def _parts(item: Any) -> tuple[str | None, str | None]:
    if isinstance(item, Mapping):
        return item.get("field"), item.get("text")
    return getattr(item, "field", None), getattr(item, "text", None)


def fact_words(kb: Any, path: str) -> str:
    """An unknown fact as an investigation: "Ki-67 index — ask pathology"."""
    return f"{field_label(kb, path)} — {who_to_ask(path)}"


def investigation_lines(kb: Any, items: Iterable[Any] | None) -> list[str]:
    """Each request as one line (``items``: stored dicts or ``InvestigationOut``)."""
    lines = []
    for item in items or []:
        path, text = _parts(item)
        if path and text:
            lines.append(f"{fact_words(kb, path)}: {text}")
        elif path:
            lines.append(fact_words(kb, path))
        elif text:
            lines.append(text)
    return lines


def requested_fields(items: Iterable[Any] | None) -> list[str]:
    """The unknown facts asked for (no free text), in the order the MDT listed them."""
    return [path for path, _ in map(_parts, items or []) if path]


def free_text_count(items: Iterable[Any] | None) -> int:
    """How many requests are free text alone (named to the patient only as a count)."""
    return sum(1 for path, text in map(_parts, items or []) if not path and text)


def from_form(chosen: Iterable[str], other: str) -> list[dict[str, Any]]:
    """The decision form's answer as the API's ``investigations``: each ticked fact, then
    each line of the "other investigations" box."""
    out: list[dict[str, Any]] = [{"field": path, "text": None} for path in dict.fromkeys(chosen)]
    out += [{"field": None, "text": line.strip()} for line in other.splitlines() if line.strip()]
    return out
