"""The survey: one definition, three exports (FHIR, REDCap, XLSForm), the same show/hide
logic in all three, our own plain English."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netmdt.cli import app
from netmdt.survey.export import (
    REDCAP_HEADER,
    fhir_questionnaire,
    redcap_dictionary,
    validate_fhir,
    write_xlsform,
)
from netmdt.survey.logic import expression_true, fhir_enabled
from netmdt.survey.model import Item, load_survey

SURVEY = load_survey()
HEADER = (
    "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
    '"Choices, Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider '
    "Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field "
    "only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group "
    "Name,Matrix Ranking?,Field Annotation"
)
FIELD_TYPES = {"text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc",
               "file", "slider", "descriptive", "sql"}  # fmt: skip
VALIDATIONS = {"", "integer", "number", "date_ymd", "date_dmy", "email", "phone"}


def test_fhir_export_is_a_valid_questionnaire(tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    result = CliRunner().invoke(app, ["survey", "export", "--format", "fhir", "--out", str(out)])
    assert result.exit_code == 0, result.output
    resource = json.loads(out.read_text())
    validate_fhir(resource)
    assert resource["status"] == "active" and resource["version"] == SURVEY.version
    link_ids = [i["linkId"] for g in resource["item"] for i in [g, *g["item"]]]
    assert len(link_ids) == len(set(link_ids)) == len(SURVEY.pages) + len(SURVEY.items())
    assert all(i["type"] for g in resource["item"] for i in g["item"])
    assert resource == fhir_questionnaire(SURVEY)


def test_redcap_dictionary(tmp_path: Path) -> None:
    out = tmp_path / "dd.csv"
    result = CliRunner().invoke(app, ["survey", "export", "--format", "redcap", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == REDCAP_HEADER and all(len(r) == 18 for r in rows)
    assert rows[1][0] == "record_id"
    for row in rows[1:]:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,25}", row[0]), row[0]
        assert row[3] in FIELD_TYPES and row[7] in VALIDATIONS
        if row[5]:
            for choice in row[5].split(" | "):
                code, label = choice.split(", ", 1)
                assert code.isdigit() and label
    assert [r[0] for r in rows[2:]] == [i.linkId for i in SURVEY.items()]


def test_xlsform_converts_with_pyxform(tmp_path: Path) -> None:
    from openpyxl import load_workbook
    from pyxform.xls2xform import convert

    out = tmp_path / "form.xlsx"
    result = CliRunner().invoke(app, ["survey", "export", "--format", "xlsform", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["survey", "choices", "settings"]
    warnings: list[str] = []
    xform = convert(xlsform=str(out), warnings=warnings).xform
    assert warnings == []
    assert f'version="{SURVEY.version}"' in xform
    for item in SURVEY.items():
        assert f"/{item.linkId}" in xform


def test_export_refuses_an_unknown_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["survey", "export", "--format", "pdf", "--out", "x"])
    assert result.exit_code == 2 and "--format" in result.output


# -- logic ------------------------------------------------------------------------------

EXPECTED = {  # item: (FHIR enableWhen, REDCap branching logic, XLSForm relevant)
    "lan_syringe": ({"question": "product", "operator": "=", "answerCoding": {"code": "1"}},
                    "[product] = '1'", "${product} = '1'"),
    "pain_days": ({"question": "pain_score", "operator": ">", "answerInteger": 0},
                  "[pain_score] > 0", "${pain_score} > 0"),
    "delayed_count": ({"question": "delayed", "operator": "=", "answerBoolean": True},
                      "[delayed] = '1'", "${delayed} = '1'"),
    "delay_why": ({"question": "delayed", "operator": "=", "answerBoolean": True},
                  "[delayed] = '1'", "${delayed} = '1'"),
    "travel_cost": ({"question": "travel_min", "operator": ">", "answerInteger": 0},
                    "[travel_min] > 0", "${travel_min} > 0"),
    "time_off": ({"question": "travel_min", "operator": ">", "answerInteger": 0},
                 "[travel_min] > 0", "${travel_min} > 0"),
    "aware_self": ({"question": "who_gives", "operator": "!=", "answerCoding": {"code": "4"}},
                   "[who_gives] <> '4'", "${who_gives} != '4'"),
    "want_self": ({"question": "who_gives", "operator": "!=", "answerCoding": {"code": "4"}},
                  "[who_gives] <> '4'", "${who_gives} != '4'"),
}  # fmt: skip


def _exports(tmp_path: Path) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    from openpyxl import load_workbook

    fhir = {i["linkId"]: i for g in fhir_questionnaire(SURVEY)["item"] for i in g["item"]}
    rows = list(csv.reader(io.StringIO(redcap_dictionary(SURVEY))))
    redcap = {r[0]: r[11] for r in rows[1:]}
    write_xlsform(SURVEY, tmp_path / "f.xlsx")
    sheet = load_workbook(tmp_path / "f.xlsx")["survey"]
    head = [c.value for c in sheet[1]]
    xls = {
        row[1]: row[head.index("relevant")] or ""
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[0] not in ("begin group", "end group")
    }
    return fhir, redcap, xls


def test_each_conditional_item_has_the_same_rule_in_the_three_formats(tmp_path: Path) -> None:
    fhir, redcap, xls = _exports(tmp_path)
    conditional = {i.linkId for i in SURVEY.items() if i.enableWhen}
    assert conditional == set(EXPECTED)
    for link_id, (when, rc, xf) in EXPECTED.items():
        assert (fhir[link_id]["enableWhen"], redcap[link_id], xls[link_id]) == ([when], rc, xf)
    for link_id in {i.linkId for i in SURVEY.items()} - conditional:
        assert ("enableWhen" not in fhir[link_id], redcap[link_id], xls[link_id]) == (True, "", "")


def _domain(item: Item) -> list[Any]:
    """Every answer a question can take that matters to a rule, and no answer."""
    if item.type == "boolean":
        return [None, True, False]
    if item.type == "choice":
        return [None, *(o.code for o in item.answerOption)]
    lo, hi = int(item.minValue or 0), int(item.maxValue or 10)
    return [None, lo, lo + 1, (lo + hi) // 2, hi]


@pytest.mark.parametrize("link_id", sorted(EXPECTED))
def test_show_hide_is_identical_over_every_answer_combination(link_id: str, tmp_path: Path) -> None:
    fhir, redcap, xls = _exports(tmp_path)
    item = SURVEY.item(link_id)
    controls = [SURVEY.item(c.question) for c in item.enableWhen]
    outcomes = set()
    for combo in itertools.product(*(_domain(c) for c in controls)):
        answers = {c.linkId: v for c, v in zip(controls, combo, strict=True) if v is not None}
        shown = fhir_enabled(fhir[link_id], answers)
        assert expression_true(redcap[link_id], answers) == shown, (link_id, answers)
        assert expression_true(xls[link_id], answers) == shown, (link_id, answers)
        outcomes.add(shown)
    assert outcomes == {True, False}  # the rule does something


def test_a_condition_on_a_later_or_unknown_question_is_refused() -> None:
    from pydantic import ValidationError

    from netmdt.survey.model import Survey

    raw = SURVEY.model_dump()
    raw["pages"][0]["item"][1]["enableWhen"] = [{"question": "comment", "operator": "=",
                                                 "answer": "x"}]  # fmt: skip
    with pytest.raises(ValidationError, match="not an earlier question"):
        Survey.model_validate(raw)


# -- wording ----------------------------------------------------------------------------


def our_text() -> str:
    """Every sentence the patient reads: titles, questions, answers, one a line."""
    lines = [SURVEY.description, *(p.text + "." for p in SURVEY.pages)]
    for item in SURVEY.items():
        lines.append(item.text)
        lines += [o.display + "." for o in item.answerOption]
    return "\n".join(lines)


def test_plain_english_reading_ease_is_60_or_more() -> None:
    import textstat

    score = textstat.flesch_reading_ease(our_text())
    assert score >= 60, score


def test_licensed_instruments_are_references_only() -> None:
    assert {i.id for i in SURVEY.licensed_instruments} == {
        "eortc_qlq_c30", "eortc_qlq_ginet21", "tsqm_9"}  # fmt: skip
    text = our_text().lower()
    for name in ("eortc", "qlq", "tsqm", "during the past week"):
        assert name not in text
    assert all(item.rationale and item.cites for item in SURVEY.items())


def _answer_strategy() -> Any:
    from hypothesis import strategies as st

    fields = {}
    for item in SURVEY.items():
        if item.type == "boolean":
            value: Any = st.booleans()
        elif item.type == "choice":
            value = st.sampled_from([o.code for o in item.answerOption])
        elif item.type == "integer":
            value = st.integers(int(item.minValue or 0), int(item.maxValue or 100))
        elif item.type == "decimal":
            value = st.floats(item.minValue or 0, item.maxValue or 100, allow_nan=False)
        else:
            value = st.text(max_size=5)
        fields[item.linkId] = st.none() | value
    return st.fixed_dictionaries(fields).map(
        lambda d: {k: v for k, v in d.items() if v is not None}
    )


def test_whole_responses_show_the_same_questions_in_the_three_formats(tmp_path: Path) -> None:
    from hypothesis import given, settings

    fhir, redcap, xls = _exports(tmp_path)

    @settings(max_examples=300, deadline=None)
    @given(_answer_strategy())
    def check(answers: dict[str, Any]) -> None:
        by_fhir = {k for k, item in fhir.items() if fhir_enabled(item, answers)}
        by_redcap = {
            k for k, rule in redcap.items() if k != "record_id" and expression_true(rule, answers)
        }
        by_xls = {k for k, rule in xls.items() if expression_true(rule, answers)}
        assert by_fhir == by_redcap == by_xls

    check()


def test_redcap_records_line_up_with_the_dictionary() -> None:
    from netmdt.survey.web import redcap_records

    rows = list(csv.reader(io.StringIO(redcap_dictionary(SURVEY))))
    names = [r[0] for r in rows[1:]]
    answers = {"product": "1", "who_gives": "4", "lump": True, "comment": "=cmd()"}
    (head, row) = redcap_records(SURVEY, [{"id": 7, "answers": answers}])
    assert head == [*names, "ssa_injection_complete"]
    record = dict(zip(head, row, strict=True))
    assert (record["record_id"], record["product"], record["lump"], record["comment"]) == (
        7, "1", 1, "'=cmd()")  # fmt: skip
    assert record["ssa_injection_complete"] == 2
