"""Every input we do not write, mutated (issue 10, item 3): case files in YAML and JSON,
JSON lines, CSV and Parquet cohorts, FHIR Bundles and ``--where`` filters, each spoiled
with impossible dates, deep nesting, huge numbers, bad Unicode and YAML aliases.

Each loader either reads the input or raises its documented error (a ``NetmdtError``:
``CaseError``, ``FhirError``, ``CohortError``); the CLI exits 0 or 2, with one line per
problem and never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netmdt.case.load import parse_case, parse_case_json, parse_document
from netmdt.cli import app as cli
from netmdt.cohort.io import load_cohort
from netmdt.cohort.screen import screen
from netmdt.cohort.table import COLUMNS, flat_row
from netmdt.errors import NetmdtError
from netmdt.fhir.importer import import_fhir
from netmdt.kb import KnowledgeBase
from tests.strategies import ASSESSED_ON, case_dicts

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ROOT = Path(__file__).parent

# Spoiled values, as they would appear in a document's text.
BAD_DATES = ["2026-02-30", "2026-13-01", "0000-00-00", "2026-11-27 25:61:00", "2024-02-30T99:00"]
HUGE = ["9" * 5000, "1" + "0" * 400 + ".0", "1e309", "-1e309", "NaN", "Infinity"]
BAD_TEXT_JSON = ['"\\ud800"', '"\\udfff x"', '"a\\u0000b"', '"\\u0000"']


def deep(n: int) -> str:
    return "[" * n + "]" * n


POISON_JSON = st.one_of(
    st.sampled_from(BAD_DATES).map(json.dumps),
    st.sampled_from(HUGE),
    st.sampled_from(BAD_TEXT_JSON),
    st.integers(50, 20_000).map(deep),
    st.sampled_from(['{"a": ' * 300 + "1" + "}" * 300, "[]", "{}", "null", '""', "-0"]),
)


def _json_values(text: str) -> list[re.Match[str]]:
    """The scalar values of a JSON document (after a colon or in a list)."""
    return list(
        re.finditer(r'(?<=[:\[,] )("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null)', text)
    )


@st.composite
def spoiled_json(draw: st.DrawFn) -> str:
    """A valid case as JSON with one to three values replaced by poison."""
    case = draw(case_dicts())
    text = json.dumps(case, default=str)
    for _ in range(draw(st.integers(1, 3))):
        values = _json_values(text)
        if not values:
            break
        m = draw(st.sampled_from(values))
        text = text[: m.start()] + draw(POISON_JSON) + text[m.end() :]
    return text


ALIASES = [
    "a: &a [x, x, x]\nb: [*a, *a]\n",
    "id: &i x\ncontext: {preferences: [*i]}\n",
    "base: &b {age_years: 50}\n<<: *b\n",
]


@st.composite
def spoiled_yaml(draw: st.DrawFn) -> str:
    """A valid case as YAML with unquoted impossible dates, huge numbers, aliases or deep
    flow nesting spliced in."""
    case = draw(case_dicts())
    text = yaml.safe_dump(json.loads(json.dumps(case, default=str)), sort_keys=False)
    lines = text.splitlines()
    kind = draw(st.sampled_from(["date", "number", "alias", "deep", "text"]))
    scalar = [i for i, line in enumerate(lines) if re.search(r": \S", line)]
    if kind == "alias":
        return draw(st.sampled_from(ALIASES)) + text
    if not scalar:
        return text
    i = draw(st.sampled_from(scalar))
    key = lines[i].split(": ", 1)[0]
    value = {
        "date": draw(st.sampled_from(BAD_DATES)),
        "number": draw(st.sampled_from(HUGE)),
        "deep": deep(draw(st.integers(50, 5000))),
        "text": draw(st.sampled_from(['"\\ud800"', '"a\\0b"', '"\\x00"'])),
    }[kind]
    lines[i] = f"{key}: {value}"
    return "\n".join(lines) + "\n"


def read_or_refuse(call: Any, *args: Any, **kw: Any) -> None:
    """The loader reads the input, or raises its documented error; nothing else."""
    try:
        call(*args, **kw)
    except NetmdtError as error:
        assert str(error).strip(), "an error must say what is wrong"


@FUZZ
@given(text=spoiled_yaml())
def test_yaml_case_files(text: str) -> None:
    read_or_refuse(lambda: parse_case(parse_document(text), today=ASSESSED_ON))


@FUZZ
@given(text=st.one_of(spoiled_json(), st.sampled_from(["", "[]", "1", deep(100_000)])))
def test_json_case_documents_and_json_lines(text: str) -> None:
    read_or_refuse(lambda: parse_case(parse_document(text), today=ASSESSED_ON))
    read_or_refuse(parse_case_json, text, today=ASSESSED_ON)


# -- cohorts: CSV and Parquet --------------------------------------------------------------

CSV_POISON = st.one_of(
    st.sampled_from(BAD_DATES),
    st.sampled_from(HUGE),
    st.integers(50, 3000).map(deep),
    st.sampled_from(["\x00", "a\x00b", '"', '""', "[", "[1,", "{}", "unknown", "-", ";;;"]),
)


@st.composite
def spoiled_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = [flat_row(json.loads(json.dumps(draw(case_dicts()), default=str)))]
    rows[0]["id"] = "c1"
    for _ in range(draw(st.integers(1, 3))):
        column = draw(st.sampled_from([c for c in COLUMNS if c != "id"]))
        rows[0][column] = draw(CSV_POISON)
    return rows


def csv_text(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()}
        )
    return out.getvalue()


@FUZZ
@given(rows=spoiled_rows())
def test_csv_cohorts(tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]]) -> None:
    path = tmp_path_factory.mktemp("csv") / "c.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    read_or_refuse(load_cohort, duckdb.connect(), path, ASSESSED_ON)


@FUZZ
@given(
    column=st.sampled_from([c for c in COLUMNS if c != "id"]),
    value=st.one_of(
        st.sampled_from([*BAD_DATES, "\x00", "[[[", "1e999"]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(2**62), 2**62),
        st.lists(st.text(max_size=3), max_size=3),
    ),
)
def test_parquet_cohorts(tmp_path_factory: pytest.TempPathFactory, column: str, value: Any) -> None:
    """A Parquet column of the wrong type or an impossible value."""
    path = tmp_path_factory.mktemp("parquet") / "c.parquet"
    con = duckdb.connect()
    con.execute(f'CREATE TABLE t (id VARCHAR, "{column}" {_duck_type(value)})')
    con.execute("INSERT INTO t VALUES ('c1', ?)", [value])
    con.table("t").write_parquet(str(path))
    read_or_refuse(load_cohort, duckdb.connect(), path, ASSESSED_ON)


def _duck_type(value: Any) -> str:
    if isinstance(value, list):
        return "VARCHAR[]"
    return {float: "DOUBLE", int: "BIGINT"}.get(type(value), "VARCHAR")


# -- FHIR ----------------------------------------------------------------------------------


def _bundle() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "fhir" / "si-net-bundle.json").read_text())
    return data


@FUZZ
@given(data=st.data())
def test_fhir_bundles(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    text = json.dumps(_bundle())
    for _ in range(data.draw(st.integers(1, 3))):
        values = _json_values(text)
        m = data.draw(st.sampled_from(values))
        text = text[: m.start()] + data.draw(POISON_JSON) + text[m.end() :]
    path = tmp_path_factory.mktemp("fhir") / "bundle.json"
    path.write_text(text, encoding="utf-8")
    read_or_refuse(import_fhir, path, assessed_on=ASSESSED_ON)


# -- --where -------------------------------------------------------------------------------

WHERE_TOKENS = [
    "tumour.ki67_percent", "tumour.grade", "labs.egfr_ml_min", "age_years", ">", "<", "==",
    "!=", "and", "or", "not", "(", ")", "[", "]", ",", "in", "true", "false", "is", "unknown",
    "has_prior(everolimus)", "1", "2.5", "9" * 40, '"x"', "'", ";", "read_csv('/etc/passwd')",
    "\x00", "\ud800", "g1", "pancreas", "contains", "empty",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_inputs import small_cohort

    return small_cohort(tmp_path_factory.mktemp("cohort") / "c.parquet")


@FUZZ
@given(
    where=st.one_of(
        st.lists(st.sampled_from(WHERE_TOKENS), min_size=1, max_size=12).map(" ".join),
        st.integers(101, 3000).map(lambda n: "(" * n + "true" + ")" * n),
        st.integers(101, 3000).map(lambda n: "not " * n + "true"),
        st.text(max_size=30),
    )
)
def test_where_filters(
    tiny_cohort: Path, kb: KnowledgeBase, where: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assume(where.strip())
    out = tmp_path_factory.mktemp("out") / "r.parquet"
    read_or_refuse(screen, kb, tiny_cohort, out, ASSESSED_ON, where=where)


# -- the CLI contract, end to end ----------------------------------------------------------


def contract(args: list[str], stdin: str | None = None) -> None:
    result = CliRunner().invoke(cli, args, input=stdin)
    assert result.exit_code in (0, 2), (result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert all(line.strip() for line in result.output.strip().splitlines())


@settings(FUZZ, max_examples=25)
@given(text=spoiled_yaml())
def test_cli_assess_yaml(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("cli") / "case.yaml"
    path.write_text(text, encoding="utf-8")
    contract(["assess", str(path)])


@settings(FUZZ, max_examples=25)
@given(text=spoiled_json())
def test_cli_assess_json_lines(text: str) -> None:
    contract(["assess", "-"], stdin=text + "\n")


@settings(FUZZ, max_examples=15)
@given(rows=spoiled_rows())
def test_cli_screen_csv(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]]
) -> None:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "c.csv").write_text(csv_text(rows), encoding="utf-8")
    contract(["screen", str(folder / "c.csv"), "--out", str(folder / "r.csv")])
