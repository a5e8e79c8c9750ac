"""The survey definition: a subset of FHIR R4 Questionnaire, loaded from the package's
YAML (one file per survey). Item types, operators and names are limited to what FHIR,
REDCap and XLSForm all express, so the three exports say the same thing."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[a-z][a-z0-9_]{0,25}$"  # a REDCap variable and an XLSForm name too
ItemType = Literal["boolean", "integer", "decimal", "string", "text", "choice"]
Operator = Literal["=", "!=", ">", "<", "exists"]
Answer = bool | int | float | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    code: str = Field(pattern=r"^[0-9]{1,3}$")  # digits: REDCap's "code, label" and XLSForm
    display: str


class EnableWhen(_Strict):
    question: str = Field(pattern=NAME)
    operator: Operator
    answer: Answer


class Item(_Strict):
    linkId: str = Field(pattern=NAME)
    type: ItemType
    text: str
    required: bool = False
    answerOption: tuple[Option, ...] = ()
    enableWhen: tuple[EnableWhen, ...] = ()
    enableBehavior: Literal["all", "any"] = "all"
    minValue: float | None = None
    maxValue: float | None = None
    maxLength: int | None = None
    rationale: str
    cites: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _choices(self) -> Item:
        if (self.type == "choice") != bool(self.answerOption):
            raise ValueError(f"{self.linkId}: answerOption is for (and required by) choice items")
        return self


class Page(_Strict):
    linkId: str = Field(pattern=NAME)
    text: str
    item: tuple[Item, ...] = Field(min_length=1)


class Licensed(_Strict):
    id: str
    name: str
    licence_required: Literal[True]


class Survey(_Strict):
    id: str = Field(pattern=NAME)
    url: str
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")
    title: str
    status: Literal["draft", "active", "retired"]
    description: str
    sources: dict[str, str]
    pages: tuple[Page, ...]
    licensed_instruments: tuple[Licensed, ...] = ()

    @property
    def canonical(self) -> str:
        """The Questionnaire canonical with its version (what a response is pinned to)."""
        return f"{self.url}|{self.version}"

    def items(self) -> list[Item]:
        return [item for page in self.pages for item in page.item]

    def item(self, link_id: str) -> Item:
        for item in self.items():
            if item.linkId == link_id:
                return item
        raise KeyError(link_id)

    @model_validator(mode="after")
    def _consistent(self) -> Survey:
        seen: dict[str, Item] = {}
        for page in self.pages:
            if page.linkId in seen:
                raise ValueError(f"linkId {page.linkId} is used twice")
            for item in page.item:
                if item.linkId in seen:
                    raise ValueError(f"linkId {item.linkId} is used twice")
                for cite in item.cites:
                    if cite not in self.sources:
                        raise ValueError(f"{item.linkId}: cites unknown source {cite}")
                for cond in item.enableWhen:
                    if cond.question not in seen:
                        raise ValueError(
                            f"{item.linkId}: enableWhen names {cond.question}, which is not "
                            "an earlier question"
                        )
                    _check_answer(item.linkId, seen[cond.question], cond)
                seen[item.linkId] = item
        return self


def _check_answer(where: str, target: Item, cond: EnableWhen) -> None:
    """The condition's answer has the type of the question it looks at."""
    kinds: dict[str, tuple[type, ...]] = {
        "boolean": (bool,),
        "integer": (int,),
        "decimal": (int, float),
        "choice": (str,),
    }
    allowed = kinds.get(target.type)
    if cond.operator == "exists":
        if not isinstance(cond.answer, bool):
            raise ValueError(f"{where}: 'exists' takes true or false")
        return
    if (
        allowed is None
        or not isinstance(cond.answer, allowed)
        or (target.type != "boolean" and isinstance(cond.answer, bool))
    ):
        raise ValueError(
            f"{where}: a {target.type} question cannot be compared with {cond.answer!r}"
        )
    if target.type == "boolean" and cond.operator not in ("=", "!="):
        raise ValueError(f"{where}: a yes/no question takes only = or !=")
    if target.type == "choice":
        if cond.operator not in ("=", "!="):
            raise ValueError(f"{where}: a choice question takes only = or !=")
        if cond.answer not in {o.code for o in target.answerOption}:
            raise ValueError(f"{where}: {cond.answer!r} is not a code of {target.linkId}")


SURVEYS = ("ssa_injection",)


@cache
def load_survey(survey_id: str = "ssa_injection") -> Survey:
    """The packaged definition of ``survey_id`` (KeyError naming the known ones)."""
    if survey_id not in SURVEYS:
        raise KeyError(f"survey {survey_id!r}: known surveys are {', '.join(SURVEYS)}")
    raw = yaml.safe_load(files("netmdt.survey").joinpath(f"{survey_id}.yaml").read_text())
    return Survey.model_validate(raw)
