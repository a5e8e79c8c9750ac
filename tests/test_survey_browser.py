"""The patient's survey page in Debian's Chromium at phone width (320 px): no sideways
scrolling, answerable with the keyboard, and axe-core finds no serious or critical
violation on any page of it. Screenshots with NETMDT_SCREENSHOTS=folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netmdt.api import create_app
from netmdt.config import Settings
from netmdt.demo import load_demo
from netmdt.survey import service as sv
from tests.served import Served
from tests.test_browser import launch_chromium, shot
from tests.webapp import TODAY


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo app on a free loopback port; yields a fresh survey link of a demo patient."""
    db = tmp_path_factory.mktemp("survey-browser") / "netmdt.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", secret_key="browser-test"))
    load_demo(app.state.netmdt.sessions, app.state.netmdt.kb, TODAY)
    with app.state.netmdt.sessions() as session:
        (issued,) = sv.invite(session, "test", 1, today=TODAY)
    served = Served(app)
    yield issued.link(served.url)
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium()


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def fits(page: Any) -> bool:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width <= 320


def test_the_survey_on_a_320_px_phone_with_keyboard_and_axe(link: str, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 320, "height": 640}, bypass_csp=True)
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Your injections")).to_be_visible()
    assert "Margaret" not in page.content()  # nothing of the patient
    assert serious(page) == [] and fits(page)
    shot(page, "survey-320-page1")
    # Keyboard only: Tab to the first answer, arrows choose, Tab on, Enter sends.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "product":
            break
    page.keyboard.press("Space")
    expect(page.get_by_label("Lanreotide (for example Somatuline)")).to_be_checked()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "who_gives":
            break
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("A nurse at my GP surgery")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # The follow-up question about lanreotide opens on the same page.
    expect(page.get_by_text("Which make of lanreotide is it?")).to_be_visible()
    assert serious(page) == [] and fits(page)
    page.get_by_label("Somatuline Autogel").check()
    page.get_by_role("button", name="Save and go on").click()
    expect(page.get_by_role("heading", name="How the injection felt")).to_be_visible()
    assert serious(page) == [] and fits(page)
    page.get_by_label("How much did it hurt").fill("3")
    page.get_by_role("button", name="Save and go on").click()
    expect(page.get_by_text("For how many days did it hurt?")).to_be_visible()
    page.get_by_role("button", name="Save and go on").click()
    expect(page.get_by_role("heading", name="Getting your injection")).to_be_visible()
    page.get_by_role("group", name="In the last 3 months").get_by_label("No").check()
    page.get_by_label("How many minutes").fill("25")
    page.get_by_role("button", name="Save and go on").click()
    page.get_by_role("button", name="Save and go on").click()  # the follow-ups, skipped
    expect(page.get_by_role("heading", name="What you think")).to_be_visible()
    assert serious(page) == [] and fits(page)
    shot(page, "survey-320-page4")
    page.get_by_label("Happy", exact=True).check()
    page.get_by_label("Is there anything else").fill("The nurse was kind.")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert serious(page) == [] and fits(page)
    page.goto(link)
    expect(page.get_by_text("You have already sent your answers.")).to_be_visible()
    context.close()
