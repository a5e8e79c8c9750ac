"""Pre-fill the new-case form from an HL7 FHIR R4 Bundle (issue #11): the Bundle is read
with ``import_fhir``, and its facts become the form's values. Nothing is stored here:
the coordinator checks the form and saves it.

What the page shows: the form fields filled from the Bundle (by their labels), what was
not understood (grouped, in words: no field path), and the importer's warnings. The
Bundle's Patient is compared with the netmdt patient's date of birth: a Bundle of
another person is flagged, not refused (the coordinator decides).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from netmdt.errors import FhirError, NetmdtError
from netmdt.fhir.importer import import_fhir
from netmdt.vocabulary import uk_date

# Facts the form does not take: the case id (from the database), the age (from the date
# of birth) and the date the facts refer to (the day of saving).
NOT_ON_THE_FORM = frozenset({"id", "age_years", "assessed_on"})
_PATH = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b")
_ASSESSED_ON = re.compile(r"after assessed_on \(\d{4}-\d{2}-\d{2}\)")
_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
MAX_CHARS = 4_000_000  # the pasted Bundle (the app refuses bodies over 5 MB anyway)


@dataclass
class Prefill:
    """The form's values from a Bundle, and what the page says about them."""

    values: dict[str, Any] = field(default_factory=dict)
    filled: list[str] = field(default_factory=list)  # field labels, in form order
    not_understood: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # for the audit: numbers only


class PrefillError(NetmdtError):
    """The pasted text is not a FHIR Bundle netmdt can read (the message says why)."""


def _in_words(text: str, labels: dict[str, str]) -> str:
    """Case field paths in the importer's wording replaced by their form labels (a field
    not on the form: its last part in words); anything else (``loinc.org``) kept."""
    roots = {path.split(".")[0] for path in labels}

    def word(m: re.Match[str]) -> str:
        path = m.group(0)
        if path in labels:
            return labels[path]
        return path.split(".")[-1].replace("_", " ") if path.split(".")[0] in roots else path

    text = _ASSESSED_ON.sub("after the date of the case", text)
    return _ISO.sub(lambda m: uk_date(m.group(0)), _PATH.sub(word, text))


def parse_bundle(text: str) -> dict[str, Any]:
    """The pasted text as a Bundle, or ``PrefillError`` saying what is wrong."""
    if not text.strip():
        raise PrefillError("paste a FHIR R4 Bundle (JSON), or choose its file")
    if len(text) > MAX_CHARS:
        raise PrefillError(f"at most {MAX_CHARS:,} characters; this is {len(text):,}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PrefillError(f"not JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise PrefillError(
            'not a FHIR Bundle: expected a JSON object with "resourceType": "Bundle"'
        )
    return data


def bundle_birth_dates(bundle: dict[str, Any]) -> list[str]:
    entries = bundle.get("entry") or []
    return [
        str(e["resource"].get("birthDate"))
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
        and e["resource"].get("birthDate")
    ]


def prefill(
    text: str,
    *,
    labels: dict[str, str],
    values_of: Any,
    date_of_birth: date | None,
    health_system: str,
    today: date,
) -> Prefill:
    """The form's values from the pasted Bundle. ``labels``: each form field's label by
    path (the form's order); ``values_of``: the form's ``values_from_facts``."""
    bundle = parse_bundle(text)
    try:
        result = import_fhir(bundle, assessed_on=today)
    except FhirError as e:
        raise PrefillError(str(e).replace("\n", "; ")) from None
    facts = result.case.model_dump(mode="json", exclude_none=True)
    for key in NOT_ON_THE_FORM:
        facts.pop(key, None)
    facts.setdefault("context", {}).setdefault("health_system", health_system)
    paths = {f.field for f in result.report.facts} - NOT_ON_THE_FORM
    filled = [label for path, label in labels.items() if path in paths]
    groups = Counter((u.resource_type, _in_words(u.reason, labels)) for u in result.report.unmapped)
    not_understood = [
        f"{kind}{f' ({n})' if n > 1 else ''}: {reason}" for (kind, reason), n in groups.items()
    ]
    warnings = [_in_words(w, labels) for w in result.report.warnings]
    births = bundle_birth_dates(bundle)
    if date_of_birth is not None and births and date_of_birth.isoformat() not in births:
        warnings.insert(
            0,
            f"The Bundle's patient was born on {uk_date(births[0])}, this patient on "
            f"{uk_date(date_of_birth)}: check that it is this patient's record before saving.",
        )
    if not births:
        warnings.insert(0, "The Bundle holds no Patient with a date of birth: check whose it is.")
    return Prefill(
        values=values_of(facts),
        filled=filled,
        not_understood=not_understood,
        warnings=warnings,
        counts={
            "facts": len(paths),
            "unmapped": len(result.report.unmapped),
            "resources": sum(result.report.resources.values()),
        },
    )
