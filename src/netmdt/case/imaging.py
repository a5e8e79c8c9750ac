"""The ``imaging`` section: somatostatin-receptor, mIBG and FDG imaging."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from netmdt.case._base import IsoDate, Section

SstrModality = Literal["ga68_dotatate_pet", "ga68_dotatoc_pet", "cu64_dotatate_pet", "octreoscan"]
Uptake = Literal["above", "equal", "below"]


class Sstr(Section):
    modality: SstrModality | None = None
    positive: bool | None = None
    uptake_vs_liver: Uptake | None = None
    all_lesions_avid: bool | None = None
    krenning_score: int | None = Field(default=None, ge=0, le=4)
    date: IsoDate | None = None


class Mibg(Section):
    positive: bool | None = None
    all_lesions_avid: bool | None = None
    date: IsoDate | None = None


class FdgPet(Section):
    positive: bool | None = None
    sstr_negative_lesions: bool | None = None


class Imaging(Section):
    sstr: Sstr | None = None
    mibg: Mibg | None = None
    fdg_pet: FdgPet | None = None
    lung_shunt_percent: Annotated[float, Field(ge=0, le=100)] | None = None  # v1.1: Tc-99m MAA
