"""netmdt screen: scenarios through SQL, bad input files, filters, output formats."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from netmdt import CaseValidationError, KnowledgeBase, assess, parse_case
from netmdt.cli import app
from netmdt.cohort.screen import screen
from netmdt.cohort.sql import trial_columns
from netmdt.cohort.table import create_table, insert_cases
from netmdt.errors import CohortError

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
DAY = date(2026, 11, 27)


def results(path: Path) -> list[tuple]:  # type: ignore[type-arg]
    return duckdb.sql(f"SELECT * FROM '{path}' ORDER BY case_id, option").fetchall()


def test_public_scenarios_give_the_same_answers_through_screen(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    docs = [yaml.safe_load(p.read_text()) for p in SCENARIOS]
    cohort = tmp_path / "scenarios.jsonl"
    with cohort.open("w") as fh:
        for p, d in zip(SCENARIOS, docs, strict=True):
            fh.write(json.dumps({**d["case"], "id": p.stem}, default=str) + "\n")
    out = tmp_path / "out.parquet"
    screen(kb, cohort, out, DAY)
    got = {(r[0], r[1]): r for r in results(out)}
    expected, actual = {}, {}
    for p, d in zip(SCENARIOS, docs, strict=True):
        for option, e in d["expect"].items():
            row = got[(p.stem, option)]
            observed = {
                "verdict": row[2],
                "funding": row[3],
                "registry_status": row[4],
                "missing": sorted(row[5]),
            }
            wanted = {k: v for k, v in e.items() if k not in ("cite", "sources")}
            if "missing" in wanted:
                wanted["missing"] = sorted(wanted["missing"])
            expected[(p.stem, option)] = wanted
            actual[(p.stem, option)] = {k: observed[k] for k in wanted}
    assert actual == expected


def write_parquet(tmp_path: Path, rows: list[dict], name: str = "c.parquet") -> Path:  # type: ignore[type-arg]
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, [parse_case(r) for r in rows])
    path = tmp_path / name
    con.execute(f"COPY cases TO '{path}' (FORMAT PARQUET)")
    return path


def test_bad_values_name_the_row_and_column(tmp_path: Path, kb: KnowledgeBase) -> None:
    good = write_parquet(tmp_path, [{"id": "a", "assessed_on": "2026-11-27"}] * 3)
    bad = tmp_path / "bad.parquet"
    duckdb.sql(
        f"COPY (SELECT * REPLACE ("
        f"CASE WHEN row_number() OVER () = 2 THEN 'carcinoma' END AS tumour__type, "
        f"CASE WHEN row_number() OVER () = 3 THEN 150.0 END AS tumour__ki67_percent) "
        f"FROM '{good}') TO '{bad}' (FORMAT PARQUET)"
    )
    with pytest.raises(CaseValidationError) as info:
        screen(kb, bad, tmp_path / "out.parquet", DAY)
    assert [str(p) for p in info.value.problems] == [
        "row 2, column tumour__type: 'carcinoma' is not one of net, nec, minen, paraganglioma, "
        "phaeochromocytoma, medullary_thyroid_carcinoma",
        "row 3, column tumour__ki67_percent: '150.0' above 100",
    ]
    assert not (tmp_path / "out.parquet").exists()


def test_csv_input_with_wrong_types_unknown_columns_and_lists(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,labs__egfr_ml_min,tumour__functional_syndrome\n"
        "a,45,carcinoid_syndrome;insulinoma\nb,abc,\n"
    )
    with pytest.raises(CaseValidationError) as info:
        screen(kb, path, tmp_path / "out.csv", DAY)
    assert [str(p) for p in info.value.problems] == [
        "row 2, column labs__egfr_ml_min: 'abc' is not a valid DOUBLE"
    ]
    path.write_text("id,labs__egfr\na,45\n")
    with pytest.raises(CaseValidationError) as info:
        screen(kb, path, tmp_path / "out.csv", DAY)
    assert [str(p) for p in info.value.problems] == [
        "labs__egfr: unknown column; did you mean 'labs__egfr_ml_min'?"
    ]
    path.write_text("labs__egfr_ml_min\n45\n")
    with pytest.raises(CaseValidationError, match="every cohort needs an id column"):
        screen(kb, path, tmp_path / "out.csv", DAY)


def test_csv_round_trip_and_filters(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,tumour__type,history__prior_treatments\n"
        'a,net,"[{""therapy"": ""prrt_lu177_dotatate"", ""end"": ""2022-01-01""}]"\n'
        "b,net,[]\n"
    )
    out = tmp_path / "out.csv"
    summary = screen(
        kb,
        path,
        out,
        DAY,
        options=["prrt_lu177_dotatate"],
        where="not has_prior(prrt_lu177_dotatate)",
    )
    assert summary.cases == 1
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(
        [
            "case_id,option,verdict,funding_pathway,registry_status,missing,pending_checks",
            *trial_columns(kb),  # then a verdict column per trial that is not closed
        ]
    )
    assert trial_columns(kb)
    assert [line.split(",")[:2] for line in lines[1:]] == [["b", "prrt_lu177_dotatate"]]


def test_pending_checks_in_parquet_and_csv(tmp_path: Path, bt_kb: KnowledgeBase) -> None:
    """A recommended option subject to blood tests: the fields listed, in both formats."""
    example = yaml.safe_load(
        (Path(__file__).parents[1] / "src/netmdt/examples/si-net-liver-metastases.yaml").read_text()
    )
    example["labs"] = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    cohort = tmp_path / "c.jsonl"
    cohort.write_text(json.dumps(example, default=str) + "\n")
    expected = [
        p.field
        for p in assess(parse_case(example), bt_kb).option("prrt_lu177_dotatate").pending_checks
    ]
    assert "labs.platelets_10e9_l" in expected
    for name in ("out.parquet", "out.csv"):
        screen(bt_kb, cohort, tmp_path / name, DAY, options=["prrt_lu177_dotatate"])
    row = duckdb.sql(f"SELECT verdict, pending_checks FROM '{tmp_path / 'out.parquet'}'").fetchall()
    assert row == [("recommended", sorted(set(expected)))]
    csv = (tmp_path / "out.csv").read_text().splitlines()
    pending = csv[1].split(",")[6]  # the trial verdict columns follow
    assert pending == ";".join(sorted(set(expected)))


def test_filters_are_checked(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = write_parquet(tmp_path, [{"id": "a"}])
    for kwargs, message in [
        ({"options": ["aspirin"]}, "--option: unknown option 'aspirin'"),
        ({"verdicts": ["maybe"]}, "--verdict: unknown verdict 'maybe'"),
        ({"where": "labs.egfr >= 3"}, "--where: unknown field 'labs.egfr'"),
        ({"out": tmp_path / "o.txt"}, "--out: unknown format '.txt'"),
    ]:
        with pytest.raises(CohortError, match=message):
            out = kwargs.pop("out", tmp_path / "o.parquet")
            screen(kb, path, out, DAY, **kwargs)  # type: ignore[arg-type]


def test_screen_command_prints_a_summary_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    path = write_parquet(tmp_path, [{"id": "a", "tumour": {"type": "nec"}}])
    result = CliRunner().invoke(app, ["screen", str(path), "--out", str(tmp_path / "o.parquet")])
    assert result.exit_code == 0, result.output
    assert "1 cases screened" in result.stdout
    bad = CliRunner().invoke(app, ["screen", str(tmp_path / "none.parquet"), "--out", "x.csv"])
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert "no such file" in bad.stderr


def test_parquet_csv_and_jsonl_of_one_cohort_screen_alike(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    """[] (none found) and an absent list (unknown) survive every format."""
    from benchmarks.assess import generate_cases

    from netmdt.cohort.table import flat_row, write_flat

    cases = [{**d, "id": f"g{i}"} for i, d in enumerate(generate_cases(300, 21))]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(c, default=str) + "\n" for c in cases))
    for suffix in ("parquet", "csv"):
        write_flat((flat_row(c) for c in cases), tmp_path / f"c.{suffix}")
    outputs = {}
    for suffix in ("jsonl", "parquet", "csv"):
        out = tmp_path / f"r-{suffix}.parquet"
        screen(kb, tmp_path / f"c.{suffix}", out, DAY)
        outputs[suffix] = results(out)
    assert len(outputs["jsonl"]) == 300 * len(kb.options)
    assert outputs["parquet"] == outputs["jsonl"]
    assert outputs["csv"] == outputs["jsonl"]


def test_results_follow_the_input_order_then_the_option(tmp_path: Path, kb: KnowledgeBase) -> None:
    from benchmarks.assess import generate_cases

    cases = [{**d, "id": f"k{(i * 37) % 120:03d}"} for i, d in enumerate(generate_cases(120, 8))]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(c, default=str) + "\n" for c in cases))
    out = tmp_path / "o.parquet"
    screen(kb, path, out, DAY)
    in_file_order = duckdb.sql(f"SELECT case_id, option FROM '{out}'").fetchall()
    assert in_file_order == [(c["id"], o) for c in cases for o in sorted(kb.options)]
    assert not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("verdicts", [None, ["recommended"]])
@pytest.mark.parametrize("fmt", ["table", "parquet"])
def test_the_screen_query_streams_in_the_inputs_order(
    tmp_path: Path, kb: KnowledgeBase, verdicts: list[str] | None, fmt: str
) -> None:
    """Order survives only operators that keep a scan's order: no join, sort or
    aggregate in the plan (a long IN list would otherwise become a join), whatever
    the filters, over a table (CSV, JSON lines) or the view of a Parquet file."""
    from netmdt.cohort.io import load_cohort
    from netmdt.cohort.screen import keep_order, results_query
    from netmdt.kb.load import parse_filter

    con = duckdb.connect()
    if fmt == "parquet":
        load_cohort(con, write_parquet(tmp_path, [{"id": "a"}]), DAY)
    else:
        create_table(con)
    keep_order(con)
    where = parse_filter(
        kb, "tumour.primary_site in [pancreas, stomach, duodenum, jejunum_ileum, appendix, colon]"
    ).sql("duckdb")
    for where_sql in (None, where):
        query = results_query(kb, None, verdicts, where_sql)
        con.execute("PRAGMA explain_output = 'physical_only'")
        plan = json.loads(con.execute(f"EXPLAIN (FORMAT json) {query}").fetchall()[0][1])
        operators = _operators(plan)
        # PARQUET_SCAN: the same scan as READ_PARQUET, opened by the relation API
        scans = {"SEQ_SCAN", "READ_PARQUET", "PARQUET_SCAN"}
        assert operators <= {*scans, "PROJECTION", "FILTER", "UNNEST"}, operators


def _operators(nodes: list[dict]) -> set[str]:  # type: ignore[type-arg]
    return {n["name"] for n in nodes} | {
        name for n in nodes for name in _operators(n.get("children", []))
    }


def test_a_bad_json_line_names_the_line_and_writes_nothing(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "tumour": {"ki67_percent": 140}}\n')
    with pytest.raises(CaseValidationError) as info:
        screen(kb, path, tmp_path / "o.csv", DAY)
    assert str(info.value) == (
        f"{path}:2: tumour.ki67_percent: Input should be less than or equal to 100 (got 140)"
    )
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_where_filter_keeps_every_selected_case(
    tmp_path: Path, kb: KnowledgeBase, fmt: str
) -> None:
    from benchmarks.assess import generate_cases

    from netmdt.cohort.table import flat_row, write_flat

    cases = [{**d, "id": f"w{i:03d}"} for i, d in enumerate(generate_cases(90, 9))]
    path = tmp_path / f"c.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(c, default=str) + "\n" for c in cases))
    else:
        write_flat((flat_row(c) for c in cases), path)
    wanted = sorted(c["id"] for c in cases if (c.get("tumour") or {}).get("type") == "net")
    summary = screen(
        kb, path, tmp_path / "o.parquet", DAY, options=["everolimus"], where="tumour.type == net"
    )
    assert summary.cases == len(wanted)
    assert [r[0] for r in results(tmp_path / "o.parquet")] == wanted
