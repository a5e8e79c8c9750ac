"""The web pages, driven as a browser would drive them: real forms, real CSRF tokens."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netmdt.demo import demo_cases
from tests.webapp import PATIENT, TODAY, Harness, csrf_of, example_facts, login


class FormReader(HTMLParser):
    """What a browser would submit for the page's main form, untouched."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, []  # type: ignore[var-annotated]
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a.get("name")
            self._selected: str | None = None
            self._first: str | None = None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value") or ""
            if "selected" in a:
                self._selected = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields.append((self._textarea, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            chosen = self._selected if self._selected is not None else self._first
            self.fields.append((self._select, chosen or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self.inside = False


def submission(html: str, action: str) -> list[tuple[str, str]]:
    reader = FormReader(action)
    reader.feed(html)
    return list(reader.fields)


def test_patient_form_names_the_field_with_a_wrong_nhs_number(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    token = login(client, "coordinator")
    form = {**PATIENT, "nhs_number": "943 476 5918", "csrf_token": token}
    r = client.post("/patients", data=form)
    assert r.status_code == 422
    assert "nhs_number: must be 10 digits whose last digit is the modulus-11 check digit" in r.text
    assert 'value="943 476 5918"' in r.text  # what was typed is kept
    assert 'aria-invalid="true" aria-describedby="err-nhs_number"' in r.text


def test_case_form_validates_inline_then_creates_the_case(web: Harness) -> None:
    client = web.client
    patient = web.patient()
    token = login(client, "coordinator")
    new = client.get(f"/patients/{patient['id']}/cases/new")
    fields = dict(submission(new.text, f"/patients/{patient['id']}/cases"))
    fields.update(
        {"title": "Incidental NET", "tumour.ki67_percent": "abc", "performance.ecog": "1.5"}
    )
    r = client.post(f"/patients/{patient['id']}/cases", data=fields)
    assert r.status_code == 422
    assert "Ki-67 index (%): must be a number" in r.text
    assert "ECOG performance status (0-4): must be a whole number" in r.text
    assert web.call("coordinator", "GET", f"/api/patients/{patient['id']}/cases").json() == []
    fields.update(
        {
            "tumour.ki67_percent": "2.5",
            "performance.ecog": "1",
            "tumour.type": "net",
            "pregnant": "false",
        }
    )
    r = client.post(f"/patients/{patient['id']}/cases", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    case = web.call(
        "coordinator", "GET", r.headers["location"].replace("/cases", "/api/cases")
    ).json()
    assert case["facts"] == {
        "age_years": 64,
        "assessed_on": case["facts"]["assessed_on"],
        "pregnant": False,
        "tumour": {"type": "net", "ki67_percent": 2.5},
        "performance": {"ecog": 1},
        "context": {"health_system": "nhs_england"},  # the centre's default (settings)
    }
    page = client.get(r.headers["location"]).text
    assert '<h2 id="opt-h">Options</h2>' in page and "Insufficient information" in page
    assert token


@pytest.mark.parametrize("index", range(len(demo_cases())))
def test_the_edit_form_round_trips_every_demo_case_unchanged(
    sqlite_web: Harness, index: int
) -> None:
    person, _title, facts = demo_cases()[index]
    web = sqlite_web
    patient = web.patient(
        name=person["name"],
        date_of_birth=str(person["date_of_birth"]),
        nhs_number=person["nhs_number"],
    )
    stored = web.case(patient["id"], {k: _json(v) for k, v in facts.items() if k != "id"})
    login(web.client, "coordinator")
    page = web.client.get(f"/cases/{stored['id']}/edit").text
    fields = submission(page, f"/cases/{stored['id']}/edit")
    r = web.client.post(
        f"/cases/{stored['id']}/edit", data=_multidict(fields), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    diff = web.call("coordinator", "GET", f"/api/cases/{stored['id']}/diff?from=1&to=2").json()
    assert diff == []


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def _multidict(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in fields:
        out.setdefault(name, []).append(value)
    return out


def test_a_stale_form_is_refused_with_409_and_nothing_is_lost(sqlite_web: Harness) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"])
    login(web.client, "coordinator")
    fields = _multidict(
        submission(web.client.get(f"/cases/{case['id']}/edit").text, f"/cases/{case['id']}/edit")
    )
    web.call(
        "coordinator",
        "PUT",
        f"/api/cases/{case['id']}",
        json={"base_version": 1, "facts": {**example_facts(), "sex": "male"}},
    )
    fields["sex"] = ["other"]
    r = web.client.post(f"/cases/{case['id']}/edit", data=fields)
    assert r.status_code == 409
    assert "someone else saved it first" in r.text
    assert (
        web.call("coordinator", "GET", f"/api/cases/{case['id']}").json()["facts"]["sex"] == "male"
    )


def test_history_shows_the_changed_facts(sqlite_web: Harness) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"])
    facts = {**example_facts(), "labs": {**example_facts()["labs"], "egfr_ml_min": 40}}
    web.call(
        "coordinator",
        "PUT",
        f"/api/cases/{case['id']}",
        json={"base_version": 1, "facts": facts, "note": "new bloods"},
    )
    page = web.call("clinician", "GET", f"/cases/{case['id']}/history").text
    assert "1 change(s) from version 1" in page
    assert (
        '<th scope="row">eGFR (mL/min)</th><td><del>78 mL/min</del></td>'
        "<td><ins>40 mL/min</ins></td>" in page
    )


def test_clinician_records_a_deviating_decision_and_the_auditor_sees_it(
    sqlite_web: Harness,
) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"])
    meeting = web.meeting(case["id"])
    clinician = TestClient(web.app)
    login(clinician, "clinician")
    page = clinician.get(f"/cases/{case['id']}/decision?meeting={meeting['id']}").text
    fields = _multidict(submission(page, f"/cases/{case['id']}/decision?meeting={meeting['id']}"))
    fields.update(chosen=["surgery_curative"], rationale=["Surgeon will attempt resection"])
    r = clinician.post(f"/cases/{case['id']}/decision?meeting={meeting['id']}", data=fields)
    assert r.status_code == 422 and "deviation_reason: required" in r.text
    fields.update(deviation_reason=["patient_preference"])
    r = clinician.post(
        f"/cases/{case['id']}/decision?meeting={meeting['id']}", data=fields, follow_redirects=False
    )
    assert r.status_code == 303
    agenda = clinician.get(f"/meetings/{meeting['id']}").text
    assert "Surgery with curative intent" in agenda and "Deviation" in agenda
    report = web.call("auditor", "GET", "/reports/concordance").text
    assert "0 matched netmdt" in report and "Patient preference</th><td>1</td>" in report


def test_the_meeting_page_lists_the_agenda_with_headline_verdicts(sqlite_web: Harness) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"])
    meeting = web.meeting(case["id"])
    page = web.call("clinician", "GET", f"/meetings/{meeting['id']}").text
    assert "Ann Example" in page and "PRRT question" in page
    assert '<span class="verdict v-recommended">Recommended</span>' in page


def test_patient_summary_page_and_pdf(sqlite_web: Harness) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"])
    html = web.call("clinician", "GET", f"/cases/{case['id']}/summary")
    assert html.status_code == 200 and "Ann Example" in html.text
    pdf = web.call("clinician", "GET", f"/cases/{case['id']}/summary.pdf")
    assert (pdf.headers["content-type"], pdf.content[:5]) == ("application/pdf", b"%PDF-")
    events = [(e["action"], e["record_type"]) for e in web.audit()]
    assert events.count(("export", "summary")) == 2


def test_find_by_nhs_number_lands_on_the_patient(sqlite_web: Harness) -> None:
    patient = sqlite_web.patient()
    r = sqlite_web.call(
        "clinician", "GET", "/patients/find?nhs_number=943 476 5919", follow_redirects=False
    )
    assert r.headers["location"] == f"/patients/{patient['id']}"
    assert (
        sqlite_web.call("clinician", "GET", "/patients/find?nhs_number=9990000018").status_code
        == 404
    )


def test_a_card_link_for_a_patient_not_in_netmdt_offers_registration(
    sqlite_web: Harness,
) -> None:
    """CDS sandbox finding 6: the card's link was a dead end for an unregistered patient."""
    page = sqlite_web.call("coordinator", "GET", "/patients/find?nhs_number=900 000 0009")
    assert page.status_code == 404
    assert "No patient with NHS number 900 000 0009 is registered in netmdt." in page.text
    assert 'href="/patients/new?nhs_number=9000000009">Register this patient</a>' in page.text
    form = sqlite_web.call("coordinator", "GET", "/patients/new?nhs_number=9000000009")
    assert 'name="nhs_number" type="text" value="9000000009"' in form.text
    clinician = sqlite_web.call("clinician", "GET", "/patients/find?nhs_number=9000000009")
    assert "Register this patient" not in clinician.text
    assert "Ask your MDT coordinator to register the patient" in clinician.text
    by_id = sqlite_web.call("clinician", "GET", "/patients/find?fhir_id=pnet-patient")
    assert by_id.status_code == 404
    assert "without an NHS number" in by_id.text
    assert '<a href="/patients">Search the patient list by name</a>' in by_id.text
    bad = sqlite_web.call("coordinator", "GET", "/patients/find?nhs_number=<script>")
    assert "not a valid NHS number" in bad.text and "<script>" not in bad.text


def test_csrf_token_on_every_form(sqlite_web: Harness) -> None:
    token = login(sqlite_web.client, "coordinator")
    page = sqlite_web.client.get("/meetings").text
    assert csrf_of(page) == token


def test_junk_numbers_in_forms_are_422_not_500(sqlite_web: Harness) -> None:
    web = sqlite_web
    patient = web.patient()
    meeting = web.meeting()
    token = login(web.client, "coordinator")
    r = web.client.post(
        f"/meetings/{meeting['id']}/agenda", data={"case_id": "9" * 20, "csrf_token": token}
    )
    assert r.status_code == 422
    base = {"csrf_token": token, "title": "t", "labs.inr": "inf"}
    r = web.client.post(f"/patients/{patient['id']}/cases", data=base)
    assert r.status_code == 422 and "INR: must be a number" in r.text
    for rows in ("abc", "20000"):
        form = {**base, "labs.inr": "", "title": "", "history.prior_treatments.rows": rows}
        r = web.client.post(f"/patients/{patient['id']}/cases", data=form)
        assert r.status_code == 422
        assert r.text.count('name="history.prior_treatments.') <= 1 + 7 * 200


def test_demo_mode_refuses_a_database_with_real_users(sqlite_web: Harness) -> None:
    import pytest as _pytest

    from netmdt.demo import RealDataError, load_demo

    state = sqlite_web.app.state.netmdt
    with _pytest.raises(RealDataError, match="refusing demo mode"):
        load_demo(state.sessions, state.kb, TODAY)


@pytest.mark.parametrize(
    ("path", "typed", "expected"),
    [
        ("tumour.ki67_percent", "12", 12),
        ("tumour.ki67_percent", "12%", 12),
        ("tumour.ki67_percent", "2.5 %", 2.5),
        ("tumour.primary_size_cm", "3 cm", 3),
        ("tumour.primary_size_cm", "0.8cm", 0.8),
        ("tumour.mesoappendiceal_invasion_mm", "3 mm", 3),
        ("labs.inr", "1.1", 1.1),
    ],
)
def test_form_numbers_accept_the_fields_own_unit(path: str, typed: str, expected: float) -> None:
    from netmdt import load_kb
    from netmdt.web.forms import facts_from_form, form_sections

    facts, problems = facts_from_form({path: typed}, form_sections(load_kb()))
    section, _, rest = path.partition(".")
    assert (facts, problems) == ({section: {rest: expected}}, [])


@pytest.mark.parametrize(
    ("path", "typed"),
    [
        ("tumour.ki67_percent", "7_5"),  # Python's float() reads 75
        ("tumour.ki67_percent", "1e-400"),  # float() reads 0
        ("tumour.ki67_percent", "\u0661\u0662"),  # Arabic-Indic digits: float() reads 12
        ("tumour.ki67_percent", "12 cm"),  # another field's unit
        ("tumour.primary_size_cm", "3%"),
        ("labs.inr", "1.1.1"),
        ("labs.inr", "1e999"),
        ("labs.inr", "nan"),
    ],
)
def test_form_numbers_are_plain_ascii_decimals(path: str, typed: str) -> None:
    from netmdt import load_kb
    from netmdt.errors import Problem
    from netmdt.web.forms import facts_from_form, form_sections

    facts, problems = facts_from_form({path: typed}, form_sections(load_kb()))
    assert (facts, problems) == ({}, [Problem(path, "must be a number", "number_type")])


def test_the_case_page_shows_pending_checks() -> None:
    """Rendered from an assessment with before_treatment checks not yet on the case."""
    import types
    from datetime import date, datetime

    import yaml

    from netmdt import assess, parse_case
    from netmdt.assessment import VERDICTS
    from netmdt.kb import default_kb_path
    from netmdt.web.caseview import mdt_view
    from netmdt.web.common import templates
    from tests.kbfixture import before_treatment_kb

    data = yaml.safe_load(
        (default_kb_path().parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    data["labs"] = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    a = assess(parse_case(data), before_treatment_kb())
    prrt = a.option("prrt_lu177_dotatate")
    ns = types.SimpleNamespace
    html = templates.env.get_template("case.html").render(
        actor=None,
        csrf="",
        case=ns(id=1, title="Case", version=1, updated_by="x", updated_at=datetime(2026, 11, 27)),
        patient=ns(id=1, name="P", date_of_birth=date(1960, 1, 1), nhs_number=None),
        a=a,
        view=mdt_view(a, before_treatment_kb(), None, data),
        narrative=ns(question="", clinical_history="", pathology="", radiology=""),
        src_no={},
        decisions=[],
        meetings=[],
        latest=True,
    )
    labels = ", ".join(dict.fromkeys(p.label for p in prrt.pending_checks))
    assert prrt.verdict in VERDICTS
    assert f'<div class="opt-meta">Subject to: {labels}</div>' in html.replace("&#39;", "'")
    assert "Checks before treatment starts:" in html
    for p in prrt.pending_checks:
        assert p.how_to_find_out in html.replace("&#39;", "'")
