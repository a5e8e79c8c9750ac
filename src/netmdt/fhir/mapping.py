"""FHIR resources -> candidate case facts, each with its provenance.

One handler per resource type (a registry, ``HANDLERS``); each turns a resource into
candidate facts or says why it could not (``Unmapped``). Choosing among candidates (the
newest wins) and building the case happen in ``netmdt.fhir.importer``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from netmdt.fhir._fhirvalues import (
    codings,
    first_code,
    first_date,
    items,
    keys,
    number,
    parse_date,
    words,
)
from netmdt.fhir.codes import CodedRule, QuantityRule, ScoreRule, Tables, TreatmentRule
from netmdt.fhir.report import Fact, Unmapped

HISTOLOGY_EXT = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
)
SNOMED_POSITIVE = "snomed|10828004"
SNOMED_NEGATIVE = "snomed|260385009"
SSTR_RESULT = "netmdt|sstr-imaging"


@dataclass(frozen=True)
class Candidate:
    """A fact that may enter the case; ``rank`` breaks ties between facts of the same date
    (a histology code outranks a diagnosis code, which outranks a body site)."""

    fact: Fact
    rank: int = 0


@dataclass
class Mapped:
    """What the handlers found: candidates by resource, and what they could not map."""

    candidates: list[tuple[dict[str, Any], Candidate]] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    deceased: bool = False


@dataclass
class Ctx:
    """One resource being mapped."""

    resource: dict[str, Any]
    tables: Tables
    assessed_on: date
    out: Mapped
    index: dict[str, dict[str, Any]]

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType"))

    @property
    def id(self) -> str | None:
        rid = self.resource.get("id")
        return str(rid) if rid is not None else None

    def fact(
        self,
        path: str,
        value: Any,
        element: str,
        day: date | None,
        note: str | None = None,
        rank: int = 0,
    ) -> None:
        if day is not None and day > self.assessed_on:
            self.skip(element, None, f"dated {day}, after assessed_on ({self.assessed_on})")
            return
        f = Fact(
            field=path,
            value=value,
            resource_type=self.type,
            resource_id=self.id,
            element=element,
            date=day,
            note=note,
        )
        self.out.candidates.append((self.resource, Candidate(f, rank)))

    def skip(self, element: str, code: str | None, reason: str) -> None:
        """Report what could not be mapped; ``code`` as ``system-uri|code``."""
        if code is not None:
            name, _, value = code.partition("|")
            code = f"{self.tables.uris.get(name, name)}|{value}"
        self.out.unmapped.append(
            Unmapped(
                resource_type=self.type,
                resource_id=self.id,
                element=element,
                code=code,
                reason=reason,
            )
        )


def map_resources(resources: list[dict[str, Any]], tables: Tables, assessed_on: date) -> Mapped:
    out = Mapped()
    index = {f"{r.get('resourceType')}/{r.get('id')}": r for r in resources}
    for r in resources:
        ctx = Ctx(r, tables, assessed_on, out, index)
        handler = HANDLERS.get(ctx.type)
        if handler is None:
            ctx.skip(ctx.type, None, "a resource type netmdt does not read")
            continue
        try:
            handler(ctx)
        except (AttributeError, TypeError, KeyError, ValueError, IndexError):
            why = _fhir_problem(r)
            if why is None:
                raise  # valid FHIR that the handler cannot read: a bug, not bad input
            _malformed(ctx, why)
    return out


def _fhir_problem(resource: dict[str, Any]) -> str | None:
    """The first way the resource breaks the FHIR R4 (R4B) model, or None if it is valid."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    rtype = str(resource.get("resourceType"))
    try:
        get_fhir_model_class(rtype).model_validate(resource)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        return f"{rtype}.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    except (KeyError, ValueError, TypeError) as exc:
        return f"{rtype}: {exc}"
    return None


def _malformed(ctx: Ctx, why: str) -> None:
    """A resource the handler could not read because it is not valid FHIR: drop what it
    gave, and say why."""
    ctx.out.candidates = [(r, c) for r, c in ctx.out.candidates if r is not ctx.resource]
    ctx.skip(ctx.type, None, f"not valid FHIR R4 ({why}); the resource was not used")
    ctx.out.warnings.append(f"{ctx.type}/{ctx.id} is not valid FHIR; it was not used")


# ------------------------------------------------------------------ Patient


