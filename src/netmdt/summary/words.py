"""The patient summary's own words: plain option names, what each verdict means to a patient,
what each missing fact means and how it is found out, who pays, and the glossary.

The knowledge base holds each option's patient text (``patient:`` in its file); this module
holds the words that belong to the summary itself. Tests check that every option, verdict,
funding pathway and case field has plain words here, so nothing falls through as jargon.
"""

from __future__ import annotations

import re
from typing import Final

from netmdt.summary.model import OtherReason

# Plain names, used in headings and lists (the knowledge base's names are for clinicians).
OPTION_NAMES: Final[dict[str, str]] = {
    "surgery_curative": "An operation to remove all of the tumour",
    "surgery_debulking": "An operation to remove most of the tumour",
    "endoscopic_resection": "Removing the tumour with an endoscope (a camera tube)",
    "active_surveillance": "Regular check-ups, with treatment only if needed (active surveillance)",
    "ssa_short_acting": "Short-acting octreotide injections",
    "ssa_long_acting": "Monthly somatostatin injections (octreotide or lanreotide)",
    "telotristat": "Telotristat tablets for diarrhoea",
    "interferon_alpha": "Interferon injections",
    "chemotherapy": "Chemotherapy",
    "everolimus": "Everolimus tablets",
    "sunitinib": "Sunitinib capsules",
    "prrt_lu177_dotatate": "Radiation treatment that targets the tumour: Lu-177 PRRT (Lutathera)",
    "prrt_y90_dotatoc": "Radiation treatment that targets the tumour: Y-90 PRRT",
    "mibg_i131": "Radiation treatment that targets the tumour: I-131 MIBG",
    "liver_embolisation": "Blocking the blood supply to tumours in the liver (embolisation)",
    "thermal_ablation": "Destroying tumours in the liver with heat (ablation)",
    "liver_transplant": "A liver transplant",
    "clinical_trial": "Taking part in a research study (a clinical trial)",
    # case format v1.1
    "cabozantinib": "Cabozantinib tablets",
    "best_supportive_care": "Care that keeps you comfortable, without treating the tumour itself",
    "hormone_syndrome_control": "Medicines to control the hormones the tumour makes",
    "sirt": "Tiny radioactive beads put into the blood supply of the liver (SIRT)",
    "palliative_radiotherapy": "Radiotherapy to ease symptoms or treat a few tumour spots",
}

# Short names, for lists of options inside a sentence.
SHORT_NAMES: Final[dict[str, str]] = {
    "surgery_curative": "surgery to remove the tumour",
    "surgery_debulking": "surgery to remove most of the tumour",
    "endoscopic_resection": "endoscopic removal",
    "active_surveillance": "active surveillance",
    "ssa_short_acting": "short-acting octreotide",
    "ssa_long_acting": "monthly somatostatin injections",
    "telotristat": "telotristat",
    "interferon_alpha": "interferon",
    "chemotherapy": "chemotherapy",
    "everolimus": "everolimus",
    "sunitinib": "sunitinib",
    "prrt_lu177_dotatate": "Lu-177 PRRT",
    "prrt_y90_dotatoc": "Y-90 PRRT",
    "mibg_i131": "I-131 MIBG",
    "liver_embolisation": "embolisation",
    "thermal_ablation": "ablation",
    "liver_transplant": "a liver transplant",
    "clinical_trial": "a clinical trial",
    "cabozantinib": "cabozantinib",
    "best_supportive_care": "supportive care",
    "hormone_syndrome_control": "hormone control",
    "sirt": "SIRT",
    "palliative_radiotherapy": "radiotherapy",
}

STANDING: Final[dict[str, str]] = {
    "chosen": "Your team chose this at the MDT meeting.",
    "recommended": "netmdt's guide says this fits your situation well.",
    "consider": "netmdt's guide says this may fit. It is worth talking about with your team.",
}

# Why an option is only listed by name: a heading, then what it means. Never a verdict word
# without its plain meaning.
OTHER_REASON: Final[dict[str, tuple[str, str]]] = {
    "more_tests": (
        "More tests needed first",
        "Your team needs more facts before they can say if these would suit you.",
    ),
    "not_safe": (
        "Not safe for you now",
        "Something about your health means these could do you harm at the moment. Doctors call "
        "this contraindicated.",
    ),
    "not_suitable": (
        "Not suitable now",
        "These do not fit your type of tumour or your situation at the moment, or another "
        "treatment would suit you better.",
    ),
}
VERDICT_REASON: Final[dict[str, OtherReason]] = {
    "not_recommended": "not_suitable",
    "contraindicated": "not_safe",
    "insufficient_information": "more_tests",
}

