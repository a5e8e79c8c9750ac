"""What an import found, used, lost and left unknown: the provenance of every fact."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from netmdt.case import Case


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Model):
    """One case fact and where it came from.

    ``field`` is the case field path (``labs.egfr_ml_min``); ``element`` the FHIR element
    the value was read from (``Observation.valueQuantity``); ``date`` the date the fact
    refers to (effective, onset, performed or authored date), when the resource has one.
    """

    field: str
    value: Any
    resource_type: str
    resource_id: str | None
    element: str
    date: dt.date | None = None
    note: str | None = None


class Unmapped(_Model):
    """A resource (or a code in it) that gave no fact, and why."""

    resource_type: str
    resource_id: str | None
    element: str
    code: str | None
    reason: str


class ImportReport(_Model):
    """Every fact used (with provenance), every older value set aside, everything unmapped,
    every case field left unknown, and warnings about the input itself. ``deceased``: the
    Patient is recorded as deceased (``deceasedBoolean`` true or a ``deceasedDateTime``).
    ``neuroendocrine``: a Condition says the patient has a neuroendocrine neoplasm (a
    tumour fact read from a Condition: a NEN diagnosis or a NEN hormone syndrome)."""

    facts: list[Fact]
    superseded: list[Fact]
    unmapped: list[Unmapped]
    unknown: list[str]
    warnings: list[str]
    resources: dict[str, int]
    deceased: bool = False

    @property
    def neuroendocrine(self) -> bool:
        return any(
            f.resource_type == "Condition" and f.field.startswith("tumour.") for f in self.facts
        )

    def text(self) -> str:
        """The report as plain text, one line per item (for the CLI's ``--report``)."""
        lines = [f"resources read: {_counts(self.resources)}", f"facts used ({len(self.facts)}):"]
        lines += [f"  {f.field} = {_show(f.value)}  <- {_where(f)}" for f in self.facts]
        if self.superseded:
            lines.append(f"older values set aside ({len(self.superseded)}):")
            lines += [f"  {f.field} = {_show(f.value)}  <- {_where(f)}" for f in self.superseded]
        lines.append(f"not mapped ({len(self.unmapped)}):")
        lines += [
            f"  {u.resource_type}/{u.resource_id or '?'} {u.element}"
            + (f" [{u.code}]" if u.code else "")
            + f": {u.reason}"
            for u in self.unmapped
        ]
        lines.append(f"left unknown ({len(self.unknown)}): {', '.join(self.unknown)}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


class ImportResult(_Model):
    """The case built from FHIR resources, and the report of how."""

    case: Case
    report: ImportReport


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "none"


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else repr(value)


def _where(f: Fact) -> str:
    day = f" ({f.date})" if f.date else ""
    note = f"; {f.note}" if f.note else ""
    return f"{f.resource_type}/{f.resource_id or '?'} {f.element}{day}{note}"
