"""Clinical-trial matching: trial cards as data, ClinicalTrials.gov import and refresh,
matching in the rule language (docs/trials.md)."""
