"""The survey end to end on SQLite and PostgreSQL: one-time links (single use, expiry,
opt-out, schedule), page-by-page answers kept, abuse limits, roles, the dashboard's
figures against a hand-computed table, and the MDT flag that changes no verdict."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from netmdt.errors import ConflictError
from netmdt.survey import service as sv
from netmdt.survey.tables import SurveyInvitation, SurveyResponse
from netmdt.survey.web import PublicLimiter
from tests.webapp import Harness

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TODAY = date.today()


def _invite(web: Harness, patient_id: int | None, **kw: Any) -> list[sv.Issued]:
    with web.app.state.netmdt.sessions() as db:
        return sv.invite(db, "test", patient_id, today=kw.pop("today", TODAY), **kw)


def _post(web: Harness, token: str, page: str, go: str = "next", **answers: str) -> Any:
    html = web.client.get(f"/s/{token}").text
    match = CSRF.search(html)
    csrf = match.group(1) if match else ""
    data = {"csrf_token": csrf, "page": page, "go": go, **answers}
    return web.client.post(f"/s/{token}", data=data, follow_redirects=False)


def _complete(web: Harness, token: str, **over: str) -> None:
    pages = {
        "page_injection": {"product": "1", "lan_syringe": "1", "who_gives": "1"},
        "page_site": {"pain_score": "2", "pain_days": "1", "lump": "0"},
        "page_access": {"delayed": "0", "travel_min": "20", "travel_cost": "5", "time_off": "0"},
        "page_views": {"satisfied": "4", "aware_self": "1", "want_self": "2"},
    }
    for page, answers in pages.items():
        answers = {**answers, **{k: v for k, v in over.items() if k in answers}}
        extra = {k: v for k, v in over.items() if k not in answers}
        mine = {k: v for k, v in extra.items() if k in _page_items(page)}
        shown = " ".join(_page_items(page))
        r = _post(web, token, page, "send" if page == "page_views" else "next",
                  shown=shown, **answers, **mine)  # fmt: skip
        assert r.status_code == 303, r.text


def _page_items(page: str) -> list[str]:
    from netmdt.survey.model import load_survey

    return [i.linkId for p in load_survey().pages if p.linkId == page for i in p.item]


def test_link_is_opaque_single_use_and_kept_page_by_page(web: Harness) -> None:
    patient = web.patient()
    (issued,) = _invite(web, patient["id"])
    link = issued.link("http://x")
    assert link == f"http://x/s/{issued.token}" and re.fullmatch(r"[A-Za-z0-9_-]{43}", issued.token)
    assert patient["nhs_number"] not in link
    # The page shows nothing of the patient.
    page = web.client.get(f"/s/{issued.token}")
    assert page.status_code == 200
    assert patient["name"] not in page.text and patient["nhs_number"] not in page.text
    assert "Which medicine do you have?" in page.text and "Which make" not in page.text
    # First page: the follow-up question opens on the same page.
    r = _post(web, issued.token, "page_injection", product="1", who_gives="3",
              shown="product dose_mg interval_weeks who_gives")  # fmt: skip
    assert r.status_code == 200 and "Which make of lanreotide is it?" in r.text
    with web.app.state.netmdt.sessions() as db:
        row = db.scalar(select(SurveyResponse))
        assert row is not None
        assert (row.status, row.answers) == ("in-progress", {"product": "1", "who_gives": "3"})
        stored = db.scalar(select(SurveyInvitation))
        assert stored is not None and stored.token_hash == sv.token_hash(issued.token)
        assert issued.token not in str(
            [getattr(stored, c.key) for c in SurveyInvitation.__table__.c]
        )
    # Back on the link later: the answers are still there.
    html = web.client.get(f"/s/{issued.token}").text
    assert 'value="3" checked' in html
    csrf = CSRF.search(html).group(1)  # type: ignore[union-attr]
    _complete(web, issued.token, comment="<b>Great</b> <script>alert(1)</script>nurse")
    with web.app.state.netmdt.sessions() as db:
        row = db.scalar(select(SurveyResponse))
        assert row is not None and row.status == "completed"
        assert row.answers["comment"] == "Great alert(1) nurse"
        resource = row.resource
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    QuestionnaireResponse.model_validate(resource)
    assert resource["questionnaire"] == "https://netmdt.org/fhir/Questionnaire/ssa-injection|1.0.0"
    assert resource["status"] == "completed"
    # A second submission with the same token is refused.
    again = web.client.post(
        f"/s/{issued.token}", data={"csrf_token": csrf, "page": "page_views", "go": "send"}
    )
    assert again.status_code == 409
    assert web.client.get(f"/s/{issued.token}").status_code == 409


def test_required_questions_are_asked_before_sending(web: Harness) -> None:
    (issued,) = _invite(web, None)
    r = _post(web, issued.token, "page_views", "send", satisfied="4")
    assert r.status_code == 422 and "please answer this question" in r.text
    assert 'href="#q-product"' in r.text


def test_expired_unknown_and_opted_out_links(web: Harness) -> None:
    patient = web.patient()
    past = datetime.now(UTC) - timedelta(days=sv.LINK_DAYS + 1)
    (old,) = _invite(web, patient["id"], now=past)
    assert web.client.get(f"/s/{old.token}").status_code == 410
    assert web.client.get("/s/not-a-real-token").status_code == 404
    issued = _invite(web, patient["id"], injection_date=TODAY, days=sv.SCHEDULE_DAYS)
    assert len(issued) == 1  # day 0 now; day 14 and day 28 wait
    with web.app.state.netmdt.sessions() as db:
        assert sv.issue_due(db, "test", TODAY) == []
        assert len(sv.issue_due(db, "test", TODAY + timedelta(days=14))) == 1
    # The patient stops the surveys from the page: nothing more is issued.
    html = web.client.get(f"/s/{issued[0].token}").text
    csrf = CSRF.search(html).group(1)  # type: ignore[union-attr]
    stop = web.client.post(f"/s/{issued[0].token}/stop", data={"csrf_token": csrf})
    assert stop.status_code == 200 and "Surveys stopped" in stop.text
    assert web.client.get(f"/s/{issued[0].token}").status_code == 410
    with web.app.state.netmdt.sessions() as db:
        assert sv.issue_due(db, "test", TODAY + timedelta(days=40)) == []
        with pytest.raises(ConflictError):
            sv.invite(db, "test", patient["id"], today=TODAY)
    actions = [(e["action"], e["record_type"]) for e in web.audit()]
    assert ("opt_out", "patient") in actions and ("issue", "survey_invitation") in actions
    assert actions.count(("create", "survey_invitation")) == 4


def test_public_page_limits(web: Harness) -> None:
    (issued,) = _invite(web, None)
    form = {"content-type": "application/x-www-form-urlencoded"}
    big = web.client.post(f"/s/{issued.token}", content=b"x" * 20_000, headers=form)
    assert big.status_code == 413
    web.app.state.survey_limiter = PublicLimiter(limit=3, window=600)
    codes = [web.client.get(f"/s/{issued.token}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_responses_api_by_role(web: Harness) -> None:
    patient = web.patient()
    (issued,) = _invite(web, patient["id"])
    _complete(web, issued.token)
    url = "/api/surveys/ssa_injection/responses"
    linked = web.call("coordinator", "GET", url, params={"mode": "linked"})
    assert linked.status_code == 200 and linked.json()[0]["patient_id"] == patient["id"]
    anonymous = web.call("auditor", "GET", url)
    assert anonymous.status_code == 200
    assert "patient_id" not in anonymous.json()[0]
    assert "subject" not in anonymous.json()[0]["questionnaire_response"]
    assert web.call("auditor", "GET", url, params={"mode": "linked"}).status_code == 403
    assert web.call("admin", "GET", url).status_code == 403
    assert web.client.get(url).status_code == 401
    assert ("list", "survey_response") in [(e["action"], e["record_type"]) for e in web.audit()]


def test_dashboard_figures_match_a_hand_computed_table(web: Harness) -> None:
    # product, setting, pain, lump, delayed, travel, satisfied, aware
    seeded = [
        ("1", "1", "5", "1", "0", "40", "5", "1"),
        ("1", "1", "2", "0", "1", "20", "4", "0"),
        ("1", "3", "7", "1", "0", "0", "2", "1"),
        ("2", "1", "4", "0", "1", "60", "3", "0"),
        ("2", "4", "0", "0", "0", "0", "5", ""),
        ("9", "2", "3", "1", "0", "15", "4", "1"),
    ]
    for product, who, pain, lump, delayed, travel, satisfied, aware in seeded:
        (issued,) = _invite(web, None)
        _complete(web, issued.token, product=product, who_gives=who, pain_score=pain, lump=lump,
                  delayed=delayed, delayed_count="1", travel_min=travel, satisfied=satisfied,
                  aware_self=aware)  # fmt: skip
    with web.app.state.netmdt.sessions() as db:
        rows = [r.answers for r in db.scalars(select(SurveyResponse))]
    got = {(f.measure, f.group): (f.k, f.n) for f in sv.figures(rows, "product")}
    # By hand: lanreotide = rows 1-3, octreotide LAR = row 4-5, other = row 6.
    assert got == {
        ("pain", "lanreotide"): (2, 3), ("pain", "octreotide LAR"): (1, 2),
        ("pain", "other"): (0, 1),
        ("lump", "lanreotide"): (2, 3), ("lump", "octreotide LAR"): (0, 2),
        ("lump", "other"): (1, 1),
        ("delayed", "lanreotide"): (1, 3), ("delayed", "octreotide LAR"): (1, 2),
        ("delayed", "other"): (0, 1),
        ("travel", "lanreotide"): (1, 3), ("travel", "octreotide LAR"): (1, 2),
        ("travel", "other"): (0, 1),
        ("satisfied", "lanreotide"): (2, 3), ("satisfied", "octreotide LAR"): (1, 2),
        ("satisfied", "other"): (1, 1),
        ("aware", "lanreotide"): (2, 3), ("aware", "octreotide LAR"): (0, 1),
        ("aware", "other"): (1, 1),
    }  # fmt: skip
    setting = {(f.measure, f.group): (f.k, f.n) for f in sv.figures(rows, "setting")}
    assert setting[("pain", "hospital")] == (2, 3) and setting[("aware", "self")] == (0, 0)
    # Wilson 95% for 2/3 by hand: centre (p + z²/2n)/(1 + z²/n), half-width as usual.
    low, high = sv.wilson(2, 3)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.2077, 0.9385)
    assert sv.wilson(0, 0) is None
    assert sv.median_travel(rows, "product")["lanreotide"] == (20, 3)
    page = web.client.get("/surveys/ssa_injection", headers=web.h("auditor"))
    assert page.status_code == 200 and "2/3 (67%; 21–94%)" in page.text
    plot = web.client.get("/surveys/ssa_injection/plot/product.svg", headers=web.h("clinician"))
    assert plot.status_code == 200 and plot.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in plot.content
    redcap = web.client.get("/surveys/ssa_injection/redcap-records.csv", headers=web.h("auditor"))
    head = redcap.text.splitlines()[0].split(",")
    assert head[0] == "record_id" and head[-1] == "ssa_injection_complete"
    assert len(redcap.text.splitlines()) == 7


def test_mdt_flag_shows_and_the_assessment_is_byte_identical(web: Harness) -> None:
    patient = web.patient()
    case = web.case(patient["id"])
    before = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").content
    page = web.client.get(f"/cases/{case['id']}", headers=web.h("clinician")).text
    assert "injection survey" not in page
    summary = web.client.get(f"/cases/{case['id']}/summary", headers=web.h("clinician")).text
    assert "What you told us" not in summary
    (issued,) = _invite(web, patient["id"])
    _complete(web, issued.token, pain_score="8", delayed="1", delayed_count="2",
              delay_why="2", want_self="1")  # fmt: skip
    after = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").content
    assert after == before
    page = web.client.get(f"/cases/{case['id']}", headers=web.h("clinician")).text
    assert "From the patient's injection survey" in page
    for text in ("Delayed doses", "(2 times in 3 months)", "Severe injection-site pain: 8/10",
                 "Would like to learn to self-inject"):  # fmt: skip
        assert text in page
    summary = web.client.get(f"/cases/{case['id']}/summary", headers=web.h("clinician")).text
    assert "What you told us about your injections" in summary
    assert "You would like to learn to give your injection yourself." in summary
    with web.app.state.netmdt.sessions() as db:
        keys = [f.key for f in sv.patient_flags(db, patient["id"], TODAY)]
        assert keys == ["delayed_doses", "site_pain", "self_injection"]
        assert sv.patient_flags(db, patient["id"], TODAY + timedelta(days=120)) == []


def test_coordinator_makes_a_link_on_the_dashboard(web: Harness) -> None:
    from tests.webapp import login

    patient = web.patient()
    token = login(web.client, "coordinator")
    page = web.client.get("/surveys/ssa_injection")
    assert "Invite a patient" in page.text
    made = web.client.post(
        "/surveys/ssa_injection/invite",
        data={"csrf_token": token, "patient_id": str(patient["id"]), "schedule": "1"},
    )
    assert made.status_code == 200, made.text
    (link,) = re.findall(r"<code>(http[^<]+/s/[^<]+)</code>", made.text)
    assert link.startswith("http://127.0.0.1:8000/s/")  # NETMDT_BASE_URL, not the Host
    assert web.client.get("/s/" + link.split("/s/")[1]).status_code == 200
    bad = web.client.post(
        "/surveys/ssa_injection/invite", data={"csrf_token": token, "patient_id": "x"}
    )
    assert bad.status_code == 422


def test_a_response_to_an_older_version_stays_readable(web: Harness) -> None:
    (issued,) = _invite(web, None)
    _complete(web, issued.token)
    with web.app.state.netmdt.sessions() as db:
        row = db.scalar(select(SurveyResponse))
        assert row is not None
        row.survey_version = "0.9.0"
        row.resource = {
            **row.resource,
            "questionnaire": "https://netmdt.org/fhir/Questionnaire/ssa-injection|0.9.0",
        }
        db.commit()
    (got,) = web.call("auditor", "GET", "/api/surveys/ssa_injection/responses").json()
    assert got["survey_version"] == "0.9.0"
    assert got["questionnaire_response"]["questionnaire"].endswith("|0.9.0")


def test_answers_out_of_range_are_named_and_nothing_is_kept(web: Harness) -> None:
    (issued,) = _invite(web, None)
    r = _post(web, issued.token, "page_site", pain_score="11", lump="maybe")
    assert r.status_code == 422
    assert "type a number from 0 up to 10" in r.text and "choose yes or no" in r.text
    with web.app.state.netmdt.sessions() as db:
        assert db.scalar(select(SurveyResponse)) is None