FUNDING: Final[dict[str, str | None]] = {
    "nhs_commissioned": "The NHS in England normally pays for this.",
    "not_routinely_commissioned": "The NHS in England does not normally pay for this. Your team "
    "can ask for funding for you.",
    "audit_registry": "In England this is only given as part of a national study that collects "
    "results (a registry).",
    "trial_only": "This is only given as part of a research study.",
    "not_applicable": None,
    "unknown": None,
}
REGISTRY_ON_HOLD: Final = "This study is paused at the moment."

# What a missing fact means to a patient, by case-field prefix (first match wins).
NEXT_STEPS: Final[tuple[tuple[str, str], ...]] = (
    (
        "imaging.sstr",
        "A special scan (such as a Ga-68 DOTATATE PET scan) to see if your tumour "
        "has somatostatin docking points. Some treatments only work if it does.",
    ),
    ("imaging.mibg", "A scan with a small amount of MIBG, to see if your tumour takes it up."),
    ("imaging.fdg_pet", "An FDG PET scan. It shows any parts of the tumour that grow fast."),
    (
        "disease.progression",
        "Comparing scans taken a few months apart, to see if the tumour is growing.",
    ),
    (
        "disease.stable_since",
        "Comparing scans taken a few months apart, to see if the tumour is growing.",
    ),
    (
        "disease.measurable_recist",
        "Comparing scans taken a few months apart, to see if the tumour is growing.",
    ),
    (
        "disease.resectable_for_cure",
        "A surgeon looks at your scans to judge how much of the tumour an operation could remove.",
    ),
    (
        "disease.liver_resectable",
        "A surgeon looks at your scans to judge how much of the tumour an operation could remove.",
    ),
    (
        "disease.debulkable_percent",
        "A surgeon looks at your scans to judge how much of the tumour an operation could remove.",
    ),
    (
        "disease.liver_metastases",
        "A scan of your liver (MRI or CT) to count and measure any tumours there.",
    ),
    (
        "disease.liver_dominant",
        "Scans to see where the tumour has spread, and how much of it is in the liver.",
    ),
    (
        "disease.extrahepatic_metastases",
        "Scans to see where the tumour has spread, and how much of it is in the liver.",
    ),
    ("disease.regional_nodes", "Scans to see if the tumour has spread to the lymph nodes nearby."),
    (
        "disease.residual_disease",
        "Scans after your operation, to see if any tumour is left.",
    ),
    (
        "disease.primary_in_situ",
        "Checking your records and scans to see if the first tumour is still there.",
    ),
    (
        "disease.bone_metastases_symptomatic",
        "Questions about pain in your bones, and perhaps a scan of the painful area.",
    ),
    (
        "disease.spinal_cord_compression",
        "An urgent MRI scan of your spine, if you have back pain with weakness or numbness.",
    ),
    (
        "disease.oligometastatic",
        "Scans to count how many places the tumour has spread to.",
    ),
    (
        "disease.chd_valve_severity",
        "A blood test and a scan of your heart (an echocardiogram) to check your heart valves.",
    ),
    (
        "disease.carcinoid_heart_disease",
        "A blood test and a scan of your heart (an echocardiogram) to check your heart valves.",
    ),
    ("disease.residual_disease", "Scans to see if any tumour is left after the operation."),
    (
        "imaging.lung_shunt_percent",
        "A scan before SIRT to see how much of the treatment could reach your lungs.",
    ),
    (
        "context.wishes_supportive_care_only",
        "Talking with you about what you want from your care.",
    ),
    (
        "labs.nt_probnp",
        "A blood test and a scan of your heart (an echocardiogram) to check your heart valves.",
    ),
    (
        "labs.u5hiaa",
        "A test of your urine, collected over 24 hours, to measure a hormone the tumour may make.",
    ),
    ("labs.pregnancy_test", "A pregnancy test."),
    ("labs.egfr", "A blood test to see how well your kidneys work."),
    ("labs.creatinine", "A blood test to see how well your kidneys work."),
    ("labs.bilirubin", "Blood tests to see how well your liver works."),
    ("labs.alt", "Blood tests to see how well your liver works."),
    ("labs.albumin", "Blood tests to see how well your liver works."),
    ("labs.inr", "A blood test to see how well your blood clots."),
    ("labs.pregnancy_test", "A pregnancy test (a urine or blood test)."),
    ("labs.", "A blood count: a blood test of your red cells, white cells and platelets."),
    ("tumour.grade", "Tests on a sample of the tumour, to see how fast its cells grow."),
    ("tumour.ki67", "Tests on a sample of the tumour, to see how fast its cells grow."),
    ("tumour.mitotic", "Tests on a sample of the tumour, to see how fast its cells grow."),
    ("tumour.type", "Tests on a sample of the tumour, to find out exactly what kind it is."),
    ("tumour.nec_subtype", "Tests on a sample of the tumour, to find out exactly what kind it is."),
    (
        "tumour.lung_subtype",
        "Tests on a sample of the tumour, to find out exactly what kind it is.",
    ),
    (
        "tumour.lymphovascular",
        "Tests on a sample of the tumour, to see if it has grown into "
        "small blood or lymph vessels.",
    ),
    (
        "tumour.resection_margin",
        "Checking the report on the tumour that was removed, to see if all of it came out.",
    ),
    (
        "tumour.primary_size",
        "A camera test with an ultrasound probe (an endoscopic ultrasound) "
        "to measure the tumour and see how deep it goes.",
    ),
    (
        "tumour.depth",
        "A camera test with an ultrasound probe (an endoscopic ultrasound) to "
        "measure the tumour and see how deep it goes.",
    ),
    (
        "tumour.gastric_type",
        "Blood tests and small samples from your stomach lining, to find "
        "out which type of stomach tumour this is.",
    ),
    (
        "tumour.functional_syndrome",
        "Questions and tests about symptoms the tumour's hormones "
        "may cause, such as flushing or diarrhoea.",
    ),
    (
        "tumour.symptoms_controlled",
        "Questions about your symptoms, such as flushing or "
        "diarrhoea, and how well your treatment controls them.",
    ),
    (
        "tumour.bowel_movements",
        "Questions about your symptoms, such as flushing or diarrhoea, "
        "and how well your treatment controls them.",
    ),
    (
        "tumour.hereditary",
        "Questions about your family, and perhaps a blood test for a gene "
        "change that can run in families.",
    ),
    (
        "tumour.",
        "Checking your scans and tumour reports for where the tumour started and what it is like.",
    ),
    (
        "history.alpha_blockade_established",
        "Checking that you are taking the right blood pressure tablets, in the right order, "
        "before any procedure.",
    ),
    (
        "performance.can_isolate",
        "Whether you could stay apart from other people for a few days "
        "after a radioactive treatment.",
    ),
    ("performance.comorbidities", "Questions about your other health problems."),
    (
        "performance.",
        "A talk with your team about how you manage day to day, and your health in general.",
    ),
    ("history.", "Checking your records for treatments and operations you have had before."),
    ("age_years", "Checking your date of birth in your records."),
    ("sex", "Checking your records for your sex."),
    ("pregnant", "Asking whether you are, or might be, pregnant."),
    ("breastfeeding", "Asking whether you are breastfeeding."),
    ("context.health_system", "Where you are treated, which decides how a treatment is paid for."),
    ("", "Checking your records for a fact your team still needs."),
)