def _patient(ctx: Ctx) -> None:
    r = ctx.resource
    if ctx.id:
        ctx.fact("id", f"Patient/{ctx.id}", "Patient.id", None)
    birth = parse_date(r.get("birthDate"))
    died = parse_date(r.get("deceasedDateTime"))
    if birth is not None:
        a = min(ctx.assessed_on, died) if died else ctx.assessed_on
        age = a.year - birth.year - ((a.month, a.day) < (birth.month, birth.day))
        ctx.fact("age_years", age, "Patient.birthDate", None, f"born {birth}, age on {a}")
    else:
        ctx.skip("Patient.birthDate", None, "no birth date: age unknown")
    gender = r.get("gender")
    if gender in ("female", "male", "other"):
        ctx.fact("sex", gender, "Patient.gender", None)
    else:
        ctx.skip("Patient.gender", None, f"gender {gender!r}: sex unknown")
    if r.get("deceasedBoolean") is True or r.get("deceasedDateTime"):
        when = r.get("deceasedDateTime", "")
        ctx.out.deceased = True
        ctx.out.warnings.append(f"Patient/{ctx.id} is recorded as deceased {when}".rstrip())


# ------------------------------------------------------------------ Condition

_INACTIVE = {"inactive", "resolved", "remission"}
_NOT_TRUE = {"refuted", "entered-in-error"}


def _condition(ctx: Ctx) -> None:
    r = ctx.resource
    status = _status(r.get("verificationStatus"))
    if status in _NOT_TRUE:
        ctx.skip("Condition.verificationStatus", first_code(r.get("code")), f"diagnosis {status}")
        return
    day, _ = first_date(r, ("onsetDateTime", "onsetPeriod", "recordedDate"))
    t = ctx.tables
    code_keys = keys(r.get("code"), t)
    morph = [k for ext in _histology(r) for k in keys(ext.get("valueCodeableConcept"), t)]
    primary = [k for k in morph + code_keys if k in t.primary]
    if primary:
        _primary(ctx, code_keys, morph, day)
    elif any(k in t.metastases for k in code_keys):
        _metastasis(ctx, code_keys, day, _status(r.get("clinicalStatus")))
    elif any(k in t.syndromes for k in code_keys):
        k = next(k for k in code_keys if k in t.syndromes)
        syndrome = t.syndromes[k].value["syndrome"]
        ctx.fact("tumour.functional_syndrome", syndrome, "Condition.code", day, k)
    elif any(k in t.other_cancers for k in code_keys + morph):
        k = next(k for k in code_keys + morph if k in t.other_cancers)
        ctx.skip(
            "Condition.code",
            k,
            f"{t.other_cancers[k].display}: not a neuroendocrine "
            "neoplasm; netmdt's tumour types do not include it (tumour.type stays unknown)",
        )
        ctx.out.warnings.append(
            f"Condition/{ctx.id} is a cancer that is not neuroendocrine "
            f"({t.other_cancers[k].display}); netmdt's rules are for neuroendocrine neoplasms"
        )
    else:
        ctx.skip("Condition.code", first_code(r.get("code")), "code not in netmdt's tables")


def _histology(r: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in items(r, "extension") if e.get("url") == HISTOLOGY_EXT]


def _status(concept: Any) -> str | None:
    for c in codings(concept):
        return str(c.get("code"))
    return None


def _primary(ctx: Ctx, code_keys: list[str], morph: list[str], day: date | None) -> None:
    t = ctx.tables
    sources = [(k, "Condition.code", 1) for k in code_keys] + [
        (k, "Condition.extension[histology-morphology-behavior]", 2) for k in morph
    ]
    for k, where, rank in sources:
        entry = t.primary.get(k)
        if entry is None:
            continue
        for path, value in entry.value["set"].items():
            ctx.fact(path, value, where, day, f"{k} {entry.display}", rank)
    for site in items(ctx.resource, "bodySite"):
        site_keys = [k for k in keys(site, t) if k in t.body_sites]
        if site_keys:
            e = t.body_sites[site_keys[0]]
            ctx.fact(
                "tumour.primary_site",
                e.value["site"],
                "Condition.bodySite",
                day,
                f"{e.key} {e.display}",
                0,
            )
        else:
            ctx.skip("Condition.bodySite", first_code(site), "body site not in netmdt's tables")


def _metastasis(ctx: Ctx, code_keys: list[str], day: date | None, clinical: str | None) -> None:
    t = ctx.tables
    k = next(k for k in code_keys if k in t.metastases)
    if clinical in _INACTIVE:
        ctx.skip("Condition.clinicalStatus", k, f"metastasis recorded as {clinical}")
        return
    site = t.metastases[k].value["site"]
    note = f"{k} {t.metastases[k].display}"
    if site == "liver":
        ctx.fact("disease.liver_metastases.present", True, "Condition.code", day, note)
    else:
        ctx.fact("disease.extrahepatic_metastases", site, "Condition.code", day, note)


