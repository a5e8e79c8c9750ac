"""The MDT view in Chromium (issue 11): the clinical summary, the question and the leading
options above the fold at 1280x720; presentation mode's keyboard; no horizontal scroll
at phone width (390 px) on the main pages; focus moves to the error summary."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.axe import serious_violations
from tests.test_browser import browser, server  # noqa: F401  (fixtures)

PAGES = (
    "/meetings",
    "/meetings/1",
    "/patients",
    "/patients/1",
    "/cases/1",
    "/cases/1/edit",
    "/cases/1/history",
    "/cases/1/decision?meeting=1",
    "/patients/1/cases/new",
)


def _login(chromium: Any, base: str, password: str, **context: Any) -> Any:
    page = chromium.new_context(**context).new_page()
    page.goto(base + "/login")
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/meetings")
    return page


def _above_fold(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] + box["height"] <= 720


def test_the_mdt_view_fits_the_projected_screen(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    base, password = server
    page = _login(browser, base, password, viewport={"width": 1280, "height": 720})
    page.goto(base + "/cases/1")
    assert _above_fold(page, "dl.summary")
    assert _above_fold(page, "p.question")
    assert _above_fold(page, "li.opt")  # the leading option
    expect(page.locator("li.opt").first).to_contain_text("Recommended")
    page.goto(base + "/cases/2?present=1&prev=/cases/1%3Fpresent%3D1&next=/cases/3%3Fpresent%3D1")
    expect(page.locator("body")).to_have_class(re.compile(r"\bpresent\b"))  # + NHS.UK's js-enabled
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/cases/3?present=1")
    page.goto(base + "/cases/2?present=1&prev=/cases/1%3Fpresent%3D1")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url("**/cases/1?present=1")
    page.close()


@pytest.mark.parametrize("viewport", [390, 1280])
def test_no_page_scrolls_sideways(server: tuple[str, str], browser: Any, viewport: int) -> None:  # noqa: F811
    """At phone width and at a desktop's 1280 px (the case form's prior-treatment table once
    made that page 2,107 px wide)."""
    base, password = server
    page = _login(browser, base, password, viewport={"width": viewport, "height": 844})
    wide = {}
    for path in PAGES:
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport:
            wide[path] = width
    assert wide == {}
    page.close()


# the narrowest a table cell may get at 1280 px: no column is squeezed letter by letter
NARROWEST_CELL = """() => Math.min(...[...document.querySelectorAll('main td, main th')]
    .filter(c => c.offsetParent !== null && c.textContent.trim().length > 3)
    .map(c => c.getBoundingClientRect().width))"""


def test_table_columns_keep_whole_words(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    base, password = server
    page = _login(browser, base, password, viewport={"width": 1280, "height": 720})
    narrow = {}
    for path in ("/cases/1", "/meetings/1", "/audit", "/cases/1/history"):
        page.goto(base + path)
        width = page.evaluate(NARROWEST_CELL)
        if width < 40:
            narrow[path] = width
    assert narrow == {}
    page.close()


def test_focus_moves_to_the_error_summary(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    base, password = server
    page = _login(browser, base, password)
    page.goto(base + "/patients/1/cases/new")
    page.locator("#f-tumour-ki67_percent").fill("lots")
    page.get_by_role("button", name="Create case and view it").click()
    expect(page.locator("#problems")).to_be_focused()
    expect(page.locator("#problems")).to_contain_text("Ki-67 index (%): must be a number")
    page.close()


ALL_PAGES = (
    *PAGES,
    "/cases/1?present=1",
    "/cases/1/summary",
    "/patients/new",
    "/audit",
    "/reports/concordance",
    "/admin/users",
    "/account/password",
)


def test_axe_finds_no_serious_violation_on_any_page(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    """axe-core (shipped inside axe-playwright-python) in Chromium, on every main page of
    the demo: no violation of serious or critical impact."""
    base, password = server
    page = _login(browser, base, password, bypass_csp=True)  # to inject axe itself
    found = {}
    for path in ALL_PAGES:
        page.goto(base + path)
        serious = serious_violations(page)
        if serious:
            found[path] = serious
    assert found == {}
    page.close()


CODE_LIKE = r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b|\b(?:True|False|None)\b|\['"


def test_no_internal_code_on_the_mdt_pages(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    """The text a person reads on the case pages of every demo case, with every
    ``<details>`` opened (the knowledge base's criteria, warnings, funding notes and
    disagreements one click away), holds no option id, field path or Python literal."""
    import re

    base, password = server
    page = _login(browser, base, password)
    found = {}
    for case_id in range(1, 15):
        for path in (f"/cases/{case_id}", f"/cases/{case_id}/history"):
            page.goto(base + path)
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            text = page.locator("main").inner_text()
            if hits := sorted(set(re.findall(CODE_LIKE, text))):
                found[path] = hits
    assert found == {}
    page.close()
