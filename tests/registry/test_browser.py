"""In a real browser (Debian's Chromium through Playwright, as tests/test_browser.py): a
clinician records an MDT decision choosing Lu-177 PRRT for the demo's bronchial atypical
carcinoid, enrols the patient from it (the demo opened the registry), and enters a cycle;
an entry error is refused with the field named."""

from __future__ import annotations

import re
from datetime import date, timedelta

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
    today = date.today()
    day = lambda n: str(today - timedelta(days=n))  # noqa: E731
    page.get_by_label("Date of consent").fill(day(61))
    page.get_by_label("Information sheet version").fill("v2.1")
    page.get_by_label("Date of enrolment (blank: today)").fill(day(60))
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("bronchial")

    def cycle(when: str, gbq: str) -> None:
        page.get_by_label("Date given").fill(when)
        page.get_by_label("Prescribed activity (GBq)").fill("7.4")
        page.get_by_label("Administered activity (GBq)").fill(gbq)
        page.get_by_role("button", name="Add cycle").click()

    cycle(day(56), "740")
    expect(page.locator(".problem").first).to_contain_text("administered_gbq")
    cycle(day(56), "7.35")
    expect(page.locator("#cycles table")).to_contain_text("7.35")
    cycle(day(1), "7.4")
    expect(page.locator("#cy-h")).to_contain_text("2 of 4 planned; cumulative 14.75 GBq")

    def scan(when: str, sizes: list[str]) -> None:
        page.get_by_label("Scan date").fill(when)
        for i, mm in enumerate(sizes, 1):
            if page.get_by_label(f"Lesion {i} label").input_value() == "":
                page.get_by_label(f"Lesion {i} label").fill(f"L{i}")
                page.get_by_label(f"Lesion {i} organ").fill("liver" if i == 1 else "lung")
            page.get_by_label(f"Lesion {i} mm").fill(mm)
        page.get_by_role("button", name="Add scan").click()

    scan(day(58), ["40", "30"])
    expect(page.locator("#scans li")).to_contain_text("baseline, sum 70.0 mm")
    scan(day(0), ["25", "20"])
    expect(page.locator("#scans li").nth(1)).to_contain_text("PR")
    page.get_by_role("link", name="PRRT registry").click()
    expect(page.locator("table")).to_contain_text("bronchial")
    page.get_by_role("link", name="Audit report").click()
    expect(page.locator("body")).to_contain_text("Progression-free survival")
    expect(page.locator("img").first).to_be_visible()
    page.close()
