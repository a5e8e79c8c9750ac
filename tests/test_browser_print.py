"""Printing the MDT view of a case (issue #11): a Chromium PDF of every demo case's page
is at most 2 A4 pages (static/print.css), and its first page holds the identifiers, the
question and the clinical summary."""

from __future__ import annotations

from typing import Any

import pypdfium2

from tests.test_browser import browser, server  # noqa: F401  (fixtures)
from tests.test_browser_mdtview import _login


def test_every_demo_case_prints_on_at_most_two_a4_pages(
    server: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    base, password = server
    page = _login(browser, base, password)
    pages, first_pages = {}, {}
    for case_id in range(1, 15):
        page.goto(f"{base}/cases/{case_id}")
        pdf = pypdfium2.PdfDocument(page.pdf(prefer_css_page_size=True))
        width, height = pdf[0].get_size()
        assert (round(width), round(height)) == (595, 842)  # A4 in points, from @page
        pages[case_id] = len(pdf)
        first_pages[case_id] = " ".join(pdf[0].get_textpage().get_text_range().split())
    assert {c: n for c, n in pages.items() if n > 2} == {}
    first = first_pages[1]
    assert "Margaret Example NHS 999 000 0018" in first
    assert "Question for the MDT:" in first and "Clinical summary" in first
    assert "Recommended" in first
    # Full reasons and sources stay on screen only.
    assert all("Sources and knowledge base" not in t for t in first_pages.values())
    page.close()
