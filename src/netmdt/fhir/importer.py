"""``import_fhir``: FHIR R4 (read with the R4B models) / mCODE resources -> a Case, with a report.

Steps: read the input (``read``), map each resource to candidate facts (``mapping``),
validate every resource that gave a fact against the FHIR R4B model, choose among
candidates (the newest wins; lists are merged), build the case and validate it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from netmdt.case import Case
from netmdt.case.load import _model_of, parse_case
from netmdt.errors import CaseValidationError, FhirError, Problem
from netmdt.fhir.codes import tables
from netmdt.fhir.mapping import Candidate, Mapped, map_resources
from netmdt.fhir.read import read_input
from netmdt.fhir.report import Fact, ImportReport, ImportResult, Unmapped

LIST_FIELDS = frozenset(
    {
        "disease.extrahepatic_metastases",
        "tumour.functional_syndrome",
        "history.prior_surgery",
        "history.prior_liver_directed_therapy",
    }
)
TREATMENTS = "history.prior_treatments"
HealthSystem = Literal["nhs_england", "other"]


def import_fhir(
    source: dict[str, Any] | list[dict[str, Any]] | str | Path,
    *,
    assessed_on: date | None = None,
    health_system: HealthSystem | None = None,
    strict: bool = False,
) -> ImportResult:
    """Build a case from FHIR resources; every fact keeps its provenance.

    ``source`` is a Bundle (dict), a list of resources, or a path to a Bundle JSON file or
    a folder of resource JSON files. ``assessed_on`` is the date the facts refer to (default:
    today, read here at the edge); facts dated after it are not used. ``health_system``
    is the caller's (FHIR does not say how care is funded). With ``strict``, a resource that
    is not valid FHIR raises ``FhirError`` instead of being set aside with a warning.
    Raises ``FhirError`` when the input as a whole cannot be read.
    """
    day = assessed_on or date.today()
    found = read_input(source)
    if strict and found.refused:
        raise FhirError(found.refused)
    mapped = map_resources(found.resources, tables(), day)
    extra = []
    if health_system is not None:
        extra.append(Candidate(Fact(
            field="context.health_system", value=health_system, resource_type="(caller)",
            resource_id=None, element="health_system argument",
        )))  # fmt: skip
    chosen, superseded = _resolve_valid(mapped, extra, strict)
    case, chosen = _build(chosen, day, mapped.unmapped)
    report = ImportReport(
        facts=chosen,
        superseded=superseded,
        unmapped=mapped.unmapped,
        unknown=_unknown(case),
        warnings=found.warnings + mapped.warnings + _caveats(case),
        resources=dict(Counter(str(r.get("resourceType")) for r in found.resources)),
        deceased=mapped.deceased,
    )
    return ImportResult(case=case, report=report)


# ------------------------------------------------------------------ validation


def _resolve_valid(
    mapped: Mapped, extra: list[Candidate], strict: bool
) -> tuple[list[Fact], list[Fact]]:
    """Choose the facts, then check every resource that gave a chosen fact against the
    FHIR R4B model; an invalid one is set aside and the choice made again without it.

    Only resources whose values are used are validated: a record holds many superseded
    values, and validating them all would cost more than the rest of the import together.
    """
    from fhir.resources.R4B import get_fhir_model_class

    by_fact = {id(c.fact): r for r, c in mapped.candidates}
    invalid: set[int] = set()
    checked: set[int] = set()
    problems: list[Problem] = []
    while True:
        candidates = [c for r, c in mapped.candidates if id(r) not in invalid] + extra
        chosen, superseded = _resolve(candidates)
        fresh = False
        for f in chosen:
            resource = by_fact.get(id(f))
            if resource is None or id(resource) in checked:
                continue
            checked.add(id(resource))
            errors = _errors(resource, get_fhir_model_class)
            if errors:
                invalid.add(id(resource))
                problems += _report_invalid(resource, errors, mapped)
                fresh = True
        if strict and problems:
            raise FhirError(problems)
        if not fresh:
            return chosen, superseded


def _errors(resource: dict[str, Any], model_class: Any) -> list[dict[str, Any]] | None:
    try:
        model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        return [dict(e) for e in exc.errors(include_url=False)]
    except (KeyError, ValueError, TypeError) as exc:  # unknown resource type, odd shapes
        return [{"loc": (), "msg": str(exc)}]
    return None


def _report_invalid(
    resource: dict[str, Any], errors: list[dict[str, Any]], mapped: Mapped
) -> list[Problem]:
    rtype = str(resource.get("resourceType"))
    rid = None if resource.get("id") is None else str(resource.get("id"))
    problems = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()))
        element = f"{rtype}.{loc}" if loc else rtype
        msg = str(e.get("msg"))
        problems.append(Problem(f"{rtype}/{rid}.{loc}".rstrip("."), msg, "invalid_resource"))
        mapped.unmapped.append(
            Unmapped(
                resource_type=rtype,
                resource_id=rid,
                element=element,
                code=None,
                reason=f"not valid FHIR R4 (read with the R4B model): {msg}; the resource was "
                "not used",
            )
        )
    mapped.warnings.append(
        f"{rtype}/{rid} is not valid FHIR ({len(errors)} problem(s)); it was not used"
    )
    return problems


# ------------------------------------------------------------------ choosing


def _resolve(candidates: list[Candidate]) -> tuple[list[Fact], list[Fact]]:
    """The newest value of each field wins (lists merge); the rest is superseded."""
    by_field: dict[str, list[tuple[int, Candidate]]] = defaultdict(list)
    for order, c in enumerate(candidates):
        by_field[c.fact.field].append((order, c))
    chosen: list[Fact] = []
    superseded: list[Fact] = []
    for path, items in by_field.items():
        if path in LIST_FIELDS or path == TREATMENTS:
            chosen += [c.fact for _, c in items]
            continue
        items.sort(key=lambda oc: (oc[1].fact.date or date.min, oc[1].rank, oc[0]))
        chosen.append(items[-1][1].fact)
        superseded += [c.fact for _, c in items[:-1]]
    chosen += _derived_dates(chosen)
    return chosen, superseded


def _derived_dates(chosen: list[Fact]) -> list[Fact]:
    """labs.date (the oldest lab used: freshness rules then err on the safe side) and
    imaging.sstr.date (the date of the SSTR result, else of the scan)."""
    out = []
    labs = [f for f in chosen if f.field.startswith("labs.") and f.date is not None]
    if labs:
        oldest = min(labs, key=lambda f: f.date or date.max)
        out.append(
            oldest.model_copy(
                update={
                    "field": "labs.date",
                    "value": oldest.date,
                    "note": "the date of the oldest laboratory value used",
                }
            )
        )
    for source in ("imaging.sstr.positive", "imaging.sstr.modality"):
        f = next((f for f in chosen if f.field == source and f.date is not None), None)
        if f is not None:
            out.append(
                f.model_copy(
                    update={
                        "field": "imaging.sstr.date",
                        "value": f.date,
                        "note": f"the date of {source}",
                    }
                )
            )
            break
    return out


# ------------------------------------------------------------------ building


def _build(chosen: list[Fact], day: date, unmapped: list[Unmapped]) -> tuple[Case, list[Fact]]:
    """The case, validated; facts the case format rejects are reported and dropped."""
    for _ in range(5):
        try:
            return parse_case(_case_data(chosen, day), source="FHIR import"), chosen
        except CaseValidationError as exc:
            rejected = _rejected(chosen, exc.problems)
            if not rejected:
                raise FhirError(
                    [Problem(p.where, p.message, "case") for p in exc.problems]
                ) from exc
            for f, why in rejected:
                unmapped.append(
                    Unmapped(
                        resource_type=f.resource_type,
                        resource_id=f.resource_id,
                        element=f.element,
                        code=None,
                        reason=f"{f.field} = {f.value!r} rejected by the case format: {why}",
                    )
                )
            dropped = {id(f) for f, _ in rejected}
            chosen = [f for f in chosen if id(f) not in dropped]
    raise FhirError([Problem("", "the imported facts do not form a valid case", "case")])


def _rejected(chosen: list[Fact], problems: list[Problem]) -> list[tuple[Fact, str]]:
    out = []
    for p in problems:
        where = p.where.split(".")
        for f in chosen:
            path = f.field.split(".")
            if (where and path == where[: len(path)]) or (p.where and path[: len(where)] == where):
                out.append((f, p.message))
    return out


def _case_data(chosen: list[Fact], day: date) -> dict[str, Any]:
    data: dict[str, Any] = {"assessed_on": day}
    treatments: dict[str, dict[str, Any]] = {}
    for f in chosen:
        if f.field == TREATMENTS:
            _merge_treatment(treatments, f.value)
        elif f.field in LIST_FIELDS:
            bucket = _slot(data, f.field, [])
            if f.value not in bucket:
                bucket.append(f.value)
        else:
            _set(data, f.field, f.value)
    if treatments:
        _set(
            data,
            TREATMENTS,
            [
                {k: v for k, v in t.items() if v is not None and not k.startswith("_")}
                for t in treatments.values()
            ],
        )
    return data


def _merge_treatment(treatments: dict[str, dict[str, Any]], t: dict[str, Any]) -> None:
    """One entry per therapy: the earliest start; an end only when every record has one."""
    seen = treatments.get(t["therapy"])
    if seen is None:
        treatments[t["therapy"]] = {**t, "_open": t["end"] is None}
        return
    starts = [d for d in (seen["start"], t["start"]) if d is not None]
    seen["start"] = min(starts) if starts else None
    seen["_open"] = seen["_open"] or t["end"] is None
    ends = [d for d in (seen["end"], t["end"]) if d is not None]
    seen["end"] = None if seen["_open"] or not ends else max(ends)


def _slot(data: dict[str, Any], path: str, default: Any) -> Any:
    *parents, leaf = path.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    return node.setdefault(leaf, default)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


# ------------------------------------------------------------------ unknowns


def _unknown(case: Case) -> list[str]:
    """Every leaf field of the case format left unknown."""
    return [p for p in leaf_paths(Case) if _get(case, p) is None]


@cache
def leaf_paths(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    """Every leaf field path of a model (a list of sub-models counts as one leaf)."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        sub = _model_of(info.annotation)
        is_list = "list[" in str(info.annotation)
        if sub is not None and not is_list:
            out += leaf_paths(sub, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return tuple(out)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _caveats(case: Case) -> list[str]:
    out = []
    if case.disease and case.disease.extrahepatic_metastases:
        out.append(
            "disease.extrahepatic_metastases lists only the sites recorded as conditions; "
            "other sites are not known to be absent (the FHIR record does not say staging "
            "was complete)"
        )
    return out
