"""The overdue list: 2-week bloods on day 15 after a cycle with no results; the scan
schedule stops at progression; nothing after death."""

from __future__ import annotations

from datetime import timedelta

from netmdt.registry import schemas as rs
from netmdt.registry import service as reg
from netmdt.store.services import Actor
from tests.registry.test_api import TODAY, enrolled
from tests.webapp import Harness

CLINICIAN = Actor("clinician", frozenset({"clinician"}))


def test_overdue_bloods_scans_and_follow_up(sqlite_web: Harness) -> None:
    rid = enrolled(sqlite_web)
    cycle = TODAY - timedelta(days=100)
    with sqlite_web.app.state.netmdt.sessions() as db:

        def due(day: int) -> list[str]:
            items = reg.overdue(db, "test", cycle + timedelta(days=day))
            return [i["what"] for i in items if i["enrolment"] == rid]

        reg.add_cycle(
            db,
            CLINICIAN,
            rid,
            rs.CycleIn(given_on=cycle, prescribed_gbq=7.4, administered_gbq=7.4),
            today=TODAY,
        )
        assert due(14) == []
        assert due(15) == ["2-week bloods after cycle 1"]
        reg.add_labs(
            db,
            CLINICIAN,
            rid,
            rs.LabsIn(
                taken_on=cycle + timedelta(days=13),
                results={"platelets_10e9_l": rs.LabValue(value=200, lln=150)},
            ),
            today=TODAY,
        )
        assert due(15) == []
        assert due(43) == ["6-week bloods after cycle 1"]
        reg.add_labs(
            db,
            CLINICIAN,
            rid,
            rs.LabsIn(
                taken_on=cycle + timedelta(days=41),
                results={"platelets_10e9_l": rs.LabValue(value=200, lln=150)},
            ),
            today=TODAY,
        )
        assert due(92) == [
            "restaging scan (every 3 months)",
            "follow-up contact (every 3 months)",  # none since the enrolment
        ]
        reg.update_follow_up(
            db,
            CLINICIAN,
            rid,
            rs.FollowUpIn(
                progression_date=cycle + timedelta(days=80), last_contact=cycle + timedelta(days=90)
            ),
            today=TODAY,
        )
        assert due(92) == []  # the scan schedule stops at progression
        assert due(182) == ["follow-up contact (every 3 months)"]
        reg.update_follow_up(
            db, CLINICIAN, rid, rs.FollowUpIn(death_date=cycle + timedelta(days=95)), today=TODAY
        )
        assert due(400) == []
