"""Render the patient summary: a standalone HTML page, its PDF, and its prose as plain text."""

from __future__ import annotations

from datetime import date
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import jinja2

from netmdt.pdf import html_to_pdf
from netmdt.summary.model import PatientSummary
from netmdt.vocabulary import nhs_number

TEMPLATES = Path(__file__).parent / "templates"
BLOCKS = frozenset({"h1", "h2", "h3", "h4", "p", "li", "dt", "dd", "title"})
SKIPPED = frozenset({"style", "script", "title"})


def summary_html(summary: PatientSummary) -> str:
    """The summary as one standalone HTML document (styles inline; every value escaped)."""
    return _env().get_template("summary.html.j2").render(s=summary)


def summary_pdf(summary: PatientSummary) -> bytes:
    """The summary as an A4 PDF (WeasyPrint)."""
    return html_to_pdf(summary_html(summary))


def summary_text(summary: PatientSummary) -> str:
    """The page's prose, one block a line, each ending a sentence (for readability measures).

    Only the reference line for the care team (case id, knowledge-base fingerprint) is left out.
    """
    parser = _Prose()
    parser.feed(summary_html(summary))
    parser.close()
    return "\n".join(parser.lines())


def long_date(value: date | str) -> str:
    """27 November 2026 (an ISO date string is accepted too; anything else is shown as it is)."""
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    try:
        return long_date(date.fromisoformat(value))
    except ValueError:
        return value


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["nhs"] = nhs_number
    return env


class _Prose(HTMLParser):
    """Collects the text of each block element; skips styles and ``data-not-prose`` blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._blocks: list[list[str]] = [[]]
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED or any(name == "data-not-prose" for name, _ in attrs):
            self._skip.append(tag)
        elif tag in BLOCKS:
            self._blocks.append([])

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()
        elif tag in BLOCKS:
            self._blocks.append([])

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._blocks[-1].append(data)

    def lines(self) -> list[str]:
        texts = (" ".join("".join(block).split()) for block in self._blocks)
        return [t if t[-1] in ".!?:" else f"{t}." for t in texts if t]
