"""NHS.UK frontend in the app (issue 11, part 6): the vendored CSS and JS are served and
load nothing from elsewhere, the page template is NHS.UK's, the macros write NHS.UK's
components, and the colours the app relies on keep their contrast (verdict tags >= 4.5:1,
the focus state >= 3:1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netmdt.web.common import VERDICT_WORDS, templates
from tests.webapp import ROOT, Harness

STATIC = ROOT / "src/netmdt/web/static"
NHSUK = STATIC / "nhsuk"
VERSION = "10.6.1"


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    assert round(contrast("#000", "#fff"), 1) == 21.0
    assert round(contrast("#767676", "#fff"), 2) == 4.54  # WCAG's classic AA grey


def _css() -> str:
    return (NHSUK / "nhsuk-frontend.min.css").read_text()


def _custom_properties() -> dict[str, str]:
    root = re.search(r":root\{([^}]*)\}", _css())
    assert root is not None
    return dict(p.split(":", 1) for p in root.group(1).split(";") if p.startswith("--"))


def test_the_vendored_files_are_the_stated_version_and_load_nothing_from_elsewhere() -> None:
    css = _css()
    assert f'--nhsuk-frontend-version:"{VERSION}"' in css
    assert (NHSUK / "VERSION").read_text().strip() == VERSION
    assert f'version="{VERSION}"' in (NHSUK / "nhsuk-frontend.min.js").read_text()
    assert "@font-face" not in css and "url(http" not in css and "//assets" not in css
    icons = set(re.findall(r"url\(/static/nhsuk/images/([^)]+)\)", css))
    assert icons == {p.name for p in (NHSUK / "images").iterdir()}
    assert "MIT License" in (NHSUK / "LICENCE.txt").read_text()
    package_data = (ROOT / "pyproject.toml").read_text()
    assert '"web/static/nhsuk/*"' in package_data and '"web/static/nhsuk/images/*"' in package_data


def test_the_pages_load_nhsuk_frontend_and_it_is_served(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    page = client.get("/login").text
    assert '<link rel="stylesheet" href="/static/nhsuk/nhsuk-frontend.min.css">' in page
    assert page.index("nhsuk-frontend.min.css") < page.index("/static/app.css")  # ours on top
    assert '<script type="module" src="/static/nhsuk-init.js"></script>' in page
    assert '<a class="nhsuk-skip-link" href="#main">Skip to content</a>' in page
    assert 'class="nhsuk-header app-header"' in page and 'class="nhsuk-footer"' in page
    for path, kind in (
        ("/static/nhsuk/nhsuk-frontend.min.css", "text/css"),
        ("/static/nhsuk/nhsuk-frontend.min.js", "javascript"),  # a module needs a JS type
        ("/static/nhsuk-init.js", "javascript"),
        ("/static/nhsuk/images/nhsuk-icon-cross.svg", "image/svg+xml"),
    ):
        r = client.get(path)
        assert (r.status_code, kind in r.headers["content-type"]) == (200, True), path


def test_the_header_shows_the_navigation_for_the_roles_and_marks_the_current_page(
    sqlite_web: Harness,
) -> None:
    page = sqlite_web.call("auditor", "GET", "/audit").text
    start = page.index('aria-label="Main"')
    nav = page[start : page.index("</nav>", start)]
    links = re.findall(r'href="([^"]+)"', nav)
    assert links == [
        "/surveys",
        "/registry",
        "/audit",
        "/reports/concordance",
        "/governance/report",
    ]
    assert 'href="/audit" aria-current="page"' in nav
    assert 'class="nhsuk-header__account"' in page and ">Log out</button>" in page


def test_the_centre_name_is_in_the_header_when_set(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from netmdt.api import create_app
    from netmdt.config import Settings

    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", centre_name="Example NET Centre")
    )
    page = TestClient(app).get("/login").text
    assert '<span class="app-header__centre">Example NET Centre</span>' in page


VERDICT_COLOURS = {
    "recommended": "green",
    "consider": "blue",
    "insufficient_information": "yellow",
    "not_recommended": "orange",
    "contraindicated": "red",
}


@pytest.mark.parametrize("verdict", sorted(VERDICT_COLOURS))
def test_a_verdict_is_an_nhsuk_tag_in_words_and_its_text_contrasts(verdict: str) -> None:
    macros = templates.env.get_template("macros.html").module
    badge = str(macros.verdict_badge(verdict))  # type: ignore[attr-defined]
    colour = VERDICT_COLOURS[verdict]
    words = VERDICT_WORDS[verdict]
    assert (
        badge
        == f'<strong class="nhsuk-tag nhsuk-tag--{colour} verdict v-{verdict}">{words}</strong>'
    )
    assert set(VERDICT_COLOURS) == set(VERDICT_WORDS)
    tag = re.search(
        rf"\.nhsuk-tag--{colour}\{{border-color:(#\w+);color:(#\w+);background-color:(#\w+)\}}",
        _css(),
    )
    assert tag is not None
    border, text, fill = tag.groups()
    assert contrast(text, fill) >= 4.5
    # the app's own copy for hand-written verdict spans is the same colours
    ours = (STATIC / "app.css").read_text()
    assert (
        f".verdict.v-{verdict} {{ color: {text}; border-color: {border}; background: {fill}; }}"
        in ours
    )


def test_the_focus_state_contrasts_at_least_3_to_1() -> None:
    """NHS.UK's focus state: a yellow fill with a near-black bar (links, buttons) or ring
    (inputs). The dark part against the page, the yellow against the blue header."""
    props = _custom_properties()
    dark, yellow = props["--nhsuk-focus-text-colour"], props["--nhsuk-focus-colour"]
    for page in (props["--nhsuk-body-background-colour"], props["--nhsuk-card-background-colour"]):
        assert contrast(dark, page) >= 3
    assert contrast(yellow, props["--nhsuk-brand-colour"]) >= 3
    assert contrast(dark, yellow) >= 4.5  # focused text stays readable


def test_the_error_summary_macro_links_each_problem_to_its_field() -> None:
    macros = templates.env.get_template("macros.html").module
    html = str(
        macros.error_summary(  # type: ignore[attr-defined]
            {"tumour.ki67_percent": ["must be a number"]}, {"tumour.ki67_percent": "Ki-67 (%)"}
        )
    )
    assert 'class="nhsuk-error-summary problems" id="problems"' in html
    assert 'tabindex="-1"' in html  # static/app.js moves focus here
    assert '<a href="#f-tumour-ki67_percent">Ki-67 (%): must be a number</a>' in html
    assert str(macros.error_summary({})).strip() == ""  # type: ignore[attr-defined]
