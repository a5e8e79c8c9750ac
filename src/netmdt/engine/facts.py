"""A case flattened to the facts the rule language reads: dotted path -> value.

Absent fields are simply missing from the mapping (unknown). The value
``unknown`` of ``disease.progression`` is unknown too. Derived facts are added
under ``derived.*``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from netmdt.case.history import PriorTreatment
from netmdt.case.model import Case

UNKNOWN_STRINGS = {"disease.progression"}


def _flatten(model: BaseModel, prefix: str, out: dict[str, Any]) -> None:
    for name, value in model.__dict__.items():
        if value is None:
            continue
        path = prefix + name
        if isinstance(value, BaseModel) and not isinstance(value, PriorTreatment):
            _flatten(value, path + ".", out)
        else:
            out[path] = value


def facts_of(case: Case) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    _flatten(case, "", facts)
    for path in UNKNOWN_STRINGS:
        if facts.get(path) == "unknown":
            del facts[path]
    d = case.derived
    for name in (
        "effective_grade",
        "renal_ml_min",
        "ecog_effective",
        "gep_primary",
        "embryological_group",
        "nec_like",
    ):
        value = getattr(d, name)
        if value is not None:
            facts["derived." + name] = value
    return facts
