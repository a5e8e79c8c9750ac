"""The types of the case fields, read off the Case model, plus the derived facts.

The rule language type-checks every expression against this schema when the
knowledge base loads.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from netmdt.case.history import PriorTreatment
from netmdt.case.model import Case


@dataclass(frozen=True)
class Type:
    """A rule-language type. ``values`` lists the allowed values of an enum or enum list."""

    kind: Literal["bool", "number", "date", "enum", "list", "treatments", "text"]
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind in ("enum", "list") and self.values:
            return f"{self.kind} of {', '.join(self.values)}"
        return self.kind


BOOL = Type("bool")
NUMBER = Type("number")
DATE = Type("date")
TEXT = Type("text")


@dataclass(frozen=True)
class FieldInfo:
    path: str
    type: Type
    reads: tuple[str, ...]  # the case fields it is made of (itself, for a case field)
    label: str = ""


# Derived facts (computed in netmdt.case.derived) and the case fields each is made of.
DERIVED: dict[str, tuple[Type, tuple[str, ...], str]] = {
    "derived.effective_grade": (
        Type("enum", ("G1", "G2", "G3")),
        (
            "tumour.grade",
            "tumour.ki67_percent",
            "tumour.lung_subtype",
            "tumour.mitotic_count_per_2mm2",
        ),
        "effective grade (highest of stated grade, Ki-67 and mitotic grade; "
        "thoracic carcinoids by subtype)",
    ),
    "derived.renal_ml_min": (
        NUMBER,
        ("labs.creatinine_clearance_ml_min", "labs.egfr_ml_min"),
        "renal function (creatinine clearance, else eGFR; mL/min)",
    ),
    "derived.ecog_effective": (
        NUMBER,
        ("performance.ecog", "performance.karnofsky"),
        "ECOG performance status (or converted from Karnofsky)",
    ),
    "derived.gep_primary": (
        BOOL,
        ("tumour.primary_site", "tumour.type"),
        "gastro-entero-pancreatic primary",
    ),
    "derived.embryological_group": (
        Type("enum", ("foregut", "midgut", "hindgut")),
        ("tumour.colon_segment", "tumour.primary_site"),
        "embryological group of the primary",
    ),
    "derived.nec_like": (
        BOOL,
        ("tumour.lung_subtype", "tumour.nec_subtype", "tumour.type"),
        "poorly differentiated neuroendocrine carcinoma",
    ),
    # Not made from case fields: false from the case alone (no trial known open here), set
    # by the engine from trial matching (netmdt.trials: true when a trial open at our
    # centre is eligible, unknown when one is possibly eligible). docs/trials.md
    "derived.open_trial_eligible": (
        BOOL,
        (),
        "eligible for a trial open at our centre (trial matching)",
    ),
}


def _type_of(annotation: Any) -> Type | None:
    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _type_of(args[0])
    if origin is typing.Annotated:
        return _type_of(args[0])
    if origin is Literal:
        values = get_args(annotation)
        if all(isinstance(v, int) for v in values):
            return NUMBER  # tumour.gastric_type: 1 | 2 | 3
        return Type("enum", tuple(str(v) for v in values))
    if origin is list:
        (item,) = get_args(annotation)
        if item is PriorTreatment:
            return Type("treatments")
        inner = _type_of(item)
        return Type("list", inner.values if inner else ())
    if annotation is bool:
        return BOOL
    if annotation in (int, float):
        return NUMBER
    if annotation is date:
        return DATE
    if annotation is str:
        return TEXT
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for a in (annotation, *get_args(annotation)):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
    return None


def _walk(model: type[BaseModel], prefix: str) -> dict[str, FieldInfo]:
    found: dict[str, FieldInfo] = {}
    for name, info in model.model_fields.items():
        path = prefix + name
        sub = _model_in(info.annotation)
        if sub is not None and sub is not PriorTreatment:
            found.update(_walk(sub, path + "."))
            continue
        t = _type_of(info.annotation)
        if t is not None:
            found[path] = FieldInfo(path, t, (path,))
    return found


@cache
def case_fields() -> dict[str, FieldInfo]:
    """Every leaf field of the case (dotted path -> FieldInfo)."""
    return _walk(Case, "")


@cache
def all_fields() -> dict[str, FieldInfo]:
    """Case fields and derived facts."""
    fields = dict(case_fields())
    for path, (t, reads, label) in DERIVED.items():
        fields[path] = FieldInfo(path, t, reads, label)
    return fields


@cache
def field_bits() -> dict[str, int]:
    """One bit per case field, in sorted order, for sets of unknown fields as integers."""
    return {path: 1 << i for i, path in enumerate(sorted(case_fields()))}


@cache
def paths_of(mask: int) -> tuple[str, ...]:
    """The case fields of a bit mask, sorted."""
    return tuple(sorted(p for p, bit in field_bits().items() if mask & bit))
