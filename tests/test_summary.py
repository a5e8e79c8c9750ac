"""The plain-language patient summary: structure, safety, decision-aid items, readability, PDF."""

from __future__ import annotations

import itertools
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2
import pytest
import textstat
import yaml

import netmdt
import netmdt.summary
from netmdt import Assessment, KnowledgeBase, assess, load_case, parse_case
from netmdt.assessment import VERDICTS
from netmdt.summary import (
    DecisionInfo,
    PatientSummary,
    build_summary,
    summary_html,
    summary_pdf,
    summary_text,
)
from netmdt.summary.model import (
    AboutKnowledgeBase,
    Decision,
    GlossaryEntry,
    OtherOption,
    SummaryOption,
)
from netmdt.summary.words import (
    FUNDING,
    GLOSSARY,
    NEXT_STEPS,
    OPTION_NAMES,
    OTHER_REASON,
    STANDING,
    VERDICT_REASON,
    next_step_text,
)

EXAMPLES = Path(netmdt.__file__).parent / "examples"
CASES = [EXAMPLES / "si-net-liver-metastases.yaml", *sorted(EXAMPLES.glob("demo/demo-*.yaml"))]
MAX_GRADE = 8.0
MEETING = date(2026, 11, 27)


def assessed(name: str, kb: KnowledgeBase) -> Assessment:
    return assess(load_case(EXAMPLES / name), kb)


@pytest.fixture(scope="module")
def demo02(kb: KnowledgeBase) -> PatientSummary:
    return build_summary(
        assessed("demo/demo-02-pnet-g2-non-functional.yaml", kb),
        kb,
        patient_name="Tunde Sample",
        decision=DecisionInfo(meeting_date=MEETING, chosen=["everolimus"], rationale="Tablets."),
    )


def test_public_interface() -> None:
    assert netmdt.summary.__all__ == sorted(netmdt.summary.__all__)
    assert set(netmdt.summary.__all__) == {
        "DecisionInfo",
        "PatientIdentifiers",
        "PatientSummary",
        "build_summary",
        "summary_html",
        "summary_pdf",
        "summary_text",
    }