# ------------------------------------------------------------------ Observation

_OBS_DATES = ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
_OBS_SKIP = {"entered-in-error", "cancelled", "registered"}


def _observation(ctx: Ctx) -> None:
    r = ctx.resource
    if r.get("status") in _OBS_SKIP:
        ctx.skip("Observation.status", first_code(r.get("code")), f"status {r.get('status')}")
        return
    day, _ = first_date(r, _OBS_DATES)
    t = ctx.tables
    code_keys = keys(r.get("code"), t)
    rules = [
        rule
        for k in dict.fromkeys(code_keys)
        if k.startswith("loinc|")
        for rule in t.by_loinc.get(k[6:], ())
    ]
    found = bool(rules)
    for rule in {id(rule): rule for rule in rules}.values():
        if isinstance(rule, QuantityRule):
            _quantity(ctx, rule, day)
        elif isinstance(rule, ScoreRule):
            _score(ctx, rule, day)
        else:
            _coded(ctx, rule, day)
    if SSTR_RESULT in code_keys:
        found = True
        _sstr_result(ctx, day)
    if not found:
        ctx.skip("Observation.code", first_code(r.get("code")), "code not in netmdt's tables")


def _unit_factor(rule: QuantityRule, q: dict[str, Any]) -> tuple[float | None, str]:
    for unit in (q.get("code"), q.get("unit")):
        if unit is not None and str(unit) in rule.units:
            return rule.units[str(unit)], str(unit)
    if q.get("code") is None and q.get("unit") is None and "" in rule.units:
        return rule.units[""], ""
    return None, str(q.get("code") or q.get("unit") or "")


def _quantity(ctx: Ctx, rule: QuantityRule, day: date | None) -> None:
    q = ctx.resource.get("valueQuantity")
    code = first_code(ctx.resource.get("code"))
    value = number(q.get("value")) if isinstance(q, dict) else None
    if value is None or not isinstance(q, dict):
        ctx.skip("Observation.value[x]", code, f"{rule.field}: no numeric valueQuantity")
        return
    if q.get("comparator"):
        ctx.skip(
            "Observation.valueQuantity.comparator",
            code,
            f"{rule.field}: a value {q['comparator']} {value} is not an exact value",
        )
        return
    if rule.ratio_to_uln:
        _ratio_to_uln(ctx, rule, value, q, day)
        return
    factor, unit = _unit_factor(rule, q)
    if factor is None:
        ctx.skip(
            "Observation.valueQuantity.unit",
            code,
            f"{rule.field}: unit {unit!r} cannot be converted (known: "
            f"{', '.join(u for u in rule.units if u)})",
        )
        return
    note = f"{value} {unit} x {factor}" if factor != 1 else None
    ctx.fact(rule.field, _round(value * factor), "Observation.valueQuantity", day, note)


def _ratio_to_uln(
    ctx: Ctx, rule: QuantityRule, value: float, q: dict[str, Any], day: date | None
) -> None:
    code = first_code(ctx.resource.get("code"))
    for rr in items(ctx.resource, "referenceRange"):
        high = rr.get("high") if isinstance(rr, dict) else None
        if not isinstance(high, dict):
            continue
        uln = number(high.get("value"))
        if uln is None or uln <= 0:
            continue
        units = {str(high.get(k)) for k in ("code", "unit") if high.get(k)} & {
            str(q.get(k)) for k in ("code", "unit") if q.get(k)
        }
        if not units and (high.get("unit") or high.get("code")):
            ctx.skip(
                "Observation.referenceRange.high",
                code,
                f"{rule.field}: the reference range is in another unit than the value",
            )
            return
        ctx.fact(
            rule.field,
            _round(value / uln),
            "Observation.valueQuantity",
            day,
            f"{value} / upper limit of normal {uln} (Observation.referenceRange.high)",
        )
        return
    ctx.skip(
        "Observation.referenceRange",
        code,
        f"{rule.field}: no reference range with an upper limit, so the value cannot be "
        "expressed as a multiple of the upper limit of normal",
    )


