"""``netmdt screen --trial``: the SQL verdicts equal the engine's, case by case."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from netmdt.case import parse_case
from netmdt.cli import app
from netmdt.cohort.table import flat_row, write_flat
from netmdt.engine.facts import facts_of
from netmdt.errors import CohortError
from netmdt.kb import KnowledgeBase
from netmdt.synth import synthetic_cases
from netmdt.trials.match import match_trials
from netmdt.trials.screen import screen_trial

ON = date(2026, 11, 27)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    cases = list(synthetic_cases(1500, 7))
    path = tmp_path_factory.mktemp("cohort") / "cohort.parquet"
    write_flat((flat_row(c) for c in cases), path)
    return path, cases


def test_sql_verdicts_equal_the_engine_for_every_trial(
    trial_kb: KnowledgeBase, cohort: tuple[Path, list[dict[str, object]]], tmp_path: Path
) -> None:
    path, cases = cohort
    engine: dict[tuple[str, str, str | None], str] = {}
    for c in cases:
        case = parse_case(c)
        for m in match_trials(trial_kb, facts_of(case), include_closed=True):
            engine[(str(case.id), m.trial, m.arm)] = m.verdict
    sql: dict[tuple[str, str, str | None], str] = {}
    for trial in trial_kb.trials:
        out = tmp_path / f"{trial}.parquet"
        screen_trial(trial_kb, trial, path, out, ON)
        for case_id, t, arm, verdict in duckdb.read_parquet(str(out)).fetchall():
            sql[(str(case_id), t, arm)] = verdict
    assert len(sql) == len(engine) > 1500
    mismatches = {k: (engine[k], sql[k]) for k in engine if sql.get(k) != engine[k]}
    assert mismatches == {}
    assert {v for v in engine.values()} == {"eligible", "possibly_eligible", "not_eligible"}


def test_the_screen_command_takes_a_trial(
    trial_kb_path: Path, cohort: tuple[Path, list[dict[str, object]]], tmp_path: Path
) -> None:
    path, _ = cohort
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        app,
        ["screen", str(path), "--trial", "t_soon", "--out", str(out), "--kb", str(trial_kb_path)],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "t_soon eligible",
        "t_soon possibly_eligible",
        "t_soon not_eligible",
    ]
    assert sum(int(line.split(": ")[1].replace(",", "")) for line in lines) == 1500
    assert out.read_text().splitlines()[0] == "case_id,trial,arm,verdict"


def test_an_unknown_trial_is_refused(trial_kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(CohortError, match="--trial: no trial card 'nope'"):
        screen_trial(trial_kb, "nope", tmp_path / "x.parquet", tmp_path / "o.parquet", ON)
