"""Input we do not write (review 1, findings 8, 9, 12, 13, 14 and 19): strict text, limits
on free text, YAML bombs, crafted file names, junk numbers; each refused with a clear
4xx or exit 2 naming the field, and nothing stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from netmdt.cli import app as cli
from netmdt.cohort.table import flat_row, write_flat
from netmdt.store.schemas import MAX_ID
from tests.webapp import PATIENT, Harness, example_facts, login

SURROGATE_BODY = '{"title": "t", "facts": {"context": {"preferences": ["\\ud800"]}}}'


# -- strict text (finding 8) -------------------------------------------------------------


def test_a_lone_surrogate_in_case_facts_is_422_and_nothing_is_stored(web: Harness) -> None:
    """Was: the case was committed on SQLite while the API answered 500, and every later
    read of the patient's cases failed (a poison record)."""
    patient = web.patient()
    r = web.client.post(
        f"/api/patients/{patient['id']}/cases",
        content=SURROGATE_BODY,
        headers={**web.h("coordinator"), "content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["problems"] == [
        {
            "where": "facts.context.preferences.0",
            "message": "is not valid Unicode (it holds a lone surrogate such as \\ud800)",
            "code": "invalid_text",
        }
    ]
    cases = web.call("clinician", "GET", f"/api/patients/{patient['id']}/cases")
    assert (cases.status_code, cases.json()) == (200, [])
    assert not [e for e in web.audit() if e["record_type"] == "case" and e["action"] == "create"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"id": "\\ud800"}', "id"),
        ('{"\\udfff": 1}', "'\\udfff'"),
        ('{"context": {"preferences": ["a\\u0000b"]}}', "context.preferences.0"),
    ],
)
def test_bad_text_in_an_assessment_request_is_422(
    sqlite_web: Harness, body: str, where: str
) -> None:
    r = sqlite_web.client.post(
        "/api/assess",
        content=body,
        headers={**sqlite_web.h("clinician"), "content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert [p["where"] for p in r.json()["error"]["problems"]] == [where]


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/api/patients", {**PATIENT, "name": "Ann\x00"}, "name"),
        ("/api/patients", {**PATIENT, "hospital_number": "H\x00"}, "hospital_number"),
        (
            "/api/meetings",
            {"date": "2026-11-27", "title": "m", "attendees": ["a\x00"]},
            "attendees",
        ),
    ],
)
def test_a_nul_in_any_text_field_is_422_naming_it(
    web: Harness, path: str, body: dict[str, Any], where: str
) -> None:
    """Was: 500 on PostgreSQL (text cannot hold NUL)."""
    r = web.call("coordinator", "POST", path, json=body)
    assert r.status_code == 422, r.text
    assert [p["where"] for p in r.json()["error"]["problems"]] == [where]
    listed = web.call("clinician", "GET", path)
    assert listed.json() == []


def test_a_nul_in_a_form_field_is_422_naming_it(web: Harness) -> None:
    csrf = login(web.client, "coordinator")
    r = web.client.post(
        "/patients",
        data={"csrf_token": csrf, "name": "Ann\x00", "date_of_birth": "1962-03-01"},
    )
    assert r.status_code == 422
    assert "name" in r.text and "NUL" in r.text
    assert web.call("clinician", "GET", "/api/patients").json() == []


# -- limits on free text (finding 19) ----------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "where"),
    [
        ({"context": {"preferences": ["x" * 501]}}, "facts.context.preferences"),
        ({"context": {"preferences": ["x"] * 51}}, "facts.context.preferences"),
        ({"history": {"prior_surgery": ["x" * 501]}}, "facts.history.prior_surgery"),
        (
            {"history": {"prior_treatments": [{"therapy": "everolimus"}] * 101}},
            "facts.history.prior_treatments",
        ),
    ],
)
def test_free_text_in_facts_has_limits(
    sqlite_web: Harness, facts: dict[str, Any], where: str
) -> None:
    patient = sqlite_web.patient()
    body = {"title": "t", "facts": {**example_facts(), **facts}}
    r = sqlite_web.call("coordinator", "POST", f"/api/patients/{patient['id']}/cases", json=body)
    assert r.status_code == 422, r.text
    assert [p["where"] for p in r.json()["error"]["problems"]] == [where]


