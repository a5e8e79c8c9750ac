"""The meeting's documents: the pre-meeting list, the minutes and the outcome letters,
as standalone HTML (to print), PDF (WeasyPrint, as the patient summary) and, for
letters, DOCX (python-docx). Every value is escaped; identifiers head each case."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from netmdt.config import Settings
from netmdt.meeting import vocab
from netmdt.meeting.service import Quoracy, Row, cwt_intervals
from netmdt.pdf import html_to_pdf

FOLDER = Path(__file__).parent / "documents"
CSS = (Path(__file__).parent.parent / "web" / "static" / "meeting-print.css").read_text()


@dataclass
class Letterhead:
    name: str
    address: list[str]
    phone: str
    coordinator: str

    @classmethod
    def of(cls, settings: Settings) -> Letterhead:
        lines = [a.strip() for a in settings.centre_address.split(";") if a.strip()]
        return cls(
            settings.centre_name or "NET centre",
            lines,
            settings.centre_phone,
            settings.mdt_coordinator_contact,
        )


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(FOLDER),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["uk_date"] = vocab.uk_date
    env.filters["nhs"] = vocab.nhs_number_words
    env.globals.update(
        STATUSES=vocab.STATUSES,
        FOLLOW_UP=vocab.FOLLOW_UP,
        PATIENT_TOLD=vocab.PATIENT_TOLD,
        role_words=vocab.role_words,
        cwt=cwt_intervals,
        css=CSS,
    )
    return env


def html(template: str, **context: Any) -> str:
    """The document to print from the browser (its styles from /static: the app's CSP
    forbids inline styles) or, with ``inline=True``, for WeasyPrint."""
    context.setdefault("inline", False)
    return _env().get_template(template).render(**context)


def pdf_source(render: Any, *args: Any) -> str:
    """``render(*args)`` as a standalone document (styles inline)."""
    text: str = render(*args, inline=True)
    return text


def pdf(render: Any, *args: Any) -> bytes:
    """``render(*args, inline=True)`` as an A4 PDF."""
    return html_to_pdf(render(*args, inline=True))


def premeeting_html(meeting: Any, rows: list[Row], head: Letterhead, inline: bool = False) -> str:
    return html("premeeting.html.j2", meeting=meeting, rows=rows, head=head, inline=inline)


def minutes_html(
    meeting: Any,
    rows: list[Row],
    head: Letterhead,
    attendance: list[Any],
    quorum: Quoracy,
    chosen: dict[int, list[str]],
    by: dict[int, str],
    asked: dict[int, list[str]] | None = None,
    inline: bool = False,
) -> str:
    return html(
        "minutes.html.j2",
        meeting=meeting,
        rows=rows,
        head=head,
        attendance=attendance,
        quorum=quorum,
        chosen=chosen,
        by=by,
        asked=asked or {},
        inline=inline,
    )


@dataclass
class Letter:
    """Everything an outcome letter says, ready for HTML or DOCX."""

    head: Letterhead
    today: date
    recipient: str  # "GP" or "Referrer"
    address: list[str]
    patient: Any
    meeting_date: date
    diagnosis: str
    question: str
    recommendation: list[str]
    rationale: str
    actions: list[Any]
    follow_up: str
    responsible: str
    key_worker: str
    patient_told: str
    recorded_by: str
    investigations: list[str] = field(default_factory=list)  # the investigations asked for


def letter_html(letter: Letter, inline: bool = False) -> str:
    return html("letter.html.j2", l=letter, inline=inline)


def letter_docx(letter: Letter) -> bytes:
    """The same letter as a Word document (the wording of ``letter.html.j2``)."""
    import docx

    doc = docx.Document()
    head = doc.add_paragraph()
    head.add_run(letter.head.name).bold = True
    for line in [*letter.head.address, letter.head.phone and f"Telephone {letter.head.phone}"]:
        if line:
            doc.add_paragraph(line)
    doc.add_paragraph(vocab.uk_date(letter.today))
    doc.add_paragraph("\n".join([letter.recipient, *letter.address]))
    p = letter.patient
    doc.add_paragraph(
        f"Re: {p.name}, born {vocab.uk_date(p.date_of_birth)}, NHS number "
        f"{vocab.nhs_number_words(p.nhs_number)}, hospital number {p.hospital_number or 'none'}"
    ).runs[0].bold = True
    doc.add_paragraph(
        f"Your patient was discussed at the neuroendocrine tumour MDT meeting on "
        f"{vocab.uk_date(letter.meeting_date)}."
    )
    for title, body in _sections(letter):
        doc.add_heading(title, level=2)
        for line in body:
            doc.add_paragraph(line)
    doc.add_paragraph("Yours sincerely,")
    doc.add_paragraph(letter.responsible or "The NET MDT")
    if letter.head.coordinator:
        doc.add_paragraph(f"MDT coordinator: {letter.head.coordinator}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _sections(letter: Letter) -> list[tuple[str, list[str]]]:
    actions = [
        f"{a.what} (owner: {a.owner}"
        + (f", by {vocab.uk_date(a.due_on)}" if a.due_on else "")
        + (", done" if a.done else "")
        + ")"
        for a in letter.actions
    ]
    return [
        ("Diagnosis", [letter.diagnosis]),
        ("Question for the MDT", [letter.question or "Not recorded"]),
        (
            "The MDT's recommendation",
            letter.recommendation or ["Investigate further and discuss again"],
        ),
        ("Rationale", [letter.rationale]),
        *([("Investigations requested", letter.investigations)] if letter.investigations else []),
        ("Actions", actions or ["None recorded"]),
        ("Follow-up", [letter.follow_up or "Not recorded"]),
        (
            "Contacts",
            [
                f"Responsible clinician: {letter.responsible or 'not recorded'}",
                f"Key worker: {letter.key_worker or 'not recorded'}",
                f"The patient has been told the outcome: {letter.patient_told}",
            ],
        ),
    ]
