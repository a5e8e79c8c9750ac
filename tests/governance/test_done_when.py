"""Issue #15's "Done when", walked as a new user would on the demo data (in-process, the
web app's own forms): the demo's clinical lead reviews three criteria and changes one
local setting; the release page shows first which demo cases' verdicts change (checked
against an independent assessment of each demo case under both knowledge bases);
activating it re-assesses them; the case page of an affected demo patient shows both the
review ("reviewed at this centre by ...") and the local value with who set it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from netmdt.api import create_app
from netmdt.config import Settings
from netmdt.demo import load_demo
from netmdt.engine.assess import assess
from netmdt.kb import load_kb
from netmdt.store import tables as t
from netmdt.store.services import case_of
from tests.governance.test_web import _post, _rows
from tests.webapp import TODAY, login

SETTING = "max_ablation_lesions"
FEW = "thermal_ablation.few_lesions"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'demo.db'}",
            secret_key="done-when",
            cds_freeze_heap=False,
        )
    )
    found = load_demo(app.state.netmdt.sessions, app.state.netmdt.kb, TODAY)
    client = TestClient(app)
    login(client, found.name, found.password)
    yield client
    client.close()
    app.state.netmdt.engine.dispose()


def _expected_changes(client: TestClient, value: float) -> list[tuple[str, str, str, str]]:
    """(case, option, verdict now, verdict after) of every stored demo case, from the
    engine alone: the bundled knowledge base against one with the local value."""
    before, after = load_kb(), load_kb(settings={SETTING: value})
    with client.app.state.netmdt.sessions() as db:  # type: ignore[attr-defined]
        rows = db.execute(
            select(t.Case.id, t.CaseVersion.facts)
            .join(t.CaseVersion, (t.CaseVersion.case_id == t.Case.id))
            .where(t.CaseVersion.version == t.Case.version)
            .order_by(t.Case.id)
        ).all()
    found = []
    for case_id, facts in rows:
        case = case_of(case_id, facts)
        old = {o.option: o.verdict for o in assess(case, before).options}
        for o in assess(case, after).options:
            if o.verdict != old[o.option]:
                words = (old[o.option].replace("_", " "), o.verdict.replace("_", " "))
                found.append((f"case-{case_id}", o.option, *words))
    return found


def test_the_demo_lead_reviews_localises_and_activates(demo: TestClient) -> None:
    client = demo
    today = date.today().isoformat()
    worklist = client.get("/governance").text
    first = [item for item, _, _ in _rows(worklist)]
    options = [i for i in first if not i.startswith("trial:") and i != FEW][:2]
    assert len(options) == 2
    # three criteria reviewed: the ablation limit (with a local change) and two others
    reviewed = {FEW: "approved_with_local_change", options[0]: "approved", options[1]: "approved"}
    for item, status in reviewed.items():
        page = f"/governance/items/{item}"
        r = _post(client, page, page, {"status": status, "comment": "checked at the MDT"})
        assert (r.status_code, r.headers["location"]) == (303, f"{page}?saved=1")
    after = [item for item, _, _ in _rows(client.get("/governance").text)]
    assert set(reviewed).isdisjoint(after)
    # one local setting
    r = _post(
        client,
        "/governance/settings",
        f"/governance/settings/{SETTING}",
        {"value": "3", "comment": "our interventional radiologists"},
    )
    assert r.status_code == 303, r.text
    # the release page shows first which demo cases change
    release = client.get("/governance/release").text
    shown = re.findall(
        r'<tr><td><a href="/cases/\d+">(case-\d+)</a></td><td>([a-z0-9_]+)</td>'
        r"<td>([a-z ]+)</td><td>([a-z ]+)</td>",
        release,
    )
    expected = _expected_changes(client, 3)
    assert expected and sorted(shown) == sorted(expected)
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', release)
    assert fingerprint is not None
    r = _post(client, "/governance/release", "/governance/release", {"fingerprint": fingerprint[1]})
    assert (r.status_code, r.headers["location"]) == (303, "/governance/report")
    report = client.get("/governance/report").text
    assert f"{len(expected)} verdict change(s) at activation" in report
    # an affected demo patient's case page: the new verdict, the review and the local value
    case_id, option, _, new = next(c for c in expected if c[1] == "thermal_ablation")
    page = client.get(f"/cases/{case_id.removeprefix('case-')}").text
    start = page.index(f'id="opt-{option}"')
    section = page[start : page.index('id="opt-', start + 1)]
    assert "(not recommended)" in section and new == "not recommended"
    assert f"reviewed at this centre by demo, {today} (with a local change)" in section
    assert (
        f"local setting {SETTING} = 3 liver metastases (default 5; set by demo, {today})" in section
    )
