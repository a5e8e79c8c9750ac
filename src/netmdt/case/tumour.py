"""The ``tumour`` section: type, site, grade, proliferation, function, pathology."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from netmdt.case._base import IsoDate, NonNegative, Percent, Positive, Section

TumourType = Literal[
    "net", "nec", "minen", "paraganglioma", "phaeochromocytoma", "medullary_thyroid_carcinoma"
]
PrimarySite = Literal[
    "pancreas",
    "stomach",
    "duodenum",
    "jejunum_ileum",
    "appendix",
    "colon",
    "rectum",
    "lung",
    "thymus",
    "unknown",
    "other",
]
Grade = Literal["G1", "G2", "G3"]
FunctionalSyndrome = Literal[
    "none",
    "carcinoid_syndrome",
    "insulinoma",
    "gastrinoma",
    "glucagonoma",
    "vipoma",
    "catecholamine_excess",  # v1.1: secreting phaeochromocytoma / paraganglioma
    "ectopic_acth",  # v1.1: ectopic ACTH (Cushing's syndrome)
    "other",
]
HereditarySyndrome = Literal["none", "men1", "men2", "vhl", "nf1", "tsc", "sdhx", "other"]
LungSubtype = Literal["typical_carcinoid", "atypical_carcinoid", "lcnec", "sclc"]
NecSubtype = Literal["small_cell", "large_cell"]
Depth = Literal["mucosa", "submucosa", "muscularis_propria", "subserosa", "serosa"]
Margin = Literal["r0", "r1", "r2"]
ColonSegment = Literal["caecum", "ascending", "transverse", "descending", "sigmoid"]
DuodenalLocation = Literal["ampullary", "non_ampullary"]  # ampullary includes periampullary
AppendixLocation = Literal["tip", "body", "base"]


class Tumour(Section):
    type: TumourType | None = None
    primary_site: PrimarySite | None = None
    grade: Grade | None = None
    ki67_percent: Percent | None = None
    functional_syndrome: list[FunctionalSyndrome] | None = None
    symptoms_controlled: bool | None = None
    hereditary_syndrome: HereditarySyndrome | None = None
    mitotic_count_per_2mm2: NonNegative | None = None
    lung_subtype: LungSubtype | None = None
    nec_subtype: NecSubtype | None = None
    primary_size_cm: Positive | None = None
    depth_of_invasion: Depth | None = None
    lymphovascular_invasion: bool | None = None
    resection_margin: Margin | None = None
    gastric_type: Literal[1, 2, 3] | None = None
    colon_segment: ColonSegment | None = None
    multifocal: bool | None = None
    bowel_movements_per_day: NonNegative | None = Field(default=None)
    # case format v1.1
    duodenal_location: DuodenalLocation | None = None
    appendix_location: AppendixLocation | None = None
    mesoappendiceal_invasion_mm: NonNegative | None = None  # 0 = no mesoappendiceal invasion
    # trials (issue 12): date of the histological diagnosis ("newly diagnosed within 6 months")
    diagnosis_date: IsoDate | None = None