def test_meeting_attendees_have_limits(sqlite_web: Harness) -> None:
    """Was: 40 attendees of 1 MB each were accepted."""
    for attendees, where in (
        (["x" * 201], "attendees.0"),
        (["x"] * 101, "attendees"),
    ):
        body = {"date": "2026-11-27", "title": "m", "attendees": attendees}
        r = sqlite_web.call("coordinator", "POST", "/api/meetings", json=body)
        assert r.status_code == 422, r.text
        assert [p["where"] for p in r.json()["error"]["problems"]] == [where]


# -- 500s that are 4xx (finding 13) ------------------------------------------------------


def test_the_largest_base_version_is_422_not_an_overflow(web: Harness) -> None:
    """Was: 500 on PostgreSQL (base_version + 1 is out of INTEGER's range)."""
    case = web.case(web.patient()["id"])
    body = {"base_version": MAX_ID, "facts": example_facts()}
    r = web.call("coordinator", "PUT", f"/api/cases/{case['id']}", json=body)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("digit", ["²", "³", "١"])
def test_unicode_digits_in_form_numbers_are_422(sqlite_web: Harness, digit: str) -> None:
    """Was: a superscript digit passed str.isdigit() and int() raised (500)."""
    case = sqlite_web.case(sqlite_web.patient()["id"])
    meeting = sqlite_web.meeting()
    csrf = login(sqlite_web.client, "coordinator")
    client = sqlite_web.client
    r = client.post(
        f"/meetings/{meeting['id']}/agenda", data={"csrf_token": csrf, "case_id": digit}
    )
    assert r.status_code == 422
    r = client.post(f"/cases/{case['id']}/edit", data={"csrf_token": csrf, "base_version": digit})
    assert r.status_code == 422
    r = client.post(
        f"/patients/{case['patient_id']}/cases",
        data={"csrf_token": csrf, "title": "t", "history.prior_treatments.rows": digit},
    )
    assert r.status_code < 500


# -- YAML (finding 12) and the CLI contract (finding 14) ---------------------------------

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
context:
  preferences: *h
