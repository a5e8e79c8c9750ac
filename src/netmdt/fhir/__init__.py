"""The FHIR edge: FHIR R4 / mCODE resources -> a Case (with provenance); Assessment -> FHIR.

>>> from netmdt.fhir import import_fhir, to_fhir
>>> result = import_fhir("bundle.json", assessed_on=date(2026, 11, 27))
>>> result.case, result.report.unknown
>>> bundle = to_fhir(assess(result.case), result.case)
"""

from netmdt.errors import FhirError
from netmdt.fhir.importer import import_fhir
from netmdt.fhir.output import to_fhir
from netmdt.fhir.report import Fact, ImportReport, ImportResult, Unmapped

__all__ = [
    "Fact",
    "FhirError",
    "ImportReport",
    "ImportResult",
    "Unmapped",
    "import_fhir",
    "to_fhir",
]
