"""Pre-fill the new-case form from an HL7 FHIR R4 Bundle (issue #11): the Bundle is read
with ``import_fhir``, and its facts become the form's values. Nothing is stored here:
the coordinator checks the form and saves it.

What the page shows: the form fields filled from the Bundle (by their labels), what was
not understood (grouped, in words: no field path), and the importer's warnings.

Identity (patient safety): the Bundle's Patient is compared with the netmdt patient on
every identifier the record holds (``check_identity``):

- more than one Patient in the Bundle: refused (whose facts would they be?);
- NHS number (identifier system ``https://fhir.nhs.uk/Id/nhs-number``, digits only), both
  present and different: refused, naming the mismatch; another patient's data is never
  put on the form;
- family or given name (case- and accent-insensitive) or date of birth different: the form
  is NOT filled until the coordinator ticks "I have checked that this Bundle is this
  patient's record" and pre-fills again (``IdentityUnconfirmed``): names and dates of
  birth are mistyped, changed by marriage or recorded differently, so a person decides;
- hospital number: netmdt stores it without the issuing system, so a Bundle identifier
  with the same value confirms it; none matching is a warning only;
- no Patient: a warning (nothing to compare).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from netmdt.errors import FhirError, NetmdtError
from netmdt.fhir.importer import import_fhir
from netmdt.vocabulary import nhs_number, uk_date

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
    paths: list[str] = field(default_factory=list)  # the filled fields' paths, same order
    changed: list[str] | None = None  # editing a case: labels of the fields it changes
    not_understood: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # for the audit: numbers only


class PrefillError(NetmdtError):
    """The pasted text is not a FHIR Bundle netmdt can read, or is another patient's (the
    message says why). ``reason``: a short code for the audit (never patient data)."""

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


class IdentityUnconfirmed(PrefillError):
    """The Bundle's Patient differs from this patient in name or date of birth: the form is
    filled only once the coordinator has ticked that they checked (``mismatches`` says how)."""

    def __init__(self, mismatches: list[str]) -> None:
        super().__init__(
            "the Bundle's patient may not be this patient: check, then tick the box to pre-fill",
            "identity_unconfirmed",
        )
        self.mismatches = mismatches


NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


@dataclass(frozen=True)
class Identity:
    """What the netmdt patient record holds to compare a Bundle's Patient with."""

    name: str
    date_of_birth: date | None
    nhs_number: str | None = None
    hospital_number: str | None = None


