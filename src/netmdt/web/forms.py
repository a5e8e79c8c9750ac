"""The case form, generated from the case model: every case-format field, grouped by
section, labelled from the knowledge base's ``fields.yaml``.

Unknown is never no: every yes/no field has an explicit "unknown" choice (the default),
empty inputs stay unknown, and a list is recorded as empty only when "none" is ticked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel

from netmdt.case.history import OptionId, Outcome, Regimen
from netmdt.case.model import Case
from netmdt.engine.schema import case_fields
from netmdt.errors import Problem
from netmdt.kb import KnowledgeBase

EMPTY_LIST = "__none__"
TREATMENT_ROWS_SPARE = 3
TREATMENT_FIELDS = (
    "therapy",
    "start",
    "end",
    "cycles",
    "outcome",
    "progression_free_months",
    "regimen",
)
SECTIONS = {
    "": "About the patient",
    "tumour": "Tumour",
    "disease": "Extent of disease",
    "imaging": "Imaging",
    "labs": "Blood and urine results",
    "performance": "Fitness",
    "history": "Treatment history",
    "context": "Context",
}

# The form's sections in order, as (anchor key, heading): the narrative first, then the
# facts; each section has its own save button.
SECTION_NAMES: tuple[tuple[str, str], ...] = (
    ("narrative", "Question and reports"),
    *((key or "patient", heading) for key, heading in SECTIONS.items()),
)
SECTION_KEYS = tuple(key for key, _ in SECTION_NAMES)


@dataclass(frozen=True)
class FormField:
    path: str
    label: str
    kind: str  # bool, number, date, enum, list, textlist, text, treatments
    values: tuple[str, ...]
    help: str
    integer: bool = False

    @property
    def id(self) -> str:
        return "f-" + self.path.replace(".", "-")


def _is_integer(path: str) -> bool:
    """Whether a number field takes whole numbers only (``int`` in the case model)."""
    model: Any = Case
    annotation: Any = None
    for part in path.split("."):
        annotation = model.model_fields[part].annotation
        model = next(
            (a for a in _args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
    return int in _args(annotation)


def _args(annotation: Any) -> tuple[Any, ...]:
    """The annotation and everything nested in it (unions, Annotated, lists)."""
    found = [annotation]
    for a in get_args(annotation):
        found.extend(_args(a))
    return tuple(found)


def form_sections(kb: KnowledgeBase) -> list[tuple[str, str, list[FormField]]]:
    """(section key, heading, fields) in case-format order; ``id`` is not a form field."""
    grouped: dict[str, list[FormField]] = {key: [] for key in SECTIONS}
    for path, info in case_fields().items():
        if path == "id":
            continue
        kind: str = info.type.kind
        if kind == "list" and not info.type.values:
            kind = "textlist"
        section = path.split(".")[0] if "." in path else ""
        grouped[section].append(
            FormField(
                path=path,
                label=kb.label(path),
                kind=kind,
                values=info.type.values,
                help=kb.how_to_find_out(path),
                integer=kind == "number" and _is_integer(path),
            )
        )
    return [(key, SECTIONS[key], fields) for key, fields in grouped.items() if fields]


def therapies() -> tuple[str, ...]:
    return get_args(OptionId)


def outcomes() -> tuple[str, ...]:
    return get_args(Outcome)


def regimens() -> tuple[str, ...]:
    return get_args(Regimen)


# A measurement as people type it: ASCII digits with at most one decimal point (no "1_000",
# no "1e-400", no other scripts' digits), optionally followed by the field's own unit.
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_UNITS = {"_percent": ("%",), "_cm": ("cm",), "_mm": ("mm",), "_months": ("months", "month")}


def _number(text: str, integer: bool, path: str = "") -> int | float:
    text = _without_unit(text, path)
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)  # a number too large to be a measurement
    if integer or (value.is_integer() and "." not in text):
        if not value.is_integer():
            raise ValueError
        return int(value)
    return value


def _without_unit(text: str, path: str) -> str:
    """``12%`` in a ``*_percent`` field, ``3 cm`` in a ``*_cm`` field: the number alone."""
    for suffix, units in _UNITS.items():
        if path.endswith(suffix):
            for unit in units:
                if text.lower().endswith(unit):
                    return text[: -len(unit)].rstrip()
    return text


def _convert(field: FormField, raw: list[str]) -> Any:
    """The typed value of one field from its form strings (None: unknown)."""
    texts = [r.strip() for r in raw if r.strip()]
    if field.kind in ("list", "textlist"):
        if field.kind == "textlist" and texts and EMPTY_LIST not in texts:
            texts = [line.strip() for t in texts for line in t.splitlines() if line.strip()]
        if EMPTY_LIST in texts:
            return [] if len(texts) == 1 else texts  # contradiction: let validation name it
        return texts or None
    if not texts:
        return None
    text = texts[0]
    if field.kind == "bool":
        return {"true": True, "false": False}.get(text, text)
    if field.kind == "number":
        return _number(text, field.integer, field.path)
    return text


def _set(facts: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = facts
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def facts_from_form(
    form: Mapping[str, Any], sections: Iterable[tuple[str, str, list[FormField]]]
) -> tuple[dict[str, Any], list[Problem]]:
    """The case facts a submitted form describes, and the entries that are not values
    at all (e.g. letters in a number field), each named by field path."""
    facts: dict[str, Any] = {}
    problems: list[Problem] = []
    for _, _, fields in sections:
        for field in fields:
            if field.kind == "treatments":
                value, found = _treatments(form)
                problems.extend(found)
            else:
                try:
                    value = _convert(field, _getlist(form, field.path))
                except ValueError:
                    kind = "a whole number" if field.integer else "a number"
                    problems.append(Problem(field.path, f"must be {kind}", "number_type"))
                    continue
            if value is not None:
                _set(facts, field.path, value)
    return facts, problems


def _getlist(form: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(key)]
    value = form.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _treatments(form: Mapping[str, Any]) -> tuple[list[dict[str, Any]] | None, list[Problem]]:
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    base = "history.prior_treatments"
    for i in range(treatment_rows(form.get(f"{base}.rows"))):
        raw = {k: str(form.get(f"{base}.{i}.{k}", "")).strip() for k in TREATMENT_FIELDS}
        if not any(raw.values()):
            continue
        row: dict[str, Any] = {}
        for key, text in raw.items():
            if not text:
                continue
            if key in ("cycles", "progression_free_months"):
                try:
                    row[key] = _number(text, key == "cycles", key)
                except ValueError:
                    problems.append(Problem(f"{base}.{i}.{key}", "must be a number", "number_type"))
                    continue
            else:
                row[key] = text
        if "therapy" not in row:
            problems.append(Problem(f"{base}.{i}.therapy", "say which therapy this row is"))
        rows.append(row)
    if rows:
        return rows, problems
    return ([] if _getlist(form, base) == [EMPTY_LIST] else None), problems


_HAS_NONE = frozenset(
    p for p, f in case_fields().items() if "none" in f.type.values and f.type.kind == "list"
)


MAX_TREATMENT_ROWS = 200


def treatment_rows(value: Any) -> int:
    """The number of treatment rows a form says it has, within 0..200 (junk counts as 0)."""
    text = str(value[0] if isinstance(value, list) and value else value or "0")
    return max(0, min(int(text), MAX_TREATMENT_ROWS)) if text.isascii() and text.isdigit() else 0


def values_from_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Form values (dotted path -> value) to fill the form with stored facts."""
    flat: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = prefix + key
            if isinstance(value, Mapping):
                walk(value, path + ".")
            elif value == []:
                # Recorded as none: ticks the "none" box (a list that has a "none" value,
                # the functional syndrome, shows its own "none"; saved as [none]).
                flat[path] = ["none"] if path in _HAS_NONE else [EMPTY_LIST]
            elif path == "history.prior_treatments":
                flat[path] = value
                for i, row in enumerate(value):
                    for k, v in row.items():
                        flat[f"{path}.{i}.{k}"] = v
            else:
                flat[path] = value

    walk(facts, "")
    return flat


def values_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the user typed, to show the form again with their entries after an error."""
    values: dict[str, Any] = {}
    for key in form:
        values[key] = _getlist(form, key)
    return values
