"""The MDT's main flow in a real browser: Debian's Chromium driven by Playwright, against
the app served by uvicorn on loopback with the demo data.

Skipped, saying why, where Chromium is not installed, except in CI (``CI=true``), where a
missing browser is a failure: ``scripts/check`` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netmdt.api import create_app
from netmdt.config import Settings
from netmdt.demo import load_demo
from tests.served import Served
from tests.webapp import TODAY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = (
    Path(os.environ.get("NETMDT_SCREENSHOTS", "")) if os.environ.get("NETMDT_SCREENSHOTS") else None
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The app on a free loopback port with the demo data; yields (base URL, password)."""
    db = tmp_path_factory.mktemp("browser") / "netmdt.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", secret_key="browser-test"))
    login = load_demo(app.state.netmdt.sessions, app.state.netmdt.kb, TODAY)
    served = Served(app)
    yield served.url, login.password
    served.stop()


def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never a browser of Playwright's own); in CI
    its absence is a failure, elsewhere a skip that says why."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: scripts/check should have installed it")
        pytest.skip("no Chromium (Debian package 'chromium'); scripts/check installs it as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium()


def shot(page: object, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_coordinator_enters_a_patient_and_the_mdt_records_a_decision(
    server: tuple[str, str], browser: object
) -> None:
    from playwright.sync_api import expect

    base, password = server
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    shot(page, "01-login")
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="MDT meetings")).to_be_visible()
    shot(page, "02-meetings")
    page.get_by_role("link", name="NET MDT (demo)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("NET MDT (demo)")
    expect(page.locator("table.agenda tbody tr")).to_have_count(14)
    shot(page, "03-agenda")

    # A coordinator registers a new patient and enters a case.
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Full name").fill("Grace Browser")
    page.get_by_label("Date of birth").fill("1958-05-17")
    page.get_by_label("NHS number (10 digits)").fill("943 476 5918")  # wrong check digit
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#err-nhs_number")).to_contain_text("modulus-11 check digit")
    page.get_by_label("NHS number (10 digits)").fill("999 000 0204")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Grace Browser")).to_be_visible()
    page.get_by_role("link", name="New case").click()
    page.get_by_label('Case title (e.g. "Progression on lanreotide: PRRT?")').fill("New referral")
    page.locator("#f-tumour-type").select_option("net")
    page.locator("#f-tumour-primary_site").select_option("rectum")
    page.locator("#f-tumour-primary_size_cm").fill("0.8")
    page.locator("#f-tumour-ki67_percent").fill("1")
    page.locator("#f-tumour-grade").select_option("G1")
    shot(page, "04-case-form")
    page.get_by_role("button", name="Create case").click()
    expect(page.get_by_role("heading", name="Options", exact=True)).to_be_visible()
    expect(page.locator("li.opt").first).to_be_visible()
    shot(page, "05-case-assessment")
    case_url = page.url

    # Put it on the meeting's agenda, then record the MDT decision with a deviation.
    page.get_by_role("link", name="Meetings").click()
    page.get_by_role("link", name="NET MDT (demo)").click()
    page.get_by_label("Patient name, NHS number, hospital number or case title").fill("grace")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("listitem").filter(has_text="Grace Browser").get_by_role("button").click()
    expect(page.locator("table.agenda tbody tr")).to_have_count(15)
    page.goto(case_url)
    page.get_by_role("link", name=re.compile(r"^Record decision")).click()
    expect(page.get_by_role("heading", name="Record the MDT decision")).to_be_visible()
    transplant = page.locator("input[name=chosen][value=liver_transplant]")
    transplant.check()
    page.get_by_label("Rationale").fill("Discussed; patient keen for the most radical option.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".problem")).to_contain_text("deviation_reason")
    expect(transplant).to_be_checked()  # the form keeps what was entered
    page.get_by_label("Deviation reason").select_option("patient_preference")
    shot(page, "06-decision")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#decisions")).to_contain_text("Patient preference")

    # The patient summary, and the audit trail of all of it.
    page.get_by_role("link", name="Patient summary").click()
    expect(page.locator("h1")).to_be_visible()
    shot(page, "07-patient-summary")
    page.go_back()
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("decision")
    expect(page.locator("table.audit")).to_contain_text("export")
    shot(page, "08-audit")
    page.get_by_role("link", name="Concordance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Concordance")
    shot(page, "09-concordance")
    page.close()


def test_keyboard_only_login(server: tuple[str, str], browser: object) -> None:
    from playwright.sync_api import expect

    base, password = server
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(base + "/login")
    expect(page.get_by_label("User name")).to_be_focused()  # autofocus
    page.keyboard.type("demo")
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="MDT meetings")).to_be_visible()
    page.keyboard.press("Tab")  # the first stop on every page is the skip link
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.close()
