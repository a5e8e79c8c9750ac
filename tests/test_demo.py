"""The demo patients: every case loads and assesses, with the headline verdicts intended."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

import netmdt
from netmdt import KnowledgeBase, assess, load_case
from netmdt.nhs import nhs_number_valid

DEMO = Path(netmdt.__file__).parent / "examples/demo"
CASES = sorted(DEMO.glob("demo-*.yaml"))
PATIENTS = yaml.safe_load((DEMO / "patients.yaml").read_text(encoding="utf-8"))

# case id -> {option: verdict}: what each demo is there to show (checked against brief section 21)
HEADLINES: dict[str, dict[str, str]] = {
    "demo-01": {  # functioning SI-NET, liver metastases, progressing on SSA
        "prrt_lu177_dotatate": "recommended",
        "telotristat": "recommended",
        "liver_embolisation": "recommended",
        "surgery_curative": "not_recommended",
        "chemotherapy": "not_recommended",
    },
    "demo-02": {  # non-functioning pNET G2, progressive
        "everolimus": "recommended",
        "sunitinib": "recommended",
        "prrt_lu177_dotatate": "recommended",
        "chemotherapy": "recommended",
    },
    "demo-03": {"surgery_curative": "recommended", "active_surveillance": "not_recommended"},
    "demo-04": {"surgery_curative": "recommended", "chemotherapy": "not_recommended"},
    "demo-05": {  # atypical carcinoid: PRRT off-label, inside the registry (on hold)
        "everolimus": "recommended",
        "prrt_lu177_dotatate": "consider",
        "chemotherapy": "consider",
        "sunitinib": "not_recommended",
    },
    "demo-06": {  # small-cell NEC
        "chemotherapy": "recommended",
        "prrt_lu177_dotatate": "not_recommended",
        "everolimus": "not_recommended",
        "ssa_long_acting": "not_recommended",
    },
    "demo-07": {  # well-differentiated pNET G3 (NETTER-2 setting)
        "chemotherapy": "recommended",
        "prrt_lu177_dotatate": "consider",
    },
    "demo-08": {  # metastatic paraganglioma, MIBG-avid, SSTR-negative
        "mibg_i131": "recommended",
        "prrt_lu177_dotatate": "not_recommended",
        "sunitinib": "consider",
    },
    "demo-09": {"surgery_curative": "recommended", "mibg_i131": "not_recommended"},
    "demo-10": {"endoscopic_resection": "recommended", "chemotherapy": "not_recommended"},
    "demo-11": {"active_surveillance": "recommended", "endoscopic_resection": "not_recommended"},
    "demo-12": {  # no SSTR imaging yet: the radionuclide and SSA questions stay open
        "prrt_lu177_dotatate": "insufficient_information",
        "ssa_long_acting": "insufficient_information",
        "liver_embolisation": "insufficient_information",
    },
    "demo-13": {"endoscopic_resection": "recommended", "chemotherapy": "insufficient_information"},
    "demo-14": {  # medullary thyroid carcinoma: mostly outside netmdt's option list
        "chemotherapy": "not_recommended",
        "prrt_lu177_dotatate": "consider",
        "clinical_trial": "consider",
    },
}


def test_there_is_a_headline_for_every_demo_case() -> None:
    ids = [yaml.safe_load(p.read_text(encoding="utf-8"))["id"] for p in CASES]
    assert len(ids) >= 12
    assert ids == sorted(HEADLINES)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_demo_case_headline_verdicts(path: Path, kb: KnowledgeBase) -> None:
    case = load_case(path)
    assert case.id is not None
    assessment = assess(case, kb)
    wanted = HEADLINES[case.id]
    assert {o: assessment.option(o).verdict for o in wanted} == wanted


def test_every_demo_case_has_a_describing_header_comment() -> None:
    for path in CASES:
        header = path.read_text(encoding="utf-8").splitlines()[:2]
        assert header[0].startswith("# Demo patient (synthetic, no real person): "), path.name


def test_demo_patients_are_synthetic_and_consistent() -> None:
    cases = {c.id: c for c in map(load_case, CASES)}
    assert set(PATIENTS) == set(cases)
    numbers = [p["nhs_number"] for p in PATIENTS.values()]
    assert len(set(numbers)) == len(numbers)
    assert len({p["hospital_number"] for p in PATIENTS.values()}) == len(PATIENTS)
    for case_id, patient in PATIENTS.items():
        case = cases[case_id]
        assert nhs_number_valid(patient["nhs_number"]), case_id
        assert patient["nhs_number"].startswith("999"), case_id  # the test-data range
        assert patient["sex"] == case.sex, case_id
        assert _age(patient["date_of_birth"], case.assessed_on) == case.age_years, case_id


def _age(born: date, on: date | None) -> int:
    assert on is not None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_the_demo_runs_again_after_the_demo_user_added_a_patient(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    from sqlalchemy import func, select

    from netmdt.demo import DEMO_ROLES, DEMO_USER, load_demo
    from netmdt.store import schemas as s
    from netmdt.store import services as svc
    from netmdt.store import tables as t
    from netmdt.store.db import make_engine, migrate, session_factory

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    today = date(2026, 12, 1)
    first = load_demo(sessions, kb, today)
    with sessions() as db:
        svc.create_patient(
            db,
            svc.Actor(DEMO_USER, frozenset(DEMO_ROLES)),
            s.PatientIn(
                nhs_number="9990001103", name="Added In Demo", date_of_birth=date(1960, 1, 1)
            ),
        )
    again = load_demo(sessions, kb, today)
    with sessions() as db:
        patients = db.scalar(select(func.count()).select_from(t.Patient))
    assert (again.patients_loaded, again.name, patients) == (0, DEMO_USER, 21)
    assert first.patients_loaded == 20  # 14 MDT cases and 6 PRRT registry patients
    assert again.password != first.password
    # a fresh survey link each run, which `netmdt serve --demo` prints as a whole address
    assert re.fullmatch(r"/s/[A-Za-z0-9_-]{20,}", first.survey_path)
    assert again.survey_path != first.survey_path