def _score(ctx: Ctx, rule: ScoreRule, day: date | None) -> None:
    r = ctx.resource
    code = first_code(r.get("code"))
    value: int | None = None
    element = "Observation.valueInteger"
    if isinstance(r.get("valueInteger"), int) and not isinstance(r.get("valueInteger"), bool):
        value = r["valueInteger"]
    else:
        for k in keys(r.get("valueCodeableConcept"), ctx.tables):
            answer = k.split("|", 1)[1]
            if k.startswith("loinc|") and answer in rule.answers:
                value, element = rule.answers[answer], "Observation.valueCodeableConcept"
    if value is None or not rule.low <= value <= rule.high:
        ctx.skip(
            "Observation.value[x]",
            code,
            f"{rule.field}: no score between {rule.low} and {rule.high}",
        )
        return
    ctx.fact(rule.field, value, element, day)


def _coded(ctx: Ctx, rule: CodedRule, day: date | None) -> None:
    r = ctx.resource
    concept = r.get("valueCodeableConcept")
    for k in keys(concept, ctx.tables):
        if k in rule.answers:
            ctx.fact(rule.field, rule.answers[k], "Observation.valueCodeableConcept", day, k)
            return
    if rule.grade_text:
        grade = _grade(concept, r.get("valueString"))
        if grade:
            ctx.fact(rule.field, grade, "Observation.value[x]", day, "grade read from the text")
            return
    ctx.skip(
        "Observation.value[x]",
        first_code(concept) or first_code(r.get("code")),
        f"{rule.field}: answer not recognised (an unknown answer stays unknown)",
    )


def _grade(concept: Any, text: Any) -> str | None:
    found = " ".join(
        [
            words(concept),
            " ".join(str(c.get("code", "")) for c in codings(concept)),
            str(text or ""),
        ]
    ).lower()
    m = re.search(r"\b(?:g|grade)\s*([123])\b", found)
    return f"G{m.group(1)}" if m else None


def _sstr_result(ctx: Ctx, day: date | None) -> None:
    r = ctx.resource
    t = ctx.tables
    value_keys = keys(r.get("valueCodeableConcept"), t)
    positive = (
        r["valueBoolean"]
        if isinstance(r.get("valueBoolean"), bool)
        else True
        if SNOMED_POSITIVE in value_keys
        else False
        if SNOMED_NEGATIVE in value_keys
        else None
    )
    if positive is None:
        ctx.skip("Observation.value[x]", SSTR_RESULT, "SSTR imaging result not positive/negative")
    else:
        ctx.fact("imaging.sstr.positive", positive, "Observation.value[x]", day)
    for comp in items(r, "component"):
        _sstr_component(ctx, comp, day)


_SSTR_COMPONENTS: dict[str, tuple[str, str]] = {
    "netmdt|modality": ("imaging.sstr.modality", "code"),
    "netmdt|uptake-vs-liver": ("imaging.sstr.uptake_vs_liver", "code"),
    "netmdt|krenning-score": ("imaging.sstr.krenning_score", "valueInteger"),
    "netmdt|all-lesions-avid": ("imaging.sstr.all_lesions_avid", "valueBoolean"),
}


def _sstr_component(ctx: Ctx, comp: dict[str, Any], day: date | None) -> None:
    ks = keys(comp.get("code"), ctx.tables)
    spec = next((_SSTR_COMPONENTS[k] for k in ks if k in _SSTR_COMPONENTS), None)
    if spec is None:
        ctx.skip("Observation.component.code", first_code(comp.get("code")), "component not used")
        return
    path, kind = spec
    if kind == "code":
        vk = [
            k for k in keys(comp.get("valueCodeableConcept"), ctx.tables) if k.startswith("netmdt|")
        ]
        value: Any = vk[0].split("|", 1)[1] if vk else None
    else:
        value = comp.get(kind)
    if value is None:
        ctx.skip(f"Observation.component.{kind}", ks[0], f"{path}: no value")
        return
    ctx.fact(path, value, f"Observation.component[{ks[0].split('|')[1]}]", day)


# ------------------------------------------------------------------ treatments

_MED_SKIP = {"entered-in-error", "cancelled", "draft", "not-taken", "unknown"}
_MED_DATES = (
    "effectivePeriod",
    "effectiveDateTime",
    "authoredOn",
    "dateAsserted",
    "occurenceDateTime",
    "effectiveInstant",
)


def _medication(ctx: Ctx) -> None:
    r = ctx.resource
    concept, element = _medication_concept(ctx)
    if r.get("status") in _MED_SKIP:
        ctx.skip(f"{ctx.type}.status", first_code(concept), f"status {r.get('status')}")
        return
    rule = _match(ctx.tables.medications, set(keys(concept, ctx.tables)), words(concept))
    if rule is None or rule.therapy is None:
        ctx.skip(element, first_code(concept), "medication not one of netmdt's treatment options")
        return
    start, _ = first_date(r, _MED_DATES)
    period = r.get("effectivePeriod") if isinstance(r.get("effectivePeriod"), dict) else {}
    end = parse_date(period.get("end")) if period else None
    _treatment_fact(ctx, rule.therapy, start, end, element, words(concept))


