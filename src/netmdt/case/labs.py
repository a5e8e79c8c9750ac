"""The ``labs`` section: blood results, each in the unit its name gives."""

from __future__ import annotations

from typing import Literal

from netmdt.case._base import IsoDate, NonNegative, Section


class Labs(Section):
    egfr_ml_min: NonNegative | None = None
    creatinine_clearance_ml_min: NonNegative | None = None
    bilirubin_x_uln: NonNegative | None = None
    albumin_g_l: NonNegative | None = None
    haemoglobin_g_l: NonNegative | None = None
    platelets_10e9_l: NonNegative | None = None
    wbc_10e9_l: NonNegative | None = None
    neutrophils_10e9_l: NonNegative | None = None
    bilirubin_umol_l: NonNegative | None = None
    alt_x_uln: NonNegative | None = None
    inr: NonNegative | None = None
    nt_probnp_ng_l: NonNegative | None = None
    u5hiaa_umol_24h: NonNegative | None = None
    pregnancy_test: Literal["negative", "positive"] | None = None  # v1.1
    date: IsoDate | None = None
