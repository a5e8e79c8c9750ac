"""Reviewing an item from the worklist in a real browser (Debian's Chromium through
Playwright, the demo data): the demo user holds the clinical_lead role."""

from __future__ import annotations

import re
from datetime import date

from tests.test_browser import browser, server  # noqa: F401  (module-scoped fixtures)


def test_the_clinical_lead_reviews_the_first_item_of_the_worklist(
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
    page.get_by_role("link", name="Knowledge base").click()
    expect(page.get_by_role("heading", name="Knowledge-base review worklist")).to_be_visible()
    first = page.locator("table.worklist tbody tr").first.get_by_role("link")
    item = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(item)
    page.get_by_label("Comment (required unless approved as it is)").fill("checked")
    page.get_by_role("button", name="Record review").click()
    expect(page.get_by_role("status")).to_have_text("Review recorded.")
    expect(page.locator(".state")).to_have_text("approved")
    page.get_by_role("link", name="Worklist").click()
    expect(page.locator("table.worklist")).not_to_contain_text(re.compile(rf"^{item}$"))
    option, criterion = item.split(".", 1)
    page.goto(base + "/cases/1")
    reason = page.locator(f"#opt-{option} table.reasons")
    expect(reason).to_contain_text(f"reviewed at this centre by demo, {date.today()}")
    assert criterion  # the item is option.criterion