def next_step_text(field: str) -> str:
    """The plain words for finding out one case field (every field matches some prefix)."""
    return next(text for prefix, text in NEXT_STEPS if field.startswith(prefix))


# Medical terms the summary may use: (term, pattern that finds it in text, plain meaning).
GLOSSARY: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "NET",
        r"\bNETs?\b|neuroendocrine tumour",
        "Neuroendocrine tumour. A tumour that grows from cells that make hormones. It can start "
        "in many parts of the body, most often the bowel, the pancreas or the lungs.",
    ),
    (
        "MDT",
        r"\bMDT\b",
        "Multidisciplinary team. The group of experts (doctors, nurses and "
        "others) who meet to plan your care together.",
    ),
    (
        "NET nurse specialist",
        r"nurse specialist",
        "A nurse who is an expert in NETs. They are "
        "often your key worker, the person to contact first.",
    ),
    (
        "Neuroendocrine carcinoma",
        r"neuroendocrine carcinoma|\bNEC\b",
        "A fast-growing kind of neuroendocrine cancer.",
    ),
    (
        "Hormone",
        r"\bhormones?\b",
        "A chemical messenger. It travels in the blood and tells "
        "other parts of the body what to do.",
    ),
    (
        "Somatostatin",
        r"somatostatin",
        "A natural hormone that slows down the release of other "
        "hormones. Octreotide and lanreotide are medicines that copy it.",
    ),
    (
        "Docking points (somatostatin receptors)",
        r"docking point|receptor",
        "Spots on the surface of many NET cells that somatostatin sticks to. Doctors call them "
        "somatostatin receptors, or SSTR for short.",
    ),
    (
        "PRRT",
        r"\bPRRT\b",
        "Short for peptide receptor radionuclide therapy. It is a radioactive "
        "medicine that sticks to the docking points on tumour cells and kills them with radiation.",
    ),
    (
        "Lu-177, Y-90 and I-131",
        r"Lu-177|Y-90|I-131",
        "Radioactive forms of lutetium, yttrium and iodine. They give off the radiation in "
        "these treatments.",
    ),
    (
        "MIBG",
        r"\bMIBG\b",
        "A substance that some tumours take up. With a little radioactive "
        "iodine it is used for a scan. With more, it is used as a treatment.",
    ),
    (
        "PET scan",
        r"\bPET\b",
        "A scan that uses a small amount of a radioactive tracer to show "
        "where tumours are. A Ga-68 DOTATATE PET scan shows tumours with docking points. An FDG "
        "PET scan shows parts of a tumour that grow fast.",
    ),
    (
        "CT scan",
        r"\bCT\b",
        "A scan that uses X-rays to take detailed pictures of the inside of the body.",
    ),
    (
        "MRI scan",
        r"\bMRI\b",
        "A scan that uses a strong magnet and radio waves to take detailed "
        "pictures of the inside of the body.",
    ),
    (
        "Echocardiogram",
        r"echocardiogram",
        "A scan of the heart that uses sound waves (ultrasound).",
    ),
    (
        "Endoscope",
        r"endoscop",
        "A thin, bendy tube with a camera on the end. Doctors use it to "
        "look inside the gut, and to remove small tumours.",
    ),
    (
        "Lymph nodes",
        r"lymph",
        "Small glands all over the body. They are part of the body's "
        "defence system. Tumour cells can spread to them.",
    ),
    (
        "Metastases",
        r"metasta",
        "Tumours that have spread from where the tumour started to "
        "another part of the body, such as the liver.",
    ),
    (
        "Carcinoid syndrome",
        r"carcinoid syndrome",
        "Flushing, diarrhoea and other symptoms caused "
        "by hormones, mainly serotonin, that some NETs release into the blood.",
    ),
    (
        "Pancreas",
        r"pancrea",
        "An organ behind the stomach. It makes juices that help digest food, and hormones "
        "such as insulin.",
    ),
    ("Leukaemia", r"leukaemia", "A cancer of the blood cells."),
    (
        "Serotonin",
        r"serotonin",
        "A hormone that some NETs make. Too much of it causes diarrhoea and flushing.",
    ),
    (
        "Chemotherapy",
        r"chemotherapy|chemoembolisation",
        "Medicines that kill cells that divide fast, such as cancer cells.",
    ),
    (
        "Radiotherapy",
        r"radiotherapy|radiation",
        "Treatment with high-energy rays that kill tumour cells in one area of the body.",
    ),
    (
        "SIRT",
        r"\bSIRT\b",
        "Short for selective internal radiation therapy. Tiny radioactive beads are put into the "
        "blood vessel that feeds tumours in the liver.",
    ),
    (
        "Supportive care",
        r"supportive care|palliative care",
        "Care that eases symptoms and supports you and your family, without trying to treat the "
        "tumour.",
    ),
    (
        "Embolisation",
        r"embolisation",
        "Blocking a blood vessel on purpose, to cut off the blood supply to a tumour.",
    ),
    ("Ablation", r"ablation", "Destroying a tumour with heat, through a thin needle."),
    (
        "General anaesthetic",
        r"anaesthetic",
        "Medicine that puts you into a deep sleep, so you feel nothing during an operation.",
    ),
    (
        "Interventional radiologist",
        r"radiologist",
        "A doctor who uses scans to guide thin tubes or needles inside the body to treat it.",
    ),
    (
        "Clinical trial",
        r"\btrials?\b|research stud",
        "A research study that tests a new treatment, or a new way of giving a treatment.",
    ),
    (
        "Registry",
        r"registry",
        "A study that collects the results of everyone who has a "
        "treatment, so doctors can learn how well it works.",
    ),
    (
        "Insulinoma",
        r"insulinoma",
        "A NET of the pancreas that makes too much insulin. This can "
        "make your blood sugar too low.",
    ),
    (
        "Phaeochromocytoma and paraganglioma",
        r"phaeochromocytoma|paraganglioma",
        "Rare tumours "
        "of the adrenal glands or of nerve tissue. They can make hormones that raise blood "
        "pressure.",
    ),
    (
        "Guideline",
        r"guideline",
        "Advice, written by groups of experts, on the best way to treat an illness.",
    ),
    (
        "Knowledge base",
        r"knowledge base",
        "The set of rules netmdt uses. Each rule says which guideline or study it comes from.",
    ),
)
GLOSSARY_PATTERNS: Final = tuple(
    (term, re.compile(pattern, re.IGNORECASE), meaning) for term, pattern, meaning in GLOSSARY
)
