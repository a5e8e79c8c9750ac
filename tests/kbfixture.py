"""A test knowledge base that uses the ``before_treatment`` group.

The bundled option files are the clinical engineers' to change; to exercise the group
before they do, the tests use a copy of the bundled knowledge base in which every
requirement that reads blood results only (``labs.*``) is a ``before_treatment`` check.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path

import yaml

from netmdt import KnowledgeBase, load_kb
from netmdt.kb import default_kb_path

GROUP_REASON = "routine blood test checked by the treating team"


def move_lab_requirements(root: Path) -> None:
    """In a knowledge-base copy at ``root``: move every requirement that reads blood
    results only (``labs.*``) into ``before_treatment``."""
    for path in sorted((root / "options").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        moved = [
            c
            for c in data.get("requirements") or []
            if c["reads"] and all(r.startswith("labs.") for r in c["reads"])
        ]
        if not moved:
            continue
        data["requirements"] = [c for c in data["requirements"] if c not in moved]
        data["before_treatment"] = [
            *(data.get("before_treatment") or []),
            *({**c, "group_reason": GROUP_REASON} for c in moved),
        ]
        path.write_text(yaml.safe_dump(data, sort_keys=False))


@cache
def before_treatment_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="netmdt-bt-")) / "kb"
    shutil.copytree(default_kb_path(), root)
    move_lab_requirements(root)
    return root


@cache
def before_treatment_kb() -> KnowledgeBase:
    return load_kb(before_treatment_root())


# Criteria over every case field the bundled knowledge base does not read, so that a
# query reads more than 63 fields (two missing-fact mask words). Not clinical rules:
# test fixtures of the SQL compilation, spread over three groups and two options.
WIDE_CRITERIA: dict[str, list[tuple[str, str]]] = {
    "requirements": [
        ("imaging.lung_shunt_percent", "imaging.lung_shunt_percent < 20"),
        ("performance.child_pugh", "performance.child_pugh in [A, B]"),
    ],
    "recommend_when": [
        ("context.wishes_supportive_care_only", "context.wishes_supportive_care_only == false"),
        ("disease.bone_metastases_symptomatic", "disease.bone_metastases_symptomatic == true"),
        ("disease.chd_valve_severity", "disease.chd_valve_severity != severe"),
        ("disease.liver_metastases.bilobar", "disease.liver_metastases.bilobar == true"),
        ("disease.measurable_recist", "disease.measurable_recist == true"),
        ("disease.oligometastatic", "disease.oligometastatic == false"),
        ("disease.residual_disease", "disease.residual_disease == true"),
        ("disease.spinal_cord_compression", "disease.spinal_cord_compression == false"),
        ("history.primary_resection_date", "months_since(history.primary_resection_date) > 6"),
        ("history.prior_liver_directed_therapy", "history.prior_liver_directed_therapy is empty"),
        ("imaging.mibg.date", "months_since(imaging.mibg.date) <= 12"),
        ("imaging.sstr.date", "months_since(imaging.sstr.date) <= 6"),
        ("imaging.sstr.modality", "imaging.sstr.modality != octreoscan"),
        ("tumour.appendix_location", "tumour.appendix_location in [tip, body]"),
        ("tumour.duodenal_location", "tumour.duodenal_location == non_ampullary"),
        ("tumour.mesoappendiceal_invasion_mm", "tumour.mesoappendiceal_invasion_mm <= 3"),
    ],
    "before_treatment": [  # the tumour fields are in the second mask word
        ("tumour.lymphovascular_invasion", "tumour.lymphovascular_invasion == false"),
        ("tumour.multifocal", "tumour.multifocal == false"),
        ("history.alpha_blockade_established", "history.alpha_blockade_established == true"),
        ("labs.bilirubin_umol_l", "labs.bilirubin_umol_l < 34"),
        ("labs.date", "months_since(labs.date) <= 1"),
        ("labs.nt_probnp_ng_l", "labs.nt_probnp_ng_l < 400"),
        ("labs.pregnancy_test", "labs.pregnancy_test == negative"),
        ("labs.u5hiaa_umol_24h", "labs.u5hiaa_umol_24h < 100"),
        (
            "performance.can_isolate_after_radionuclide",
            "performance.can_isolate_after_radionuclide == true",
        ),
    ],
}


def add_wide_criteria(root: Path, options: tuple[str, ...] = ("everolimus", "sunitinib")) -> None:
    """Add ``WIDE_CRITERIA`` to the given option files of the copy at ``root``."""
    for option in options:
        path = root / "options" / f"{option}.yaml"
        data = yaml.safe_load(path.read_text())
        source = data["requirements"][0]["sources"][0]
        for group, criteria in WIDE_CRITERIA.items():
            data[group] = [
                *(data.get(group) or []),
                *(
                    {
                        "id": "wide_" + field.replace(".", "_"),
                        "text": f"test criterion over {{field:{field}}}",
                        "when": when,
                        "reads": [field],
                        "sources": [source],
                        "evidence": "V",
                        "group_reason": "a test fixture of the SQL compilation",
                    }
                    for field, when in criteria
                ),
            ]
        path.write_text(yaml.safe_dump(data, sort_keys=False))


@cache
def wide_kb() -> KnowledgeBase:
    """The before_treatment test knowledge base, reading more than 63 case fields."""
    root = Path(tempfile.mkdtemp(prefix="netmdt-wide-")) / "kb"
    shutil.copytree(before_treatment_root(), root)
    add_wide_criteria(root)
    return load_kb(root)
