"""The patient survey of somatostatin-analogue injections (issue #14): one definition,
three export formats, one-time links for patients, a dashboard for the service and an
information-only flag for the MDT. docs/survey.md."""
