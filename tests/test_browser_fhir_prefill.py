"""The new-case form pre-filled from a FHIR R4 Bundle, in Chromium (issue #11): the
Bundle's file is chosen (read in the browser into the box), the form comes back filled
with what was filled and what was not understood, and saving makes the case. The
pre-filled page passes axe-core, fits 390 px and shows no internal code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.axe import serious_violations
from tests.test_browser import browser, server  # noqa: F401  (fixtures)
from tests.test_browser_mdtview import CODE_LIKE, _login

BUNDLE = Path(__file__).parent / "fhir/pnet-bundle.json"


def _prefilled(page: Any, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/patients/1/cases/new")
    page.get_by_text("Pre-fill from a FHIR bundle").click()
    page.locator("#f-bundle-file").set_input_files(str(BUNDLE))
    expect(page.locator("#f-bundle")).not_to_have_value("")
    page.get_by_role("button", name="Pre-fill the form").click()
    # The Bundle's patient was born on another day: the form is filled only once the
    # coordinator has ticked that they checked.
    expect(page.locator("ul.mismatches")).to_contain_text("Date of birth")
    page.get_by_label("I have checked that this Bundle is this patient's record").check()
    page.get_by_role("button", name="Pre-fill the form").click()
    expect(page.locator("#prefilled-h")).to_contain_text("Filled from the FHIR bundle: 14")


def test_a_bundle_file_fills_the_form_and_saving_makes_the_case(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    base, password = server
    page = _login(browser, base, password)
    _prefilled(page, base)
    expect(page.locator("#f-tumour-ki67_percent")).to_have_value("12.0")
    expect(page.locator("ul.filled")).to_contain_text("Karnofsky performance status (%)")
    expect(page.locator("section.prefilled ul.warnings")).to_contain_text(
        "You confirmed that the Bundle"
    )
    text = page.locator("section.prefilled").inner_text()
    assert re.findall(CODE_LIKE, text) == []
    page.locator("#f-title").fill("Pancreatic NET from the EHR")
    page.get_by_role("button", name="Create case and view it").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    expect(page.locator("dl.summary")).to_contain_text("12%")
    page.close()


def test_the_prefilled_page_passes_axe_and_fits_a_phone(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    base, password = server
    page = _login(browser, base, password, bypass_csp=True, viewport={"width": 390, "height": 844})
    _prefilled(page, base)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert serious_violations(page) == []
    page.close()


def test_the_edit_form_prefills_and_names_what_the_bundle_changes(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    """The edit form of a demo case pre-filled from the Bundle's file: after the identity
    acknowledgement, the fields the Bundle changes are listed and filled; nothing saved."""
    from playwright.sync_api import expect

    base, password = server
    page = _login(browser, base, password)
    page.goto(base + "/cases/1/edit")
    page.get_by_text("Pre-fill from a FHIR bundle").click()
    page.locator("#f-bundle-file").set_input_files(str(BUNDLE))
    expect(page.locator("#f-bundle")).not_to_have_value("")
    page.get_by_role("button", name="Pre-fill the form").click()
    if page.locator("ul.mismatches").count():
        page.get_by_label("I have checked that this Bundle is this patient's record").check()
        page.get_by_role("button", name="Pre-fill the form").click()
    expect(page.locator("#prefilled-h")).to_contain_text("Filled from the FHIR bundle: 14")
    expect(page.locator("ul.changed")).to_contain_text("Ki-67 index (%)")
    expect(page.locator("#f-tumour-ki67_percent")).to_have_value("12.0")
    assert page.url.endswith("/cases/1/edit/fhir")
    text = page.locator("section.prefilled").inner_text()
    assert re.findall(CODE_LIKE, text) == []
    page.close()
