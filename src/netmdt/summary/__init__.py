"""The plain-language patient summary of one assessment: HTML, PDF and its prose as text.

>>> summary = build_summary(assessment, kb, patient_name="...", decision=DecisionInfo(...))
>>> html, pdf = summary_html(summary), summary_pdf(summary)
"""

from netmdt.summary.build import build_summary
from netmdt.summary.model import DecisionInfo, PatientIdentifiers, PatientSummary
from netmdt.summary.render import summary_html, summary_pdf, summary_text

__all__ = [
    "DecisionInfo",
    "PatientIdentifiers",
    "PatientSummary",
    "build_summary",
    "summary_html",
    "summary_pdf",
    "summary_text",
]
