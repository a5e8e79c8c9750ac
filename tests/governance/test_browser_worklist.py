"""The worklist page in Chromium (the demo data): readable at 1280 and 390 px without
horizontal page scroll (item ids wrap only at dots and underscores), paged, filtered by
status, option or trial and text; axe-core finds no serious violation on the governance
pages."""

from __future__ import annotations

from typing import Any

from tests.axe import serious_violations
from tests.test_browser import browser, server  # noqa: F401  (module-scoped fixtures)
from tests.test_browser_mdtview import _login


def test_the_worklist_reads_at_desktop_and_phone_width(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    base, password = server
    page = _login(browser, base, password, viewport={"width": 1280, "height": 720})
    page.goto(base + "/governance")
    rows = page.locator("table.worklist tbody tr")
    expect(rows).to_have_count(50)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.evaluate("document.documentElement.scrollHeight") < 12000
    # the item column is wide enough that no id wraps inside a word
    link = rows.first.locator("td.item a")
    box = link.bounding_box()
    words = link.inner_text().replace(".", " ").replace("_", " ").split()
    assert box is not None and page.locator("td.item").first.bounding_box()["width"] > 300
    assert box["height"] < 20 * max(2, len(words))  # at most a line per word, never a letter
    expect(page.locator("p[role=status]")).to_contain_text("(page 1 of ")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("p[role=status]")).to_contain_text("51 to 100 shown (page 2 of ")
    page.get_by_label("Status").select_option("all")
    page.get_by_label("Option or trial").select_option(label="NETTER-3")
    page.get_by_label("Text").fill("Ki-67")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.item a")).to_have_text("trial:netter_3.ki67_lt_10")
    page.close()

    phone = _login(browser, base, password, viewport={"width": 390, "height": 844})
    for path in ("/governance", "/governance?state=all&page=3", "/governance/rounds"):
        phone.goto(base + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    phone.goto(base + "/governance")
    first = phone.locator("table.worklist tbody tr").first
    expect(first.locator("td[data-label=State]")).to_be_visible()
    phone.close()


def test_axe_finds_no_serious_violation_on_the_governance_pages(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    base, password = server
    page = _login(browser, base, password, bypass_csp=True)
    found = {}
    for path in (
        "/governance",
        "/governance?scope=trials&state=all",
        "/governance/items/trial:netter_3.ki67_lt_10",
        "/governance/rounds",
    ):
        page.goto(base + path)
        serious = serious_violations(page)
        if serious:
            found[path] = serious
    assert found == {}
    page.close()
