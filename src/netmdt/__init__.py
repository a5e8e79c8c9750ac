"""netmdt: decision support for the neuroendocrine tumour (NET) multidisciplinary team meeting.

>>> from netmdt import assess, load_case
>>> assessment = assess(load_case("case.yaml"))
"""

from netmdt.assessment import Assessment
from netmdt.case import Case, load_case, parse_case
from netmdt.engine.assess import assess
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
    "Case",
    "CaseError",
    "CaseFileError",
    "CaseValidationError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "NetmdtError",
    "assess",
    "load_case",
    "load_kb",
    "parse_case",
]
__version__ = "0.1.0"
