"""REDCap export and re-import, so a network registry can pool the data.

- ``data_dictionary.csv``: REDCap's 18-column data dictionary (the header byte for byte as
  REDCap writes it), field types and text validation types from REDCap's lists, variable
  names ``^[a-z][a-z0-9_]{0,25}$``, choices ``code, label | code, label``.
- ``records.csv``: the flat record format: ``record_id``, ``redcap_repeat_instrument`` and
  ``redcap_repeat_instance`` (blank on the non-repeating row, form name and 1-based instance
  on the repeating ones: ``prrt_cycle``, ``lab_result``, ``adverse_event``,
  ``response_assessment``, ``prom_score``), then each form's fields followed by ``<form>_complete``
  (0 incomplete, 1 unverified, 2 complete).

Records are the registry number (``R<id>``); no names, NHS or hospital numbers leave.
``read_export`` parses both files back (checking them as REDCap would) and returns the
same structure ``records_of`` builds: the round trip is tested.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netmdt.registry.schemas import RecordOut

HEADER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,'
    "Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,"
    "Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
    "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation"
)
COLUMNS = next(csv.reader([HEADER]))
FIELD_TYPES = frozenset(
    {"text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "file",
     "slider", "descriptive", "sql"}
)  # fmt: skip
VALIDATIONS = frozenset(
    {"date_ymd", "date_dmy", "date_mdy", "datetime_ymd", "datetime_dmy", "datetime_mdy",
     "datetime_seconds_ymd", "datetime_seconds_dmy", "datetime_seconds_mdy", "time",
     "time_mm_ss", "integer", "number", "number_1dp", "number_2dp", "number_3dp", "number_4dp",
     "number_1dp_comma_decimal", "number_2dp_comma_decimal", "number_3dp_comma_decimal",
     "number_4dp_comma_decimal", "email", "alpha_only", "phone", "phone_australia",
     "postalcode_australia", "postalcode_canada", "ssn", "mrn", "zipcode", "signature"}
)  # fmt: skip
NAME = re.compile(r"^[a-z][a-z0-9_]{0,25}$")
REPEATING = ("prrt_cycle", "lab_result", "adverse_event", "response_assessment", "prom_score")
FORMS = ("enrolment", "outcome", *REPEATING)


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    validation: str = ""
    note: str = ""


def _c(*pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple((p, p.replace("_", " ")) for p in pairs)


YESNO = "yesno"
DICTIONARY: tuple[Field, ...] = (
    Field("record_id", "enrolment", "text", "Registry number"),
    Field("subgroup", "enrolment", "dropdown", "Indication subgroup",
          _c("bronchial", "thymic", "ppgl", "mtc", "other_non_gep", "gep_retreatment", "unknown")),
    Field("subgroup_reason", "enrolment", "notes", "Why this subgroup (derived from the case)"),
    Field("prrt_option", "enrolment", "dropdown", "PRRT chosen by the MDT",
          _c("prrt_lu177_dotatate", "prrt_y90_dotatoc")),
    Field("decision_id", "enrolment", "text", "MDT decision id", validation="integer"),
    Field("case_version", "enrolment", "text", "Case version decided on", validation="integer"),
    Field("kb_version", "enrolment", "text", "netmdt knowledge-base version"),
    Field("kb_fingerprint", "enrolment", "text", "netmdt knowledge-base fingerprint"),
    Field("reg_status", "enrolment", "dropdown", "Registry status at enrolment",
          _c("open", "on_hold", "closed")),
    Field("enrolled_on", "enrolment", "text", "Enrolment date", validation="date_ymd"),
    Field("consent_date", "enrolment", "text", "Consent date", validation="date_ymd"),
    Field("info_sheet_ver", "enrolment", "text", "Information sheet version"),
    Field("planned_cycles", "enrolment", "text", "Cycles planned", validation="integer"),
    Field("stop_reason", "outcome", "notes", "Reason for stopping before the planned cycles"),
    Field("progression_date", "outcome", "text", "Progression (RECIST)", validation="date_ymd"),
    Field("death_date", "outcome", "text", "Date of death", validation="date_ymd"),
    Field("death_cause", "outcome", "dropdown", "Cause of death",
          _c("net_progression", "treatment_related", "other", "unknown")),
    Field("last_contact", "outcome", "text", "Date last known alive", validation="date_ymd"),
    Field("cycle_number", "prrt_cycle", "text", "Cycle number", validation="integer"),
    Field("cycle_date", "prrt_cycle", "text", "Date given", validation="date_ymd"),
    Field("agent", "prrt_cycle", "dropdown", "Radiopharmaceutical",
          _c("lu177_dotatate", "lu177_dotatoc", "y90_dotatoc")),
    Field("prescribed_gbq", "prrt_cycle", "text", "Prescribed GBq", validation="number_2dp"),
    Field("administered_gbq", "prrt_cycle", "text", "Administered GBq", validation="number_2dp"),
    Field("dq_warnings", "prrt_cycle", "notes", "Data-quality warnings (computed)"),
    Field("lab_date", "lab_result", "text", "Date taken", validation="date_ymd"),
    Field("lab_baseline", "lab_result", YESNO, "Baseline result"),
    Field("analyte", "lab_result", "dropdown", "Analyte (unit in the code)",
          _c("haemoglobin_g_l", "platelets_10e9_l", "neutrophils_10e9_l", "wbc_10e9_l",
             "lymphocytes_10e9_l", "creatinine_umol_l", "bilirubin_umol_l", "alt_u_l")),
    Field("lab_value", "lab_result", "text", "Value", validation="number"),
    Field("lab_lln", "lab_result", "text", "Lower limit of normal", validation="number"),
    Field("lab_uln", "lab_result", "text", "Upper limit of normal", validation="number"),
    Field("lab_grade", "lab_result", "text", "CTCAE v5.0 grade (computed)", validation="integer",
          note="blank: not gradable (reference limit missing)"),
    Field("ae_term", "adverse_event", "text", "CTCAE term"),
    Field("ae_meddra", "adverse_event", "text", "MedDRA LLT code", validation="integer"),
    Field("ae_grade", "adverse_event", "dropdown", "CTCAE grade",
          (("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5"))),
    Field("ae_ctcae_ver", "adverse_event", "dropdown", "CTCAE version", _c("5.0", "6.0")),
    Field("ae_onset", "adverse_event", "text", "Onset", validation="date_ymd"),
    Field("ae_resolved", "adverse_event", "text", "Resolved", validation="date_ymd"),
    Field("ae_serious", "adverse_event", YESNO, "Serious"),
    Field("ae_from_lab", "adverse_event", YESNO, "Graded from a blood result"),
    Field("scan_date", "response_assessment", "text", "Scan date", validation="date_ymd"),
    Field("scan_baseline", "response_assessment", YESNO, "Baseline scan"),
    Field("sum_mm", "response_assessment", "text", "Sum of targets (mm)", validation="number"),
    Field("recist", "response_assessment", "dropdown", "RECIST 1.1 overall response (computed)",
          _c("CR", "PR", "SD", "PD", "NE")),
    Field("new_lesions", "response_assessment", YESNO, "New lesions"),
    Field("non_target", "response_assessment", "dropdown", "Non-target disease",
          _c("none", "absent", "present", "unequivocal_progression")),
    Field("sstr_response", "response_assessment", "dropdown", "SSTR-PET response (as recorded)",
          _c("complete", "partial", "stable", "progression", "not_done")),
    Field("lesions_json", "response_assessment", "notes", "Target lesions (JSON)"),
    Field("prom_instrument", "prom_score", "dropdown", "Questionnaire",
          _c("eortc_qlq_c30", "eortc_qlq_ginet21", "other")),
    Field("prom_date", "prom_score", "text", "Completed on", validation="date_ymd"),
    Field("prom_scale", "prom_score", "text", "Scale (as the licensed scoring names it)"),
    Field("prom_value", "prom_score", "text", "Score (0-100)", validation="number"),
    Field("prom_licence", "prom_score", "text", "Licence reference"),
)  # fmt: skip


def dictionary_csv() -> str:
    out = io.StringIO()
    out.write(HEADER + "\r\n")
    w = csv.writer(out, lineterminator="\r\n")
    for f in DICTIONARY:
        choices = " | ".join(f"{code}, {label}" for code, label in f.choices)
        w.writerow(
            [f.name, f.form, "", f.type, f.label, choices, f.note, f.validation, "", "",
             "", "", "y" if f.name == "record_id" else "", "", "", "", "", ""]
        )  # fmt: skip
    return out.getvalue()


def _columns() -> list[str]:
    cols = ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form in FORMS:
        cols += [f.name for f in DICTIONARY if f.form == form and f.name != "record_id"]
        cols.append(f"{form}_complete")
    return cols


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def records_of(records: Iterable[RecordOut]) -> list[dict[str, str]]:
    """The flat rows (every value a string; blank = empty)."""
    rows = []
    for r in records:
        e = r.enrolment
        rid = f"R{e.id}"
        base = {
            "record_id": rid, "subgroup": e.subgroup, "subgroup_reason": e.subgroup_reason,
            "prrt_option": e.option, "decision_id": e.decision_id, "case_version": e.case_version,
            "kb_version": e.kb_version, "kb_fingerprint": e.kb_fingerprint,
            "reg_status": e.registry_status, "enrolled_on": e.enrolled_on,
            "consent_date": e.consent_date, "info_sheet_ver": e.info_sheet_version,
            "planned_cycles": e.planned_cycles, "enrolment_complete": 2,
            "stop_reason": e.stop_reason, "progression_date": e.progression_date,
            "death_date": e.death_date, "death_cause": e.death_cause,
            "last_contact": e.last_contact, "outcome_complete": 2,
        }  # fmt: skip
        rows.append(base)
        for i, c in enumerate(r.cycles, 1):
            rows.append(
                {"record_id": rid, "redcap_repeat_instrument": "prrt_cycle",
                 "redcap_repeat_instance": i, "cycle_number": c.number, "cycle_date": c.given_on,
                 "agent": c.agent, "prescribed_gbq": c.prescribed_gbq,
                 "administered_gbq": c.administered_gbq, "dq_warnings": " | ".join(c.warnings),
                 "prrt_cycle_complete": 2}
            )  # fmt: skip
        for i, lab in enumerate(r.labs, 1):
            rows.append(
                {"record_id": rid, "redcap_repeat_instrument": "lab_result",
                 "redcap_repeat_instance": i, "lab_date": lab.taken_on,
                 "lab_baseline": lab.baseline,
                 "analyte": lab.analyte, "lab_value": lab.value, "lab_lln": lab.lln,
                 "lab_uln": lab.uln, "lab_grade": lab.grade, "lab_result_complete": 2}
            )  # fmt: skip
        for i, a in enumerate(r.adverse_events, 1):
            rows.append(
                {"record_id": rid, "redcap_repeat_instrument": "adverse_event",
                 "redcap_repeat_instance": i, "ae_term": a.term, "ae_meddra": a.meddra_code,
                 "ae_grade": a.grade, "ae_ctcae_ver": a.ctcae_version, "ae_onset": a.onset,
                 "ae_resolved": a.resolved, "ae_serious": a.serious,
                 "ae_from_lab": a.lab_id is not None, "adverse_event_complete": 2}
            )  # fmt: skip
        for i, s in enumerate(r.scans, 1):
            rows.append(
                {"record_id": rid, "redcap_repeat_instrument": "response_assessment",
                 "redcap_repeat_instance": i, "scan_date": s.scanned_on,
                 "scan_baseline": s.baseline, "sum_mm": s.sum_mm, "recist": s.response,
                 "new_lesions": s.new_lesions, "non_target": s.non_target,
                 "sstr_response": s.sstr_response,
                 "lesions_json": json.dumps(s.lesions, sort_keys=True, separators=(",", ":")),
                 "response_assessment_complete": 2}
            )  # fmt: skip
        for i, p in enumerate(r.proms, 1):
            rows.append(
                {"record_id": rid, "redcap_repeat_instrument": "prom_score",
                 "redcap_repeat_instance": i, "prom_instrument": p.instrument,
                 "prom_date": p.completed_on, "prom_scale": p.scale, "prom_value": p.score,
                 "prom_licence": p.licence_ref, "prom_score_complete": 2}
            )  # fmt: skip
    cols = _columns()
    return [{c: _s(row.get(c)) for c in cols} for row in rows]


def records_csv(records: Iterable[RecordOut]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=_columns(), lineterminator="\r\n")
    w.writeheader()
    w.writerows(records_of(records))
    return out.getvalue()


def write(records: list[RecordOut], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    dictionary, flat = folder / "data_dictionary.csv", folder / "records.csv"
    dictionary.write_text(dictionary_csv(), encoding="utf-8", newline="")
    flat.write_text(records_csv(records), encoding="utf-8", newline="")
    return [dictionary, flat]


class RedcapFormatError(ValueError):
    """A file that REDCap would not accept; the message names the line and column."""


def check_dictionary(text: str) -> list[Field]:
    lines = text.splitlines()
    if not lines or lines[0] != HEADER:
        raise RedcapFormatError("data_dictionary.csv line 1: not REDCap's 18-column header")
    fields = []
    for n, row in enumerate(csv.reader(lines[1:]), 2):
        if len(row) != len(COLUMNS):
            raise RedcapFormatError(f"data_dictionary.csv line {n}: {len(row)} columns, not 18")
        name, form, _, ftype, label, choices, note, validation = row[:8]
        if not NAME.match(name):
            raise RedcapFormatError(f"line {n}: variable name {name!r} breaks REDCap's rules")
        if not NAME.match(form):
            raise RedcapFormatError(f"line {n}: form name {form!r} breaks REDCap's rules")
        if ftype not in FIELD_TYPES:
            raise RedcapFormatError(f"line {n}: field type {ftype!r} is not a REDCap type")
        if validation and validation not in VALIDATIONS:
            raise RedcapFormatError(f"line {n}: validation {validation!r} is not a REDCap type")
        if ftype == "checkbox" and len(name) > 20:
            raise RedcapFormatError(f"line {n}: checkbox name {name!r} longer than 20")
        parsed: tuple[tuple[str, str], ...] = ()
        if ftype in ("dropdown", "radio", "checkbox"):
            parsed = tuple(_choice(n, c) for c in choices.split("|"))
        elif choices:
            raise RedcapFormatError(f"line {n}: choices on a {ftype} field")
        fields.append(Field(name, form, ftype, label, parsed, validation, note))
    return fields


def _choice(n: int, text: str) -> tuple[str, str]:
    code, sep, label = text.strip().partition(",")
    if not sep or not code.strip() or not label.strip():
        raise RedcapFormatError(f"line {n}: choice {text.strip()!r} is not 'code, label'")
    return code.strip(), label.strip()


def read_export(folder: Path) -> tuple[list[Field], list[dict[str, str]]]:
    """Re-read an export, checking it as REDCap's importer would."""
    fields = check_dictionary((folder / "data_dictionary.csv").read_text(encoding="utf-8"))
    by_name = {f.name: f for f in fields}
    with (folder / "records.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        rows = list(reader)
    if header[:3] != ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]:
        raise RedcapFormatError("records.csv: record_id and the repeat columns must come first")
    forms = {f.form for f in fields}
    for col in header[3:]:
        if col.endswith("_complete") and col.removesuffix("_complete") in forms:
            continue
        if col not in by_name:
            raise RedcapFormatError(f"records.csv: column {col!r} is not in the dictionary")
    for n, row in enumerate(rows, 2):
        instrument, instance = row["redcap_repeat_instrument"], row["redcap_repeat_instance"]
        if bool(instrument) != bool(instance):
            raise RedcapFormatError(f"records.csv line {n}: instrument and instance go together")
        if instrument and (
            instrument not in REPEATING or not instance.isdigit() or int(instance) < 1
        ):
            raise RedcapFormatError(f"records.csv line {n}: bad repeat {instrument!r} {instance!r}")
        for col, value in row.items():
            if col.endswith("_complete") and value not in ("", "0", "1", "2"):
                raise RedcapFormatError(f"records.csv line {n}: {col} must be 0, 1 or 2")
            f = by_name.get(col)
            if f is None or not value:
                continue
            if f.choices and value not in {c for c, _ in f.choices}:
                raise RedcapFormatError(f"records.csv line {n}: {col}={value!r} is not a choice")
            if f.type == "yesno" and value not in ("0", "1"):
                raise RedcapFormatError(f"records.csv line {n}: {col} must be 0 or 1")
            if f.validation == "integer" and not re.fullmatch(r"-?\d+", value):
                raise RedcapFormatError(f"records.csv line {n}: {col} must be an integer")
            if f.validation == "date_ymd" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise RedcapFormatError(f"records.csv line {n}: {col} must be YYYY-MM-DD")
    return fields, rows
