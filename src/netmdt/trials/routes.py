"""The trials API: the cards (``GET /api/trials``) and a stored case's trial matches
(``GET /api/cases/{case_id}/trials``, audited). The case page's trials panel is a
template of this package (``trials_panel.html``), included by ``case.html``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from netmdt.api.deps import CareTeam, DbDep, Id, StateDep
from netmdt.assessment import TrialMatch
from netmdt.store import services as svc
from netmdt.trials.cli import card_summary
from netmdt.trials.match import Local
from netmdt.web.common import add_templates

add_templates(Path(__file__).parent / "templates")

router = APIRouter(prefix="/api", tags=["trials"])


@router.get("/trials")
def list_trials(state: StateDep, actor: CareTeam) -> list[dict[str, Any]]:
    """Every trial card: ids, title, phases, status, verification date, open."""
    kb = state.kb
    local = kb.trials_local or Local()
    return [card_summary(t, local, date.today()) for t in kb.trials.values()]


@router.get("/cases/{case_id}/trials", response_model=list[TrialMatch])
def case_trials(db: DbDep, state: StateDep, actor: CareTeam, case_id: Id) -> list[TrialMatch]:
    """The stored case's trial matches (its current assessment's ``trials``), audited."""
    _, assessment, assessment_id = svc.current_assessment(db, actor, state.kb, case_id)
    svc.audit(
        db,
        actor,
        "trials_match",
        "assessment",
        assessment_id,
        case=case_id,
        trials=len(assessment.trials),
    )
    db.commit()
    return list(assessment.trials)
