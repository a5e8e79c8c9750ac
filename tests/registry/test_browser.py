"""In a real browser (Debian's Chromium through Playwright, as tests/test_browser.py): a
clinician records an MDT decision choosing Lu-177 PRRT for the demo's bronchial atypical
carcinoid, enrols the patient from it (the demo opened the registry), and enters a cycle;
an entry error is refused with the field named."""

from __future__ import annotations

import re
from datetime import date

from tests.test_browser import browser, server  # noqa: F401  (fixtures)


def test_clinician_enrols_from_the_decision_and_enters_a_cycle(
    server: tuple[str, str],  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    base, password = server
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(base + "/login")
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="NET MDT (demo)", exact=True).click()
    row = page.locator("table.agenda tbody tr", has_text="Wei Placeholder")
    row.get_by_role("link", name=re.compile(r"^Record decision")).click()
    page.locator("input[name=chosen][value=prrt_lu177_dotatate]").check()
    page.get_by_label("Rationale").fill("Progressive atypical carcinoid: Lu-177 in the registry.")
    page.get_by_role("button", name="Record decision").click()
    if page.locator(".problem").count():  # netmdt did not rate PRRT positive: say why
        page.get_by_label("Deviation reason").select_option("new_information")
        page.get_by_role("button", name="Record decision").click()
    page.get_by_role("link", name=re.compile(r"^Enrol in the PRRT registry")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Enrol in the PRRT audit registry")
    page.get_by_label("Date of consent").fill(str(date.today()))
    page.get_by_label("Information sheet version").fill("v2.1")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("bronchial")
    page.get_by_label("Date given").fill(str(date.today()))
    page.get_by_label("Prescribed activity (GBq)").fill("7.4")
    page.get_by_label("Administered activity (GBq)").fill("740")
    page.get_by_role("button", name="Add cycle").click()
    expect(page.locator(".problem").first).to_contain_text("administered_gbq")
    page.get_by_label("Date given").fill(str(date.today()))
    page.get_by_label("Prescribed activity (GBq)").fill("7.4")
    page.get_by_label("Administered activity (GBq)").fill("7.35")
    page.get_by_role("button", name="Add cycle").click()
    expect(page.locator("#cycles table")).to_contain_text("7.35")
    expect(page.locator("#cy-h")).to_contain_text("1 of 4 planned")
    page.get_by_role("link", name="PRRT registry").click()
    expect(page.locator("table")).to_contain_text("bronchial")
    page.close()
