"""The case model: one patient's facts at one point in time (case format v1)."""

from netmdt.case.derived import Derived
from netmdt.case.load import load_case, parse_case, parse_case_json
from netmdt.case.model import CASE_FORMAT_VERSION, Case

__all__ = ["CASE_FORMAT_VERSION", "Case", "Derived", "load_case", "parse_case", "parse_case_json"]
