"""The three exports of one survey definition: a FHIR R4 Questionnaire (JSON), a REDCap
data dictionary (CSV, the exact 18-column header) and an XLSForm (.xlsx with ``survey``,
``choices`` and ``settings`` sheets)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from netmdt.survey.logic import redcap_logic, xlsform_relevant
from netmdt.survey.model import Item, Survey

EXT = "http://hl7.org/fhir/StructureDefinition/"
FHIR_TYPES = {
    "boolean": "boolean",
    "integer": "integer",
    "decimal": "decimal",
    "string": "string",
    "text": "text",
    "choice": "choice",
}
ANSWER_KEY = {bool: "answerBoolean", int: "answerInteger", float: "answerDecimal"}


def fhir_item(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.linkId, "text": item.text, "type": FHIR_TYPES[item.type]}
    extensions = []
    for bound, name in ((item.minValue, "minValue"), (item.maxValue, "maxValue")):
        if bound is not None:
            key = "valueInteger" if item.type == "integer" else "valueDecimal"
            value: float | int = int(bound) if item.type == "integer" else bound
            extensions.append({"url": EXT + name, key: value})
    if extensions:
        out["extension"] = extensions
    if item.enableWhen:
        out["enableWhen"] = [_fhir_condition(item, c) for c in item.enableWhen]
        if len(item.enableWhen) > 1:
            out["enableBehavior"] = item.enableBehavior
    out["required"] = item.required
    if item.maxLength is not None:
        out["maxLength"] = item.maxLength
    if item.answerOption:
        out["answerOption"] = [
            {"valueCoding": {"code": o.code, "display": o.display}} for o in item.answerOption
        ]
    return out


def _fhir_condition(item: Item, cond: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"question": cond.question, "operator": cond.operator}
    if cond.operator == "exists":
        out["answerBoolean"] = cond.answer
    elif isinstance(cond.answer, str):
        out["answerCoding"] = {"code": cond.answer}
    else:
        out[ANSWER_KEY[type(cond.answer)]] = cond.answer
    return out


def fhir_questionnaire(survey: Survey) -> dict[str, Any]:
    """The FHIR R4 Questionnaire (JSON-ready dict); pages are groups."""
    return {
        "resourceType": "Questionnaire",
        "id": survey.id.replace("_", "-"),
        "url": survey.url,
        "version": survey.version,
        "name": "".join(w.title() for w in survey.id.split("_")),
        "title": survey.title,
        "status": survey.status,
        "description": survey.description,
        "item": [
            {
                "linkId": page.linkId,
                "text": page.text,
                "type": "group",
                "item": [fhir_item(i) for i in page.item],
            }
            for page in survey.pages
        ],
    }


def validate_fhir(resource: dict[str, Any]) -> None:
    """Raise if ``resource`` is not a valid Questionnaire (fhir.resources' R4B model: the
    R4 elements used here are unchanged in R4B)."""
    from fhir.resources.R4B.questionnaire import Questionnaire

    Questionnaire.model_validate(resource)


# -- REDCap -----------------------------------------------------------------------------

REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
RECORD_ID = "record_id"


def _bound(value: float | None, integer: bool) -> str:
    if value is None:
        return ""
    return str(int(value)) if integer or value == int(value) else str(value)


def redcap_rows(survey: Survey) -> list[list[str]]:
    """The data dictionary's rows (after the header): the record id, then each item."""
    form = survey.id
    rows = [[RECORD_ID, form, "", "text", "Record ID", *[""] * 13]]
    for page in survey.pages:
        for n, item in enumerate(page.item):
            kind, validation, choices = {
                "boolean": ("yesno", "", ""),
                "integer": ("text", "integer", ""),
                "decimal": ("text", "number", ""),
                "string": ("text", "", ""),
                "text": ("notes", "", ""),
                "choice": ("radio", "", ""),
            }[item.type]
            if item.answerOption:
                choices = " | ".join(f"{o.code}, {o.display}" for o in item.answerOption)
            integer = item.type == "integer"
            row = [
                item.linkId,
                form,
                page.text if n == 0 else "",
                kind,
                item.text,
                choices,
                f"At most {item.maxLength} characters" if item.maxLength else "",
                validation,
                _bound(item.minValue, integer),
                _bound(item.maxValue, integer),
                "",
                redcap_logic(item),
                "y" if item.required else "",
                "",
                "",
                "",
                "",
                "",
            ]
            rows.append(row)
    return rows


def redcap_dictionary(survey: Survey) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REDCAP_HEADER)
    writer.writerows(redcap_rows(survey))
    return out.getvalue()


# -- XLSForm ----------------------------------------------------------------------------

SURVEY_COLUMNS = [
    "type",
    "name",
    "label",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "appearance",
]
YESNO = "yesno"


def _constraint(item: Item) -> tuple[str, str]:
    parts = []
    if item.minValue is not None:
        parts.append(f". >= {_bound(item.minValue, item.type == 'integer')}")
    if item.maxValue is not None:
        parts.append(f". <= {_bound(item.maxValue, item.type == 'integer')}")
    if item.maxLength is not None:
        parts.append(f"string-length(.) <= {item.maxLength}")
    if not parts:
        return "", ""
    lo, hi = item.minValue, item.maxValue
    if item.maxLength is not None:
        return " and ".join(parts), f"At most {item.maxLength} characters"
    return " and ".join(parts), f"Between {_bound(lo, True)} and {_bound(hi, True)}"


def xlsform_sheets(survey: Survey) -> dict[str, list[list[str]]]:
    """The three sheets as rows (header first)."""
    rows: list[list[str]] = [SURVEY_COLUMNS]
    choices: list[list[str]] = [["list_name", "name", "label"]]
    if any(i.type == "boolean" for i in survey.items()):
        choices += [[YESNO, "1", "Yes"], [YESNO, "0", "No"]]
    for page in survey.pages:
        rows.append(["begin group", page.linkId, page.text, "", "", "", "", "field-list"])
        for item in page.item:
            kind = {
                "boolean": f"select_one {YESNO}",
                "integer": "integer",
                "decimal": "decimal",
                "string": "text",
                "text": "text",
                "choice": f"select_one {item.linkId}",
            }[item.type]
            constraint, message = _constraint(item)
            rows.append(
                [
                    kind,
                    item.linkId,
                    item.text,
                    "yes" if item.required else "",
                    xlsform_relevant(item),
                    constraint,
                    message,
                    "multiline" if item.type == "text" else "",
                ]
            )
            choices += [[item.linkId, o.code, o.display] for o in item.answerOption]
        rows.append(["end group", page.linkId, "", "", "", "", "", ""])
    settings = [
        ["form_title", "form_id", "version", "default_language"],
        [survey.title, survey.id, survey.version, "English (en)"],
    ]
    return {"survey": rows, "choices": choices, "settings": settings}


def write_xlsform(survey: Survey, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = True
    for name, rows in xlsform_sheets(survey).items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        sheet.title = name
        first = False
        for row in rows:
            sheet.append(row)
    book.save(path)


def export(survey: Survey, fmt: str, out: Path) -> None:
    """Write ``survey`` in ``fmt`` (fhir, redcap or xlsform) to ``out``."""
    if fmt == "fhir":
        resource = fhir_questionnaire(survey)
        validate_fhir(resource)
        out.write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "redcap":
        out.write_text(redcap_dictionary(survey), encoding="utf-8")
    elif fmt == "xlsform":
        write_xlsform(survey, out)
    else:
        raise ValueError(f"--format: {fmt!r} is not one of fhir, redcap, xlsform")