def name_words(text: str) -> list[str]:
    """A name's words, case- and accent-insensitive (``Zoë O'Brien`` -> zoe, o, brien)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.findall(r"[^\W\d_]+", plain.casefold())


def _patients(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
    ]


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _name_matches(human: dict[str, Any], ours: set[str]) -> bool:
    family = name_words(str(human.get("family") or ""))
    given = [g for g in human.get("given") or [] if isinstance(g, str)]
    if family or given:
        first = name_words(given[0]) if given else []
        return bool(family or first) and set(family) <= ours and set(first) <= ours
    text = name_words(str(human.get("text") or ""))
    return bool(text) and set(text) == ours


def _shown_name(human: dict[str, Any]) -> str:
    given = " ".join(g for g in human.get("given") or [] if isinstance(g, str))
    return " ".join(p for p in (given, str(human.get("family") or "")) if p) or str(
        human.get("text") or ""
    )


def check_identity(bundle: dict[str, Any], identity: Identity) -> tuple[list[str], list[str]]:
    """(mismatches the coordinator must acknowledge, warnings) for the Bundle's Patient
    against ``identity``; ``PrefillError`` where the Bundle must be refused."""
    patients = _patients(bundle)
    if len(patients) > 1:
        raise PrefillError(
            f"the Bundle holds {len(patients)} Patients: paste the Bundle of one patient",
            "several_patients",
        )
    if not patients:
        return [], ["The Bundle holds no Patient: check whose record it is before saving."]
    (patient,) = patients
    identifiers = _dicts(patient.get("identifier"))
    nhs = {
        re.sub(r"\D", "", str(i.get("value") or ""))
        for i in identifiers
        if i.get("system") == NHS_NUMBER_SYSTEM
    } - {""}
    ours = re.sub(r"\D", "", identity.nhs_number or "")
    if ours and nhs and nhs != {ours}:
        theirs = ", ".join(nhs_number(n) for n in sorted(nhs - {ours}))
        raise PrefillError(
            f"the Bundle's NHS number ({theirs}) is not this patient's ({nhs_number(ours)}): "
            "it is another patient's record, so nothing was pre-filled",
            "nhs_number_mismatch",
        )
    mismatches: list[str] = []
    warnings: list[str] = []
    names = [n for n in _dicts(patient.get("name")) if _shown_name(n).strip()]
    our_words = set(name_words(identity.name))
    if names and not any(_name_matches(n, our_words) for n in names):
        mismatches.append(
            f"Name: the Bundle's patient is {_shown_name(names[0])}, this patient is "
            f"{identity.name}."
        )
    born = patient.get("birthDate")
    if (
        identity.date_of_birth is not None
        and born
        # A partial date ("1962", "1962-03") that agrees is no mismatch.
        and not identity.date_of_birth.isoformat().startswith(str(born))
    ):
        mismatches.append(
            f"Date of birth: the Bundle's patient was born on {uk_date(str(born))}, this "
            f"patient on {uk_date(identity.date_of_birth)}."
        )
    if not born:
        warnings.append("The Bundle's Patient has no date of birth: check whose it is.")
    if identity.hospital_number:
        key = identity.hospital_number.replace(" ", "").casefold()
        values = {
            str(i.get("value") or "").replace(" ", "").casefold()
            for i in identifiers
            if i.get("system") != NHS_NUMBER_SYSTEM
        }
        if key not in values:
            warnings.append(
                f"No identifier in the Bundle is this patient's hospital number "
                f"({identity.hospital_number}): check whose record it is."
            )
    return mismatches, warnings


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


def prefill(
    text: str,
    *,
    labels: dict[str, str],
    values_of: Any,
    identity: Identity,
    health_system: str,
    today: date,
    acknowledged: bool = False,
) -> Prefill:
    """The form's values from the pasted Bundle. ``labels``: each form field's label by
    path (the form's order); ``values_of``: the form's ``values_from_facts``;
    ``acknowledged``: the coordinator ticked that the Bundle is this patient's despite a
    name or date-of-birth mismatch (``IdentityUnconfirmed`` otherwise)."""
    bundle = parse_bundle(text)
    mismatches, identity_warnings = check_identity(bundle, identity)
    if mismatches and not acknowledged:
        raise IdentityUnconfirmed(mismatches)
    try:
        result = import_fhir(bundle, assessed_on=today)
    except FhirError as e:
        raise PrefillError(str(e).replace("\n", "; ")) from None
    facts = result.case.model_dump(mode="json", exclude_none=True)
    for key in NOT_ON_THE_FORM:
        facts.pop(key, None)
    facts.setdefault("context", {}).setdefault("health_system", health_system)
    paths = {f.field for f in result.report.facts} - NOT_ON_THE_FORM
    filled_paths = [path for path in labels if path in paths]
    groups = Counter((u.resource_type, _in_words(u.reason, labels)) for u in result.report.unmapped)
    not_understood = [
        f"{kind}{f' ({n})' if n > 1 else ''}: {reason}" for (kind, reason), n in groups.items()
    ]
    warnings = [_in_words(w, labels) for w in result.report.warnings]
    checked = [f"{m} You confirmed that the Bundle is this patient's record." for m in mismatches]
    warnings = checked + identity_warnings + warnings
    return Prefill(
        values=values_of(facts),
        filled=[labels[p] for p in filled_paths],
        paths=filled_paths,
        not_understood=not_understood,
        warnings=warnings,
        counts={
            "facts": len(paths),
            "unmapped": len(result.report.unmapped),
            "resources": sum(result.report.resources.values()),
        },
    )


def _under(key: str, path: str) -> bool:
    return key == path or key.startswith(path + ".")


def merge_into(current: dict[str, Any], made: Prefill, labels: dict[str, str]) -> dict[str, Any]:
    """Editing a case: the current form values with the fields the Bundle filled replaced
    by the Bundle's (a field the Bundle says nothing about keeps its current value);
    ``made.changed`` becomes the labels of the fields whose value that changes."""
    merged = dict(current)
    changed: list[str] = []
    for path in made.paths:
        before = {k: v for k, v in current.items() if _under(k, path)}
        after = {k: v for k, v in made.values.items() if _under(k, path)}
        for key in before:
            del merged[key]
        merged.update(after)
        if before != after:
            changed.append(labels[path])
    made.changed = changed
    return merged
