"""Hypothesis strategies for valid cases, derived from the case model itself."""

from __future__ import annotations

import types
import typing
from datetime import date
from typing import Any, Literal, get_args, get_origin

import annotated_types as at
from hypothesis import strategies as st
from pydantic import BaseModel

from netmdt.case.history import PriorTreatment
from netmdt.case.model import Case

ASSESSED_ON = date(2026, 11, 27)
DATES = st.dates(min_value=date(2015, 1, 1), max_value=ASSESSED_ON)


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    flat: list[Any] = []
    for m in metadata:
        flat += [m, *getattr(m, "metadata", [])]
    for m in flat:
        for attr in ("ge", "le", "gt", "lt"):
            if isinstance(m, getattr(at, attr.capitalize())):
                found[attr] = getattr(m, attr)
    return found


def _number(kind: type, metadata: list[Any]) -> st.SearchStrategy[Any]:
    b = _bounds(metadata)
    low = b.get("ge", b.get("gt", 0))
    high = b.get("le", 500)
    if kind is int:
        return st.integers(min_value=int(low) + (1 if "gt" in b else 0), max_value=int(high))
    return st.floats(
        min_value=low, max_value=high, exclude_min="gt" in b, allow_nan=False, allow_infinity=False
    ).map(lambda x: round(x, 1) or (0.1 if "gt" in b else 0.0))


def _value(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    origin, args = get_origin(annotation), [a for a in get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return _value(args[0], metadata)
    if origin is typing.Annotated:
        return _value(args[0], [*metadata, *get_args(annotation)[1:]])
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is list:
        (item,) = get_args(annotation)
        if item is PriorTreatment:
            return st.lists(_treatment(), max_size=3)
        if get_origin(item) is Literal:
            values = [v for v in get_args(item) if v != "none"]
            return st.lists(st.sampled_from(values), unique=True, max_size=3)
        return st.lists(st.text(alphabet="abc_", max_size=6), max_size=2)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation in (int, float):
        return _number(annotation, metadata)
    if annotation is date:
        return DATES
    if annotation is str:
        return st.text(alphabet="abcdef-0123", min_size=1, max_size=8)
    raise TypeError(annotation)


@st.composite
def _treatment(draw: st.DrawFn) -> dict[str, Any]:
    t = draw(model(PriorTreatment))
    if t.get("start") and t.get("end") and t["end"] < t["start"]:
        t["start"], t["end"] = t["end"], t["start"]
    if t.get("therapy") != "chemotherapy":
        t.pop("regimen", None)  # recorded for chemotherapy only (case format v1.1)
    return t


def model(cls: type[BaseModel], present: float = 0.6) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of some of the model's fields (absent = unknown), each with a valid value."""
    fields = {
        name: _value(info.annotation, list(info.metadata))
        for name, info in cls.model_fields.items()
        if name not in ("assessed_on",)
    }
    required = {n for n, i in cls.model_fields.items() if i.is_required()}

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, strategy in fields.items():
            if name in required or draw(st.floats(0, 1)) < present:
                out[name] = draw(strategy)
        return out

    return build()


@st.composite
def case_dicts(draw: st.DrawFn) -> dict[str, Any]:
    data = draw(model(Case))
    data["assessed_on"] = ASSESSED_ON
    syndromes = data.get("tumour", {}).get("functional_syndrome")
    if syndromes == []:
        data["tumour"]["functional_syndrome"] = draw(st.sampled_from([[], ["none"]]))
    return data
