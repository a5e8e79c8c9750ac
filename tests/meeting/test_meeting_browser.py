"""The meeting in Chromium (Debian's, through Playwright; skipped where it is absent):
attendance and quoracy, an item's question and status, an action, the outcome letter and
the minutes, from the demo meeting."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_browser import launch_chromium, server, shot  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launch_chromium()


def _login(browser: Any, base: str, password: str) -> Any:
    page = browser.new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="NET MDT (demo)").click()
    return page


def test_attendance_and_quoracy(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = _login(browser, *server)
    expect(page.locator(".quorum")).to_have_text("Quorate: every core role is present.")
    shot(page, "10-meeting-quorate")
    page.get_by_label("Dr Helen Marsh, Histopathologist").uncheck()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator(".quorum")).to_have_text(
        "Not quorate: no one present for Histopathologist."
    )
    page.get_by_label("Dr Helen Marsh, Histopathologist").check()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator(".quorum")).to_contain_text("Quorate")
    page.close()


def test_question_status_action_letter_and_minutes(
    server: tuple[str, str],  # noqa: F811
    browser: Any,
) -> None:
    from playwright.sync_api import expect

    page = _login(browser, *server)
    rows = page.locator("table.agenda tbody tr")
    expect(rows.first).to_contain_text("Progressing on lanreotide")
    expect(rows.nth(3)).to_contain_text("Listed, not discussed (standard of care)")
    # Move the second case up: the order changes.
    second = rows.nth(1).locator("td").nth(1).get_by_role("link").inner_text()
    rows.nth(1).get_by_role("button", name=re.compile(r"^Up")).click()
    expect(rows.first.locator("td").nth(1).get_by_role("link")).to_have_text(second)
    rows.first.get_by_role("button", name=re.compile(r"^Down")).click()  # and back
    expect(rows.first).to_contain_text("Progressing on lanreotide")
    # The first case: its outcome, a new action, then the letter and the minutes.
    page.get_by_role("link", name=re.compile(r"^Question, outcome and actions")).first.click()
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()
    page.get_by_label("Status").select_option("deferred")
    page.get_by_role("button", name="Save question and status").click()
    expect(page.locator(".error-summary")).to_contain_text("required when the status is")
    page.get_by_label("Status").select_option("discussed")
    page.get_by_role("button", name="Save question and status").click()
    page.get_by_label("Action", exact=True).fill("Book the first PRRT cycle")
    page.get_by_label("Owner").fill("Dr Tomasz Nowak")
    page.get_by_label("Due date").fill("2026-12-11")
    page.get_by_role("button", name="Add action").click()
    expect(page.locator("#actions + table, table").first).to_contain_text(
        "Book the first PRRT cycle"
    )
    shot(page, "11-meeting-item")
    page.get_by_role("link", name="print").first.click()
    expect(page.get_by_role("heading", name="Neuroendocrine tumour MDT outcome")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Book the first PRRT cycle")
    expect(page.locator("body")).to_contain_text("Riverside Medical Practice")
    shot(page, "12-letter")
    page.go_back()
    page.get_by_role("link", name="Back to the agenda of NET MDT (demo)", exact=False).click()
    page.get_by_role("link", name="Minutes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Minutes: NET MDT (demo)")
    expect(page.locator("body")).to_contain_text("Quorate: every core role was present.")
    expect(page.locator("body")).to_contain_text("Book the first PRRT cycle")
    shot(page, "13-minutes")
    page.close()


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def test_the_meeting_pages_pass_axe(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    """axe-core finds no serious or critical violation on the meeting's pages."""
    page = _login(browser, *server)
    meeting = page.url
    found = {"agenda": serious(page)}
    page.get_by_role("link", name=re.compile(r"^Question, outcome and actions")).first.click()
    found["item"] = serious(page)
    for name, path in [("members", "/members"), ("audit", "/audit"),
                       ("concordance", "/reports/concordance")]:  # fmt: skip
        page.goto(meeting.split("/meetings")[0] + path)
        found[name] = serious(page)
    assert found == {k: [] for k in found}
    page.close()


def test_the_meeting_pages_fit_a_phone(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    """At 390 px the meeting's pages have no horizontal scroll (wide tables scroll inside
    their own box)."""
    base, password = server
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(base + "/login")
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="NET MDT (demo)").click()
    widths = {"agenda": page.evaluate("document.documentElement.scrollWidth")}
    page.get_by_role("link", name=re.compile(r"^Question, outcome and actions")).first.click()
    widths["item"] = page.evaluate("document.documentElement.scrollWidth")
    page.goto(base + "/members")
    widths["members"] = page.evaluate("document.documentElement.scrollWidth")
    assert widths == {"agenda": 390, "item": 390, "members": 390}
    page.close()
