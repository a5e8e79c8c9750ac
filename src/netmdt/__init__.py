"""netmdt: decision support for the neuroendocrine tumour (NET) multidisciplinary team meeting.

>>> from netmdt import assess, load_case
>>> assessment = assess(load_case("case.yaml"))
>>> summary = assess_summary(load_case("case.yaml"))  # verdicts only: docs/views.md
"""

from netmdt.assessment import Assessment, AssessmentSummary
from netmdt.case import Case, load_case, parse_case
from netmdt.engine.assess import assess, assess_summary
from netmdt.errors import (
    CaseError,
    CaseFileError,
    CaseValidationError,
    KnowledgeBaseError,
    NetmdtError,
)
from netmdt.kb import KnowledgeBase, load_kb

__all__ = [
    "Assessment",
    "AssessmentSummary",
    "Case",
    "CaseError",
    "CaseFileError",
    "CaseValidationError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "NetmdtError",
    "assess",
    "assess_summary",
    "load_case",
    "load_kb",
    "parse_case",
]
__version__ = "0.1.0"