def _medication_concept(ctx: Ctx) -> tuple[Any, str]:
    r = ctx.resource
    if "medicationCodeableConcept" in r:
        return r["medicationCodeableConcept"], f"{ctx.type}.medicationCodeableConcept"
    reference = r.get("medicationReference")
    ref = reference.get("reference", "") if isinstance(reference, dict) else ""
    med = ctx.index.get(str(ref))
    if med is None and str(ref).startswith("#"):
        med = next((c for c in items(r, "contained") if f"#{c.get('id')}" == ref), None)
    return (med or {}).get("code"), f"{ctx.type}.medicationReference"


def _match(
    rules: tuple[TreatmentRule, ...], code_keys: set[str], text: str
) -> TreatmentRule | None:
    return next((rule for rule in rules if rule.matches(code_keys, text)), None)


def _treatment_fact(
    ctx: Ctx, therapy: str, start: date | None, end: date | None, element: str, name: str
) -> None:
    if start is not None and start > ctx.assessed_on:
        ctx.skip(element, None, f"starts {start}, after assessed_on ({ctx.assessed_on})")
        return
    if end is not None and end > ctx.assessed_on:
        end = None  # still going on assessed_on
    value = {"therapy": therapy, "start": start, "end": end}
    ctx.fact("history.prior_treatments", value, element, start, f"matched {name!r}")


_PROC_OK = {"completed"}


def _procedure(ctx: Ctx) -> None:
    r = ctx.resource
    concept = r.get("code")
    if r.get("status") not in _PROC_OK:
        ctx.skip("Procedure.status", first_code(concept), f"status {r.get('status')}")
        return
    day, _ = first_date(r, ("performedDateTime", "performedPeriod"))
    text = words(concept)
    if _sstr_procedure(ctx, text, day):
        return
    rule = _match(ctx.tables.procedures, set(keys(concept, ctx.tables)), text)
    if rule is None:
        ctx.skip("Procedure.code", first_code(concept), "procedure not in netmdt's tables")
        return
    for path, value in _procedure_facts(rule, day):
        ctx.fact(path, value, "Procedure.code", day, f"matched {text!r}")


def _procedure_facts(rule: TreatmentRule, day: date | None) -> Iterator[tuple[str, Any]]:
    if rule.therapy:
        yield "history.prior_treatments", {"therapy": rule.therapy, "start": day, "end": day}
    if rule.surgery:
        yield "history.prior_surgery", rule.surgery
    if rule.liver_directed:
        yield "history.prior_liver_directed_therapy", rule.liver_directed
    if rule.primary_resection and day is not None:
        yield "history.primary_resection_date", day
    if rule.biliary_enteric_anastomosis:
        yield "history.biliary_enteric_anastomosis", True
    if rule.biliary_stent_or_sphincterotomy:
        yield "history.biliary_stent_or_sphincterotomy", True


def _sstr_procedure(ctx: Ctx, text: str, day: date | None) -> bool:
    for modality, patterns in ctx.tables.sstr_imaging:
        if any(p.search(text) for p in patterns):
            ctx.fact(
                "imaging.sstr.modality", modality, f"{ctx.type}.code", day, f"matched {text!r}"
            )
            return True
    return False


def _diagnostic_report(ctx: Ctx) -> None:
    r = ctx.resource
    day, _ = first_date(r, _OBS_DATES)
    if not _sstr_procedure(ctx, words(r.get("code")), day):
        ctx.skip(
            "DiagnosticReport.code",
            first_code(r.get("code")),
            "report not in netmdt's tables (its Observations are read on their own)",
        )


def _round(value: float) -> float:
    return round(value, 4)


def _medication_resource(ctx: Ctx) -> None:
    ctx.skip(
        "Medication",
        first_code(ctx.resource.get("code")),
        "read through the MedicationStatement or MedicationRequest that refers to it",
    )


HANDLERS: dict[str, Callable[[Ctx], None]] = {
    "Medication": _medication_resource,
    "Patient": _patient,
    "Condition": _condition,
    "Observation": _observation,
    "MedicationStatement": _medication,
    "MedicationRequest": _medication,
    "MedicationAdministration": _medication,
    "Procedure": _procedure,
    "DiagnosticReport": _diagnostic_report,
}
