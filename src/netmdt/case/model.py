"""The case: what the engine is given about one patient at one point in time.

Every field is optional; absent (or ``null``) means *unknown*, never "no".
Field names follow the case-format contract (``shared/spec/case-format.md``, v1).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from netmdt.case._base import IsoDate
from netmdt.case.context import Context
from netmdt.case.derived import Derived, derive
from netmdt.case.disease import Disease
from netmdt.case.history import History
from netmdt.case.imaging import Imaging
from netmdt.case.labs import Labs
from netmdt.case.performance import Performance
from netmdt.case.tumour import Tumour

CASE_FORMAT_VERSION = 1


class Case(BaseModel):
    """One patient's facts (case format v1). Strict: no coercion, no unknown keys."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    id: str | None = Field(default=None, max_length=200)
    assessed_on: IsoDate | None = None
    age_years: Annotated[int, Field(ge=0, le=120)] | None = None
    sex: Literal["female", "male", "other"] | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    tumour: Tumour | None = None
    disease: Disease | None = None
    imaging: Imaging | None = None
    labs: Labs | None = None
    performance: Performance | None = None
    history: History | None = None
    context: Context | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        problems = [*self._dates_after_assessment(), *self._none_with_others()]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _dates_after_assessment(self) -> Iterator[str]:
        if self.assessed_on is None:
            return
        for path, value in iter_dates(self):
            if value > self.assessed_on:
                yield f"{path} ({value}) is after assessed_on ({self.assessed_on})"

    def _none_with_others(self) -> Iterator[str]:
        syndromes = self.tumour.functional_syndrome if self.tumour else None
        if syndromes and "none" in syndromes and len(set(syndromes)) > 1:
            yield "tumour.functional_syndrome: 'none' cannot be combined with a syndrome"

    @property
    def derived(self) -> Derived:
        """Facts derived from this case, computed once (see ``netmdt.case.derived``).

        Kept in the instance ``__dict__`` (as ``functools.cached_property`` would, without
        its lock: on Python 3.11 one lock shared by every case); ``setdefault`` keeps one
        answer per case even when two threads derive it at once.
        """
        found: Derived | None = self.__dict__.get("derived")
        if found is None:
            found = self.__dict__.setdefault("derived", derive(self))
        return found

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Case:
        """As pydantic's, without this case's derived facts: pydantic copies the instance
        ``__dict__``, where ``derived`` keeps them, so a copy with other facts would keep
        facts derived from the old ones (a grade changed, the old effective grade). The
        copy derives its own on first use."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("derived", None)
        return copied


def iter_dates(case: Case) -> Iterator[tuple[str, date]]:
    """Every recorded date of a case, with its field path."""
    dated: list[tuple[str, Any]] = []
    if case.disease:
        dated += [
            ("disease.progression_date", case.disease.progression_date),
            ("disease.stable_since", case.disease.stable_since),
        ]
    if case.imaging:
        if case.imaging.sstr:
            dated.append(("imaging.sstr.date", case.imaging.sstr.date))
        if case.imaging.mibg:
            dated.append(("imaging.mibg.date", case.imaging.mibg.date))
    if case.labs:
        dated.append(("labs.date", case.labs.date))
    if case.history:
        dated.append(("history.primary_resection_date", case.history.primary_resection_date))
        for i, t in enumerate(case.history.prior_treatments or []):
            dated += [
                (f"history.prior_treatments.{i}.start", t.start),
                (f"history.prior_treatments.{i}.end", t.end),
            ]
    for path, value in dated:
        if value is not None:
            yield path, value
