"""The case narrative: the free text a coordinator enters beside the facts (clinical
history, pathology and radiology report excerpts, the question for the MDT). Stored in
versions, audited, shown to the MDT; never read by the engine (the facts are)."""

from netmdt.narrative.service import (
    NARRATIVE_FIELDS,
    Narrative,
    check_narrative,
    get_narrative,
    narrative_from_form,
    save_narrative,
)

__all__ = [
    "NARRATIVE_FIELDS",
    "Narrative",
    "check_narrative",
    "get_narrative",
    "narrative_from_form",
    "save_narrative",
]