"""


def assess(tmp_path: Path, text: str, name: str = "case.yaml") -> Any:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["assess", str(path)])


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """Was: a 2 KB file ran for over 90 s and used 5.8 GB."""
    result = assess(tmp_path, BOMB)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"{tmp_path / 'case.yaml'}: line 1 not valid YAML or JSON (YAML anchors and aliases "
        "(&name, *name) are not allowed in a case)"
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("assessed_on: 2026-02-30\n", "assessed_on"),
        ("assessed_on: 2026-13-01\n", "assessed_on"),
        ("assessed_on: 2026-11-27 25:61:00\n", "assessed_on"),
        (
            "history:\n  prior_treatments:\n  - therapy: everolimus\n    start: 2024-02-30\n",
            "history.prior_treatments.0.start",
        ),
        ("age_years: " + "9" * 5000 + "\n", "age_years"),
    ],
)
def test_impossible_dates_and_huge_numbers_in_yaml_name_the_field(
    tmp_path: Path, text: str, where: str
) -> None:
    """Was: PyYAML's ValueError, a traceback and exit 1."""
    result = assess(tmp_path, text)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'case.yaml'}: {where}: ")
    assert len(lines[0]) < 400  # a 5000-digit value is shown cut short


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"id": "\\ud800"}',
        '{"age_years": ' + "9" * 5000 + "}",
        "x" * 1_000_001,
    ],
)
def test_json_lines_on_stdin_keep_the_cli_contract(text: str) -> None:
    result = CliRunner().invoke(cli, ["assess", "-"], input=text + "\n")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_deep_fhir_file_keeps_the_cli_contract(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = CliRunner().invoke(cli, ["fhir", "import", str(deep)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"{deep}: nested too deeply to be FHIR"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("tumour.ki67_percent > 1" + "0" * 400 + ".0", "has more than 30 digits"),
        ("tumour.ki67_percent > " + "9" * 5000, "has more than 30 digits"),
        ("(" * 5000 + "true" + ")" * 5000, "nested more than 100 deep"),
        ("not " * 5000 + "true", "nested more than 100 deep"),
    ],
)
def test_extreme_where_filters_keep_the_cli_contract(
    tmp_path: Path, where: str, message: str
) -> None:
    cohort = small_cohort(tmp_path / "c.parquet")
    out = tmp_path / "r.parquet"
    result = CliRunner().invoke(cli, ["screen", str(cohort), "--out", str(out), "--where", where])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


# -- DuckDB file names (finding 9) -------------------------------------------------------


def small_cohort(path: Path) -> Path:
    facts = yaml.safe_load(
        (
            Path(__file__).parent.parent / "src/netmdt/examples/si-net-liver-metastases.yaml"
        ).read_text()
    )
    write_flat([flat_row(json.loads(json.dumps(facts, default=str)))], path)
    return path


INJECTED = (
    "x', file_row_number = true); COPY (SELECT 42 AS pwned) TO 'leak.csv' (HEADER); "
    "SELECT 1 FROM read_parquet('y"
)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_crafted_cohort_file_name_runs_no_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Was: the name was pasted into read_parquet('...'): any DuckDB SQL ran."""
    monkeypatch.chdir(tmp_path)
    cohort = small_cohort(tmp_path / (INJECTED + suffix))
    result = CliRunner().invoke(cli, ["screen", str(cohort), "--out", "r.csv"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "leak.csv").exists()
    assert "1 cases screened" in result.output


def test_a_crafted_output_name_runs_no_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cohort = small_cohort(tmp_path / "o'brien.parquet")  # was: a parser error
    out = "r.csv' (HEADER); COPY (SELECT 'pwned' AS pwned) TO 'pwned.csv"
    for name in (out + ".csv", out + ".parquet"):
        result = CliRunner().invoke(cli, ["screen", str(cohort), "--out", name])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).exists()
    assert not (tmp_path / "pwned.csv").exists()


@pytest.mark.parametrize("url", ["bogus://x", "sqlite:////nonexistent/folder/x.db"])
def test_an_unusable_database_url_keeps_the_cli_contract(tmp_path: Path, url: str) -> None:
    result = CliRunner().invoke(cli, ["screen", "--db", url, "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("--db: cannot read the database")


def test_invalid_utf8_in_json_lines_keeps_the_cli_contract(tmp_path: Path) -> None:
    cohort = tmp_path / "c.jsonl"
    cohort.write_bytes(b'{"id": "a"}\n{"id": "\xff"}\n')
    result = CliRunner().invoke(cli, ["screen", str(cohort), "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"{cohort}:2: not UTF-8 text (byte 8)"]
    result = CliRunner().invoke(cli, ["assess", "-"], input=b'{"id": "\xff"}\n')
    assert (result.exit_code, result.output.strip()) == (2, "<stdin>:1: not UTF-8 text")


@pytest.mark.parametrize(
    "column", ["disease__extrahepatic_metastases", "history__prior_treatments"]
)
def test_malformed_json_in_a_csv_list_column_is_refused_with_its_column(
    tmp_path: Path, column: str
) -> None:
    """Found by the CSV fuzz test: a cell "[" reached DuckDB's json(), which raises even
    inside TRY_CAST; it is now refused like any other bad value, naming the column."""
    cohort = tmp_path / "c.csv"
    cohort.write_text(f'id,{column}\nc1,"["\n')
    result = CliRunner().invoke(cli, ["screen", str(cohort), "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 2, result.output
    assert f"row 1, column {column}: '[' is not a valid" in result.output
