"""The prospective PRRT audit registry: the centre's registry status (read by the
engine's funding note), enrolment from an MDT decision, cycles, CTCAE-graded toxicity,
RECIST 1.1 response, follow-up, the audit report and REDCap export (docs/registry.md)."""