def test_build_summary_whole_structure(kb: KnowledgeBase) -> None:
    assessment = assessed("demo/demo-09-phaeochromocytoma.yaml", kb)
    decision = DecisionInfo(
        meeting_date=MEETING,
        chosen=["surgery_curative"],
        rationale="Remove the  tumour.\r\n\r\nStart alpha-blocker\ntablets first.\n\n \n",
    )
    summary = build_summary(assessment, kb, patient_name="Ingrid Pretend", decision=decision)
    patient = {k: " ".join(v.split()) for k, v in kb.options["surgery_curative"].patient.items()}
    trial = "Taking part in a research study (a clinical trial)"
    others = [
        ("surgery_debulking", "An operation to remove most of the tumour", None),
        ("ssa_short_acting", "Short-acting octreotide injections", None),
        ("ssa_long_acting", "Monthly somatostatin injections (octreotide or lanreotide)", None),
        ("chemotherapy", "Chemotherapy", None),
        ("interferon_alpha", "Interferon injections", None),
        ("mibg_i131", "Radiation treatment that targets the tumour: I-131 MIBG", None),
        ("prrt_lu177_dotatate", OPTION_NAMES["prrt_lu177_dotatate"], None),
        ("prrt_y90_dotatoc", "Radiation treatment that targets the tumour: Y-90 PRRT", None),
        ("liver_embolisation", OPTION_NAMES["liver_embolisation"], None),
        ("thermal_ablation", "Destroying tumours in the liver with heat (ablation)", None),
        ("liver_transplant", "A liver transplant", None),
        ("clinical_trial", trial, "more_tests"),
        ("everolimus", "Everolimus tablets", None),
        ("sunitinib", "Sunitinib capsules", None),
        ("telotristat", "Telotristat tablets for diarrhoea", None),
        ("active_surveillance", OPTION_NAMES["active_surveillance"], None),
        ("endoscopic_resection", "Removing the tumour with an endoscope (a camera tube)", None),
        ("cabozantinib", "Cabozantinib tablets", None),
        ("sirt", OPTION_NAMES["sirt"], None),
        ("palliative_radiotherapy", OPTION_NAMES["palliative_radiotherapy"], None),
    ]
    discussed = ["best_supportive_care", "hormone_syndrome_control"]  # consider, recommended
    glossary = [  # the terms of the page's own words and of every option it names
        "NET",
        "MDT",
        "NET nurse specialist",
        "Hormone",
        "Somatostatin",
        "PRRT",
        "Lu-177, Y-90 and I-131",
        "MIBG",
        "Endoscope",
        "Lymph nodes",
        "Pancreas",
        "Chemotherapy",
        "Radiotherapy",
        "SIRT",
        "Embolisation",
        "Ablation",
        "General anaesthetic",
        "Clinical trial",
        "Phaeochromocytoma and paraganglioma",
        "Guideline",
        "Knowledge base",
    ]
    meanings = {term: meaning for term, _, meaning in GLOSSARY}
    assert summary == PatientSummary(
        patient_name="Ingrid Pretend",
        case_id="demo-09",
        assessed_on=date(2026, 11, 27),
        options=[
            SummaryOption(
                option="surgery_curative",
                name="An operation to remove all of the tumour",
                standing="chosen",
                standing_text="Your team chose this at the MDT meeting.",
                **patient,
                funding="The NHS in England normally pays for this.",
                awaiting_review=True,
                before_treatment=[
                    "Checking that you are taking the right blood pressure tablets, in the right "
                    "order, before any procedure."
                ],
            )
        ],  # after a decision only the chosen options are described in full
        other_options=[
            OtherOption(
                option=option,
                name=name,
                reason=reason or "not_suitable",
                reason_title=OTHER_REASON[reason or "not_suitable"][0],
                reason_text=OTHER_REASON[reason or "not_suitable"][1],
            )
            for option, name, reason in others
        ],
        next_steps=[],  # the MDT chose a treatment: it asked for no more facts
        decision=Decision(
            meeting_date=MEETING,
            chosen=["An operation to remove all of the tumour"],
            rationale=[],  # the team's free text is never reproduced
        ),
        glossary=[GlossaryEntry(term=t, meaning=meanings[t]) for t in glossary],
        knowledge_base=AboutKnowledgeBase(
            version=kb.version,
            updated=kb.updated,
            fingerprint=kb.fingerprint,
            rules=252,
            rules_awaiting_review=186,
            sources=len(kb.sources),
        ),
        funding_statement=" ".join(kb.funding_statement.split()),
        also_possible=[OPTION_NAMES[o] for o in discussed],
    )


def test_after_a_decision_the_chosen_options_come_first_and_alone_in_full(
    demo02: PatientSummary, kb: KnowledgeBase
) -> None:
    assert [(o.option, o.standing) for o in demo02.options] == [("everolimus", "chosen")]
    assert demo02.also_possible == [
        OPTION_NAMES[o]
        for o in (
            "ssa_short_acting",
            "chemotherapy",
            "prrt_lu177_dotatate",
            "liver_embolisation",
            "clinical_trial",
            "sunitinib",
            "best_supportive_care",
            "sirt",
        )
    ]
    assert {(o.option, o.reason) for o in demo02.other_options} >= {
        ("surgery_debulking", "more_tests"),
        ("surgery_curative", "not_suitable"),
    }
    before = build_summary(assessed("demo/demo-02-pnet-g2-non-functional.yaml", kb), kb)
    assert sorted(o.name for o in before.options) == sorted(
        ["Everolimus tablets", *demo02.also_possible]
    )
    assert {o.standing for o in before.options} == {"recommended", "consider"}
    html = summary_html(before)
    assert "<h1>Options to talk about with your team</h1>" in html
    assert "Your care team has not made a decision yet." in html


def test_without_a_decision_the_page_says_none_is_recorded(kb: KnowledgeBase) -> None:
    summary = build_summary(assessed("demo/demo-10-small-rectal-net.yaml", kb), kb)
    assert summary.decision is None and summary.patient_name is None
    assert [o.option for o in summary.options] == ["endoscopic_resection", "best_supportive_care"]
    html = summary_html(summary)
    assert "The MDT has not yet recorded a decision." in html
    assert "Options to talk about with your team" in html
    assert "For:" not in html


