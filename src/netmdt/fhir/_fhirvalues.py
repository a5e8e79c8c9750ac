"""Small readers of FHIR JSON values: codings, dates, quantities, words."""

from __future__ import annotations

from datetime import date
from typing import Any

from netmdt.fhir.codes import Tables


def items(obj: Any, key: str) -> list[dict[str, Any]]:
    """The objects of a list element (``obj[key]``): absent, null or malformed gives []."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def codings(concept: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (an empty list for anything else)."""
    return items(concept, "coding")


def keys(concept: Any, t: Tables) -> list[str]:
    """``short-name|code`` of every coding whose system netmdt knows, in order."""
    out = []
    for c in codings(concept):
        k = t.key(c.get("system"), c.get("code"))
        if k:
            out.append(k)
    return out


def first_code(concept: Any) -> str | None:
    """``system|code`` of the first coding, for reports."""
    for c in codings(concept):
        return f"{c.get('system', '?')}|{c.get('code', '?')}"
    return None


def words(concept: Any) -> str:
    """Every display and the text of a CodeableConcept, lower-cased, for name matching."""
    if not isinstance(concept, dict):
        return ""
    parts = [str(c.get("display", "")) for c in codings(concept)]
    parts.append(str(concept.get("text", "")))
    return " ".join(p for p in parts if p).lower().replace("\u200b", "")


def parse_date(value: Any) -> date | None:
    """The date of a FHIR date or dateTime (a partial date gives its first day)."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    text = value[:10]
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def first_date(resource: dict[str, Any], elements: tuple[str, ...]) -> tuple[date | None, str]:
    """The first date found among ``elements`` (``effectivePeriod`` reads its start)."""
    for name in elements:
        value = resource.get(name)
        if isinstance(value, dict):
            value = value.get("start") or value.get("end")
        found = parse_date(value)
        if found is not None:
            return found, name
    return None, ""


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
