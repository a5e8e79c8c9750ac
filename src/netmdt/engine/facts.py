"""A case flattened to the facts the rule language reads: dotted path -> value.

Absent fields are simply missing from the mapping (unknown). The value
``unknown`` of ``disease.progression`` is unknown too. Derived facts are added
under ``derived.*``.

``facts_of`` is generated from the case model when this module is imported
(straight-line code: one lookup in the model's ``__dict__`` and one test per field, no
recursion, no ``isinstance``; called directly, with no wrapper in front: about 5 ms once,
then a few hundred nanoseconds less per case);
``reference_facts_of`` walks the model and is what the tests hold it equal to.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from netmdt.case.history import PriorTreatment
from netmdt.case.model import Case
from netmdt.engine.schema import _model_in

UNKNOWN_STRINGS = {"disease.progression"}
DERIVED_FACTS = (
    "effective_grade",
    "renal_ml_min",
    "ecog_effective",
    "gep_primary",
    "embryological_group",
    "nec_like",
)


def _flatten(model: BaseModel, prefix: str, out: dict[str, Any]) -> None:
    for name, value in model.__dict__.items():
        if value is None:
            continue
        path = prefix + name
        if isinstance(value, BaseModel) and not isinstance(value, PriorTreatment):
            _flatten(value, path + ".", out)
        else:
            out[path] = value


def reference_facts_of(case: Case) -> dict[str, Any]:
    """The reference flattener (walks the model); ``facts_of`` is held equal to it."""
    facts: dict[str, Any] = {}
    _flatten(case, "", facts)
    for path in UNKNOWN_STRINGS:
        if facts.get(path) == "unknown":
            del facts[path]
    d = case.derived
    for name in DERIVED_FACTS:
        value = getattr(d, name)
        if value is not None:
            facts["derived." + name] = value
    facts[OPEN_TRIAL] = False
    return facts


# From the case alone no trial is known to be open here; the engine sets it from trial
# matching (netmdt.engine.assess, docs/trials.md).
OPEN_TRIAL = "derived.open_trial_eligible"

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _attribute(name: str) -> str:
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ValueError(f"not a plain field name: {name!r}")
    return name


def _lines(model: type[BaseModel], var: str, prefix: str, indent: str, depth: int) -> list[str]:
    out: list[str] = []
    for name, info in model.model_fields.items():
        path = prefix + _attribute(name)
        sub = _model_in(info.annotation)
        if sub is not None and sub is not PriorTreatment:
            inner = f"s{depth}"
            out.append(f"{indent}{inner} = {var}[{name!r}]")
            out.append(f"{indent}if {inner} is not None:")
            out.append(f"{indent}    {inner} = {inner}.__dict__")
            out += _lines(sub, inner, path + ".", indent + "    ", depth + 1) or [
                indent + "    pass"
            ]
            continue
        test = "v is not None"
        if path in UNKNOWN_STRINGS:
            test += " and v != 'unknown'"
        out.append(f"{indent}v = {var}[{name!r}]")
        out.append(f"{indent}if {test}:")
        out.append(f"{indent}    facts[{path!r}] = v")
    return out


def _generated() -> Callable[[Case], dict[str, Any]]:
    """Generate, from the case model's field names only, the flattener's source."""
    lines = [
        "def facts_of(case):",
        '    """The facts of a case (see ``netmdt.engine.facts``)."""',
        "    facts = {}",
        "    c = case.__dict__",
    ]
    lines += _lines(Case, "c", "", "    ", 0)
    lines.append("    d = case.derived")
    for name in DERIVED_FACTS:
        lines += [
            f"    v = d.{_attribute(name)}",
            "    if v is not None:",
            f"        facts[{'derived.' + name!r}] = v",
        ]
    lines.append(f"    facts[{OPEN_TRIAL!r}] = False")
    lines.append("    return facts")
    namespace: dict[str, Any] = {"__name__": __name__}
    exec(
        compile("\n".join(lines) + "\n", "<netmdt facts_of>", "exec"), namespace
    )  # generated from the case model's field names only
    fn: Callable[[Case], dict[str, Any]] = namespace["facts_of"]
    return fn


facts_of = _generated()