def test_a_contraindicated_option_is_explained_in_plain_words(kb: KnowledgeBase) -> None:
    data = yaml.safe_load((EXAMPLES / "demo/demo-07-pnet-g3-well-differentiated.yaml").read_text())
    summary = build_summary(assess(parse_case({**data, "pregnant": True}), kb), kb)
    reasons = {o.option: o.reason for o in summary.other_options}
    assert reasons["prrt_lu177_dotatate"] == "not_safe"
    text = summary_text(summary)
    assert "Not safe for you now: " in text
    assert "Something about your health means these could do you harm" in text
    assert text.count("contraindicated") == 1  # only inside that plain explanation


def test_an_unknown_chosen_option_is_refused(kb: KnowledgeBase) -> None:
    decision = DecisionInfo(meeting_date=MEETING, chosen=["homeopathy"])
    with pytest.raises(ValueError, match=r"decision.chosen: unknown option\(s\) \['homeopathy'\]"):
        build_summary(assessed("si-net-liver-metastases.yaml", kb), kb, decision=decision)


def test_html_escapes_patient_name_and_rationale(kb: KnowledgeBase) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    summary = build_summary(
        assessed("si-net-liver-metastases.yaml", kb),
        kb,
        patient_name=payload,
        decision=DecisionInfo(meeting_date=MEETING, chosen=[], rationale=f"Why {payload} & so"),
    )
    html = summary_html(summary)
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert html.count(escaped) == 2  # title, "For:"; the rationale is never shown
    assert "<script" not in html and "<img" not in html
    assert "Why " not in html


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "html":
            self.lang = dict(attrs).get("lang")


