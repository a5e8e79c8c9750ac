"""References in the knowledge base's texts ({option:..}, {field:..}, {criterion:..}): written
out when the knowledge base loads, checked by ``kb check``, and no bare internal code in any
text a person reads."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from netmdt import KnowledgeBase, load_kb
from netmdt.kb import check_kb, default_kb_path
from netmdt.kb.refs import texts

CODE_LIKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b|\{[a-z]+:")


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(default_kb_path(), root)
    return root


def edit(root: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = root / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def criterion(data: dict, cid: str) -> dict:
    groups = ("requirements", "recommend_when", "before_treatment", "warnings")
    return next(c for g in groups for c in data.get(g) or [] if c["id"] == cid)


def test_references_are_written_out_when_the_kb_loads(kb_copy: Path) -> None:
    def refer(data: dict) -> None:
        criterion(data, "debulkable_burden")["if_not_met"] = (
            "See {option:active_surveillance}; record {field:disease.liver_metastases.count} "
            "and {field:derived.renal_ml_min}; compare '{criterion:thermal_ablation.few_lesions}'."
        )

    edit(kb_copy, "options/surgery_debulking.yaml", refer)
    kb = load_kb(kb_copy)
    found = next(c for c in kb.options["surgery_debulking"].criteria if c.id == "debulkable_burden")
    assert found.if_not_met == (
        "See Active surveillance; record Number of liver metastases and renal function "
        "(creatinine clearance, else eGFR; mL/min); compare 'At most 5 liver metastases "
        "(configurable default)'."
    )


def test_unknown_references_and_bare_codes_are_problems(kb_copy: Path) -> None:
    def write(data: dict) -> None:
        crit = criterion(data, "disease_to_debulk")
        crit["if_not_met"] = "See {option:aspirin} and {flag:x}; record {field:tumour.colour}."
        crit["text"] = (
            "see active_surveillance, record disease.stable_since, as renal_ge_40; `sirt`; "
            "{criterion:everolimus.nothing}"
        )
        data["summary"] = "At most {max_ablation_lesions} (a setting's place is no code)."

    edit(kb_copy, "options/surgery_debulking.yaml", write)
    kb, problems = check_kb(kb_copy)
    assert kb is None
    at = "options/surgery_debulking.yaml.requirements[1](disease_to_debulk)"
    assert [f"{p}  [{p.code}]" for p in problems] == [
        f"{at}.text: unknown reference '{{criterion:everolimus.nothing}}'; "
        "<option id>.<criterion or warning id>  [reference]",
        f"{at}.text: option id `sirt`: write {{option:sirt}}  [internal_code]",
        f"{at}.text: field path 'disease.stable_since': write {{field:disease.stable_since}}"
        "  [internal_code]",
        f"{at}.text: option id 'active_surveillance': write {{option:active_surveillance}}"
        "  [internal_code]",
        f"{at}.text: criterion id 'renal_ge_40': write {{criterion:<option>.renal_ge_40}} or "
        "words  [internal_code]",
        f"{at}.if_not_met: unknown reference '{{option:aspirin}}'; an option id of the case "
        "format  [reference]",
        f"{at}.if_not_met: unknown kind of reference '{{flag:x}}' (write {{option:...}}, "
        "{field:...} or {criterion:option.id})  [reference]",
        f"{at}.if_not_met: unknown reference '{{field:tumour.colour}}'; a case field path "
        "(fields.yaml) or derived.*  [reference]",
    ]


def _read_texts(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """Every text of the loaded knowledge base that an assessment, the case page, the CLI,
    FHIR or CDS output shows."""
    found = [(f"{o.id}.name", o.name) for o in kb.options.values()]
    found += [(f"{o.id}.summary", o.summary) for o in kb.options.values()]
    for o in kb.options.values():
        for c in o.criteria:
            found += [(f"{o.id}.{c.id}", c.text), (f"{o.id}.{c.id}.if_not_met", c.if_not_met or "")]
        found += [(f"{o.id}.{w.id}", w.text) for w in o.warnings]
        found += [(f"{o.id}.funding", r.note) for rules in o.funding.values() for r in rules]
        found += [(f"{o.id}.patient.{k}", v) for k, v in o.patient.items()]
    found += [(f"definition {d.id}", d.text) for d in kb.definitions.values()]
    found += [(f"{d.id}", d.summary()) for d in kb.disagreements.values()]
    found += [(f"fields {p}", " ".join(f.values())) for p, f in kb.fields.items()]
    for t in kb.trials.values():
        found += [(f"trial {t.id}.{c.id}", c.text) for c in t.criteria]
        found += [(f"trial {t.id} manual", m.why) for m in t.card.eligibility.manual_check]
    return found


def test_no_text_of_the_bundled_kb_holds_a_code_or_a_reference() -> None:
    kb = load_kb()
    leaked = {where: hits for where, text in _read_texts(kb) if (hits := CODE_LIKE.findall(text))}
    assert leaked == {}


def test_the_raw_files_keep_the_references_and_the_assessment_has_none() -> None:
    from netmdt.case.load import load_case
    from netmdt.engine.assess import assess

    kb = load_kb()
    raw = json.dumps(kb.raw, default=str)
    assert "{option:active_surveillance}" in raw  # kb.raw: the files as written
    case = load_case(default_kb_path().parent / "examples/si-net-liver-metastases.yaml")
    out = json.dumps(assess(case, kb).model_dump(mode="json"))
    assert "{option:" not in out and "{field:" not in out and "{criterion:" not in out


def test_every_human_text_of_the_files_is_linted() -> None:
    """The keys ``kb check`` reads as human text cover every string of a criterion,
    warning, funding rule and disagreement except its ids, rules, sources and links."""
    data = yaml.safe_load((default_kb_path() / "options/prrt_lu177_dotatate.yaml").read_text())
    keys = {where.rsplit(".", 1)[-1] for where, *_ in texts(data, "")}
    assert {"name", "summary", "text", "if_not_met", "group_reason", "note"} <= keys
    assert {"what_it_is", "what_it_involves", "benefits", "harms"} <= keys
    assert not keys & {"id", "when", "reads", "sources", "pathway", "evidence"}


def test_a_review_is_bound_to_the_text_as_read(kb_copy: Path) -> None:
    """Renaming an option changes what a text naming it reads, so that text's review
    lapses (its fingerprint changes); a text that names nothing keeps its fingerprint,
    and a text without references is bound exactly as before references existed."""
    from netmdt.governance.items import content_fingerprint, kb_items

    def refer(data: dict) -> None:
        criterion(data, "disease_to_debulk")["if_not_met"] = "See {option:active_surveillance}."

    edit(kb_copy, "options/surgery_debulking.yaml", refer)
    before = kb_items(load_kb(kb_copy))
    edit(kb_copy, "options/active_surveillance.yaml", lambda d: d.update(name="Watch and wait"))
    after = kb_items(load_kb(kb_copy))
    named, plain = "surgery_debulking.disease_to_debulk", "surgery_debulking.debulkable_burden"
    assert before[named].content["if_not_met"] == "See Active surveillance."
    assert after[named].content["if_not_met"] == "See Watch and wait."
    assert before[named].fingerprint != after[named].fingerprint
    assert before[plain].fingerprint == after[plain].fingerprint
    written = yaml.safe_load((kb_copy / "options/surgery_debulking.yaml").read_text())
    spec = criterion(written, "debulkable_burden")
    assert after[plain].content["text"] == spec["text"]
    assert after[plain].fingerprint == content_fingerprint(after[plain].content)
