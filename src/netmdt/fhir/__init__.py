"""The FHIR edge: FHIR R4 / mCODE resources -> a Case (with provenance); Assessment -> FHIR.

>>> from netmdt.fhir import import_fhir
>>> result = import_fhir("bundle.json", assessed_on=date(2026, 11, 27))
>>> result.case, result.report.unknown
"""

from netmdt.fhir.importer import import_fhir
from netmdt.fhir.report import Fact, ImportReport, ImportResult, Unmapped

__all__ = ["Fact", "ImportReport", "ImportResult", "Unmapped", "import_fhir"]