def test_html_is_accessible(demo02: PatientSummary) -> None:
    outline = _Outline()
    outline.feed(summary_html(demo02))
    assert outline.lang == "en-GB"
    levels = [int(t[1]) for t in outline.tags if re.fullmatch(r"h[1-6]", t)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert {"main", "header", "dl", "dt", "dd", "title"} <= set(outline.tags)
    css = (Path(netmdt.summary.__file__).parent / "templates/summary.css").read_text()
    assert "font-size: 14pt" in css and "size: A4" in css and "@media print" in css
    assert "font-size: 12pt" in css  # print: NHS patient-information minimum, 4 A4 pages


def test_the_decision_aid_items_are_there(demo02: PatientSummary, kb: KnowledgeBase) -> None:
    text = summary_text(demo02)
    for item in [
        # knowledge-base date and version, how it is kept up to date (no internal counts)
        f"version {kb.version} of the netmdt knowledge base, last updated on 27 November",
        "It is checked against expert guidelines, the official facts about each medicine",
        # who funds netmdt
        "Who pays for netmdt: netmdt is open-source software. It is not funded by, and takes no "
        "money from, any maker or seller of a treatment it describes.",
        # not a replacement for the care team's advice
        "This summary does not replace the advice of your care team.",
        # who to contact
        "please contact your NET nurse specialist or the care team that gave you this summary",
        # the options, what is still to find out, the decision
        "What it involves.",
        "Possible harms and side effects.",
        "Options the team looked at that do not fit now.\nMore tests needed first: An operation "
        "to remove most of the tumour. Your team needs more facts before they can say if these "
        "would suit you.",
        "What the MDT decided.",
    ]:
        assert item in text, item
    assert "Tablets." not in text  # the team's rationale is not reproduced
    assert not re.search(r"\b\d+ (?:of the \d+ )?rules\b", text)  # no internal counts
    assert kb.fingerprint in summary_html(demo02)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_readability_at_most_grade_8(path: Path, kb: KnowledgeBase) -> None:
    summary = build_summary(assess(load_case(path), kb), kb)
    text = summary_text(summary)
    grade = textstat.flesch_kincaid_grade(text)
    print(f"{path.stem}: Flesch-Kincaid grade {grade:.1f}, {len(text.split())} words")
    assert len(text.split()) > 500 and grade <= MAX_GRADE
    words_section = text[: text.index("What the words mean.")]
    for term, pattern, _ in GLOSSARY:  # every medical term used is in the glossary
        if re.search(pattern, words_section, flags=re.IGNORECASE):
            assert term in {g.term for g in summary.glossary}, term
    assert "insufficient_information" not in text and "not_recommended" not in text


def test_each_options_patient_text_is_at_most_grade_8(kb: KnowledgeBase) -> None:
    grades = {
        option_id: textstat.flesch_kincaid_grade(" ".join(option.patient.values()))
        for option_id, option in kb.options.items()
    }
    assert {o: g for o, g in grades.items() if g > MAX_GRADE} == {}


def test_every_option_verdict_pathway_and_fact_has_plain_words(kb: KnowledgeBase) -> None:
    assert set(OPTION_NAMES) == set(kb.options)
    assert set(STANDING) | set(VERDICT_REASON) == set(VERDICTS) | {"chosen"}
    assert set(FUNDING) == {
        "nhs_commissioned",
        "not_routinely_commissioned",
        "audit_registry",
        "trial_only",
        "not_applicable",
        "unknown",
    }
    catch_all = NEXT_STEPS[-1][1]
    read = {f for option in kb.options.values() for c in option.criteria for f in c.reads}
    assert read <= set(kb.fields)
    assert [f for f in sorted(read) if next_step_text(f) == catch_all] == []


def test_pdf_renders_with_the_patients_options(demo02: PatientSummary) -> None:
    pdf = pypdfium2.PdfDocument(summary_pdf(demo02))
    page = pdf[0]
    width, height = page.get_size()
    assert round(width) == 595 and round(height) == 842  # A4 in points
    image = page.render(scale=1).to_pil().convert("L")
    dark = sum(image.histogram()[:200]) / (image.width * image.height)  # grey level < 200
    assert dark > 0.02, f"page 1 looks blank: {dark:.3%} non-white"
    first = " ".join(page.get_textpage().get_text_range().split())
    assert "Tunde Sample" in first and "Everolimus tablets" in first
    text = " ".join(" ".join(p.get_textpage().get_text_range().split()) for p in pdf)
    for option in demo02.options:
        assert option.name in text, option.name


def test_the_readability_table_in_the_docs_names_every_case() -> None:
    doc = (Path(__file__).parent.parent / "docs/patient-summary.md").read_text()
    for path in CASES:
        case_id = path.stem.split("-")[0] + "-" + path.stem.split("-")[1]
        assert (path.stem if case_id == "si-net" else case_id) in doc, path.stem


def test_pending_checks_are_tests_to_do_before_the_treatment_starts() -> None:
    from tests.kbfixture import before_treatment_kb

    kb = before_treatment_kb()
    data = yaml.safe_load(
        (Path(netmdt.__file__).parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    data["labs"] = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    s = build_summary(assess(parse_case(data), kb), kb)
    prrt = next(o for o in s.options if o.option == "prrt_lu177_dotatate")
    assert prrt.before_treatment == [
        "Blood tests to see how well your liver works.",
        "A blood count: a blood test of your red cells, white cells and platelets.",
        "A blood test to see how well your blood clots.",
    ]
    assert next(o for o in s.options if o.option == "telotristat").before_treatment == []
    decided = build_summary(
        assess(parse_case(data), kb),
        kb,
        decision=DecisionInfo(meeting_date=MEETING, chosen=["prrt_lu177_dotatate"]),
    )
    html = summary_html(decided)  # the tests to do are listed once the team has decided
    assert "<h4>Tests to do before the treatment starts</h4>" in html
    assert " ".join(prrt.before_treatment) in html


@pytest.mark.parametrize("path", CASES[1:], ids=[p.stem for p in CASES[1:]])
def test_the_decided_summary_fits_4_a4_pages(path: Path, kb: KnowledgeBase) -> None:
    """Two options chosen (the most the demo's positive options give), with identifiers
    and a named contact: at most 4 A4 pages."""
    from netmdt.summary import PatientIdentifiers

    assessment = assess(load_case(path), kb)
    chosen = [o.option for o in assessment.options if o.verdict in ("recommended", "consider")]
    summary = build_summary(
        assessment,
        kb,
        decision=DecisionInfo(meeting_date=MEETING, chosen=chosen[:2]),
        identifiers=PatientIdentifiers(
            name="Margaret Example", nhs_number="9990000018", date_of_birth=date(1962, 1, 1)
        ),
        contact="Jo Bloggs, NET clinical nurse specialist, 0161 000 0000",
    )
    pdf = pypdfium2.PdfDocument(summary_pdf(summary))
    assert len(pdf) <= 4
    first = " ".join(pdf[0].get_textpage().get_text_range().split())
    assert "NHS number 999 000 0018" in first and "born 1 January 1962" in first
    text = " ".join(" ".join(p.get_textpage().get_text_range().split()) for p in pdf)
    assert "Jo Bloggs, NET clinical nurse specialist, 0161 000 0000" in text
