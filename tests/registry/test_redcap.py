"""The REDCap export: REDCap's exact dictionary header, its field and validation types,
variable-name rules, choices, the flat record format, and the round trip."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest

from netmdt.registry import redcap
from netmdt.registry import schemas as rs

HEADER = (
    'Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, '
    'Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider Number,'
    "Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only "
    "if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,"
    "Matrix Ranking?,Field Annotation"
)


def record(n: int = 1) -> rs.RecordOut:
    d = date(2026, 1, 5)
    return rs.RecordOut(
        enrolment=rs.EnrolmentOut(
            id=n, patient_id=1, case_id=2, decision_id=3, case_version=1,
            option="prrt_lu177_dotatate", kb_version="2026.11", kb_fingerprint="sha256:ab",
            subgroup="bronchial", subgroup_reason='NET with a lung primary, "quoted", comma',
            registry_status="open", enrolled_on=d, consent_date=d, info_sheet_version="v2",
            planned_cycles=4, stop_reason=None, progression_date=None, death_date=None,
            death_cause=None, last_contact=date(2026, 6, 1), created_by="dr",
        ),
        cycles=[
            rs.CycleOut(id=1, number=1, given_on=d, agent="lu177_dotatate", prescribed_gbq=7.4,
                        administered_gbq=7.35, cumulative_gbq=7.35, warnings=[]),
            rs.CycleOut(id=2, number=2, given_on=date(2026, 3, 5), agent="lu177_dotatate",
                        prescribed_gbq=7.4, administered_gbq=7.4, cumulative_gbq=14.75,
                        warnings=["check"]),
        ],
        labs=[rs.LabOut(id=1, taken_on=d, baseline=True, analyte="platelets_10e9_l", value=210,
                        lln=150, uln=None, grade=0, grade_reason="ok")],
        adverse_events=[rs.AdverseEventOut(id=1, term="Nausea", meddra_code=None, grade=1,
                                           ctcae_version="5.0", onset=d, resolved=None,
                                           serious=False, lab_id=None)],
        scans=[rs.ScanOut(id=1, scanned_on=d, baseline=True,
                          lesions=[{"lesion": "L1", "organ": "liver", "nodal": False, "mm": 30.0}],
                          new_lesions=False, non_target="none", sstr_response=None, sum_mm=30.0,
                          response=None, response_reason=None)],
        proms=[rs.PromOut(id=1, instrument="eortc_qlq_c30", completed_on=d, scale="QL2",
                          score=66.7, licence_ref="EORTC academic user agreement 2026-001")],
        cumulative_gbq=14.75, max_grade=1, best_response=None,
    )  # fmt: skip


def test_the_dictionary_header_is_redcaps_byte_for_byte() -> None:
    text = redcap.dictionary_csv()
    assert text.split("\r\n")[0] == HEADER == redcap.HEADER
    assert len(redcap.COLUMNS) == 18


def test_every_field_follows_redcaps_rules() -> None:
    fields = redcap.check_dictionary(redcap.dictionary_csv())
    assert fields[0].name == "record_id"
    assert len({f.name for f in fields}) == len(fields)
    for f in fields:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,25}", f.name), f.name
        assert f.type in redcap.FIELD_TYPES
        assert not f.validation or f.validation in redcap.VALIDATIONS
        if f.type == "dropdown":
            assert f.choices and all(code and label for code, label in f.choices)
    assert {f.form for f in fields} == set(redcap.FORMS)


def test_flat_records_have_the_repeat_envelope(tmp_path: Path) -> None:
    redcap.write([record(1), record(2)], tmp_path)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "records.csv").read_text())))
    assert list(rows[0])[:3] == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    shape = [
        (r["record_id"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"])
        for r in rows[:6]
    ]
    assert shape == [
        ("R1", "", ""), ("R1", "prrt_cycle", "1"), ("R1", "prrt_cycle", "2"),
        ("R1", "lab_result", "1"), ("R1", "adverse_event", "1"), ("R1", "response_assessment", "1"),
    ]  # fmt: skip
    assert rows[0]["enrolment_complete"] == "2" and rows[0]["prrt_cycle_complete"] == ""
    assert rows[1]["prrt_cycle_complete"] == "2" and rows[1]["subgroup"] == ""
    assert rows[3]["lab_baseline"] == "1"


def test_round_trip_recovers_the_same_records(tmp_path: Path) -> None:
    records = [record(1), record(2)]
    redcap.write(records, tmp_path)
    fields, rows = redcap.read_export(tmp_path)
    assert rows == redcap.records_of(records)
    assert [f.name for f in fields] == [f.name for f in redcap.DICTIONARY]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("subgroup", "lungs", "not a choice"),
        ("enrolled_on", "05/01/2026", "YYYY-MM-DD"),
        ("enrolment_complete", "3", "0, 1 or 2"),
        ("redcap_repeat_instance", "0", "instrument and instance"),
    ],
)
def test_a_bad_record_file_is_refused_naming_the_column(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    redcap.write([record()], tmp_path)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "records.csv").read_text())))
    rows[0][column] = value
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    (tmp_path / "records.csv").write_text(out.getvalue())
    with pytest.raises(redcap.RedcapFormatError, match=re.escape(message)):
        redcap.read_export(tmp_path)


def test_a_bad_dictionary_is_refused() -> None:
    text = redcap.dictionary_csv()
    with pytest.raises(redcap.RedcapFormatError, match="header"):
        redcap.check_dictionary(text.replace("Required Field?", "Required?"))
    with pytest.raises(redcap.RedcapFormatError, match="variable name"):
        redcap.check_dictionary(text.replace("\r\nsubgroup,", "\r\nSubgroup,"))


def test_no_licensed_questionnaire_text_ships() -> None:
    """PROMs are stored as scale scores with a licence reference: the package holds no
    questionnaire items (no item field in the dictionary, no PROM item data file)."""
    from importlib.resources import files

    prom_fields = [f for f in redcap.DICTIONARY if f.form == "prom_score"]
    assert [f.name for f in prom_fields] == [
        "prom_instrument", "prom_date", "prom_scale", "prom_value", "prom_licence"
    ]  # fmt: skip
    names = [p.name for p in files("netmdt.registry").iterdir()]
    assert not [n for n in names if "qlq" in n.lower() or "eortc" in n.lower()]
