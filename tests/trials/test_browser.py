"""The trials panel and a trial referral in a real browser (Debian's Chromium through
Playwright, as tests/test_browser.py), with the test trial cards and the demo data."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from netmdt.api import create_app
from netmdt.config import Settings
from netmdt.demo import load_demo
from netmdt.kb import KnowledgeBase
from tests.served import Served
from tests.test_browser import launch_chromium
from tests.webapp import TODAY


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, trial_kb: KnowledgeBase
) -> Iterator[tuple[str, str]]:
    db = tmp_path_factory.mktemp("trials-browser") / "netmdt.db"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        secret_key="browser-test",
        trials_open_here="t_compose,t_soon",
    )
    app = create_app(settings, kb=trial_kb)
    login = load_demo(app.state.netmdt.sessions, app.state.netmdt.kb, TODAY)
    served = Served(app)
    yield served.url, login.password
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium()


def test_the_trials_panel_and_recording_a_trial_referral(
    server: tuple[str, str], browser: object
) -> None:
    from playwright.sync_api import expect

    base, password = server
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(base + "/login")
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="NET MDT (demo)").click()
    page.locator("table.agenda tbody tr a[href^='/cases/']").first.click()
    panel = page.locator("section#trials")
    expect(panel.get_by_role("heading", name="Clinical trials")).to_be_visible()
    expect(panel).to_contain_text("T-COMPOSE")
    expect(panel).not_to_contain_text("RADIANT-2")  # closed: never offered
    case_url = page.url
    page.get_by_role("link", name=re.compile(r"^Record decision")).click()
    page.locator("input[name=chosen][value=clinical_trial]").check()
    page.get_by_label(re.compile(r"^Trial referred to")).select_option("t_compose")
    page.get_by_label("Rationale").fill("Refer to the trial team for screening.")
    page.get_by_role("button", name="Record decision").click()
    if page.url != case_url + "#decisions":  # clinical_trial not positive: say why
        page.get_by_label("Deviation reason").select_option("patient_preference")
        page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#decisions")).to_contain_text(
        "Clinical trial or registry (trial: T-COMPOSE)"
    )
    page.close()
