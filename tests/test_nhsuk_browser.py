"""NHS.UK frontend in Chromium (issue 11, part 6): NHS.UK's focus state reaches every kind
of control on a page (nothing of ours overrides it), its script runs under the app's CSP,
and the header's navigation folds into "More" at phone width."""

from __future__ import annotations

from typing import Any

from tests.test_browser import browser, server  # noqa: F401  (fixtures)
from tests.test_browser_mdtview import _login

YELLOW = "rgb(255, 235, 59)"  # --nhsuk-focus-colour
DARK = "rgb(33, 43, 50)"  # --nhsuk-focus-text-colour

FOCUS_STYLE = """el => { el.focus(); const s = getComputedStyle(el);
  return {background: s.backgroundColor, shadow: s.boxShadow, outline: s.outlineColor,
          outlineWidth: s.outlineWidth, focused: document.activeElement === el}; }"""


def test_every_control_takes_the_nhsuk_focus_state(server: tuple[str, str], browser: Any) -> None:  # noqa: F811
    base, password = server
    page = _login(browser, base, password, viewport={"width": 1280, "height": 720})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/patients")
    assert "nhsuk-frontend-supported" in (page.locator("body").get_attribute("class") or "")
    styles = {
        name: page.locator(selector).first.evaluate(FOCUS_STYLE)
        for name, selector in (
            ("link", "main table a"),
            ("header link", ".nhsuk-header__navigation-link"),
            ("button", "main button"),
            ("button link", "main a.button"),
        )
    }
    for name, style in styles.items():
        assert (name, style["focused"], style["background"]) == (name, True, YELLOW)
        assert DARK in style["shadow"], (name, style)  # the dark bar under the yellow
    page.goto(base + "/meetings/1")  # a button in a table row (the agenda's order)
    in_row = page.locator("main td button:not([disabled])").first.evaluate(FOCUS_STYLE)
    assert (in_row["background"], DARK in in_row["shadow"]) == (YELLOW, True)
    page.goto(base + "/patients")
    field = page.locator("#q").evaluate(FOCUS_STYLE)
    assert (field["outline"], field["outlineWidth"]) == (YELLOW, "4px")
    assert DARK in field["shadow"]  # the dark inner ring
    assert errors == []  # the module loaded and ran under the CSP
    page.close()


def test_the_header_folds_its_navigation_into_more_on_a_phone(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    base, password = server
    page = _login(browser, base, password, viewport={"width": 390, "height": 844})
    toggle = page.get_by_role("button", name="Browse More")
    expect(toggle).to_be_visible()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Registry status")).to_be_visible()
    page.close()
