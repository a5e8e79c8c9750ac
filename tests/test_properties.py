"""Properties of the engine over many generated cases (Hypothesis)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netmdt import Assessment, Case, KnowledgeBase, assess, parse_case
from netmdt.assessment import NEGATIVE, POSITIVE
from netmdt.engine.schema import DERIVED
from netmdt.kb import load_kb
from tests.kbfixture import before_treatment_kb
from tests.strategies import case_dicts

KB: KnowledgeBase = load_kb()
BT_KB: KnowledgeBase = before_treatment_kb()  # blood-test requirements as before_treatment
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Fields whose values feed one derived fact (``netmdt.engine.schema.DERIVED``, so a new
# source of a derived fact is linked here too): removing one while another is present is
# a change of data (a conflict), not the learning of a missing fact (brief 1.8).
LINKED = [set(reads) for _, reads, _ in DERIVED.values() if len(reads) > 1]


def leaves(data: dict[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, value in data.items():
        path = prefix + key
        if isinstance(value, dict):
            found += leaves(value, path + ".")
        elif key not in ("id", "assessed_on"):
            found.append(path)
    return found


def without(data: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node = out
    *parents, last = path.split(".")
    for p in parents:
        node = node[p]
    del node[last]
    return out


def removable(data: dict[str, Any]) -> list[str]:
    present = set(leaves(data))
    return sorted(
        p for p in present if not any(p in group and (group - {p}) & present for group in LINKED)
    )


def cls(verdict: str) -> str:
    return "positive" if verdict in POSITIVE else "negative" if verdict in NEGATIVE else "open"


@st.composite
def near_positive_cases(draw: st.DrawFn) -> dict[str, Any]:
    """The worked example (positive for several options) with its blood results scaled
    (so before_treatment checks come out true or false) and some facts left out."""
    import yaml

    from netmdt.kb import default_kb_path

    data: dict[str, Any] = yaml.safe_load(
        (default_kb_path().parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    for key, value in list(data["labs"].items()):
        if isinstance(value, int | float):
            data["labs"][key] = round(value * draw(st.sampled_from(LAB_FACTORS)), 2)
    for path in draw(st.lists(st.sampled_from(removable(data)), max_size=6, unique=True)):
        data = without(data, path)
    return data


LAB_FACTORS = (0.1, 0.3, 0.5, 1.0, 1.0, 1.0, 2.0, 5.0)


@SETTINGS
@given(
    data=st.one_of(case_dicts(), near_positive_cases()),
    pick=st.integers(min_value=0),
    bt=st.booleans(),
)
def test_learning_a_fact_never_moves_a_verdict_between_classes(
    data: dict[str, Any], pick: int, bt: bool
) -> None:
    """Learning an unknown fact never moves an option between the positive class
    (recommended, consider) and the negative class (not_recommended, contraindicated),
    except through a pending check learnt false: then it moves to not_recommended or, for
    a check whose ``if_false`` is contraindicated, to contraindicated.
    Run on the bundled knowledge base and on one that uses before_treatment, over
    random cases and over variants of a case that is positive for several options."""
    fields = removable(data)
    if not fields:
        return
    kb = BT_KB if bt else KB
    path = fields[pick % len(fields)]
    known = assess(parse_case(data), kb)
    unknown = assess(parse_case(without(data, path)), kb)
    for before, after in zip(unknown.options, known.options, strict=True):
        moved = {cls(before.verdict), cls(after.verdict)} == {"positive", "negative"}
        failed = {r.criterion for r in after.reasons if r.status == "unmet"}
        via_pending_check = (
            cls(before.verdict) == "positive"
            and after.verdict in NEGATIVE
            and bool({p.criterion for p in before.pending_checks} & failed)
        )
        assert not moved or via_pending_check, (
            f"learning {path} moved {after.option} from {before.verdict} to {after.verdict}"
        )
        for a in (before, after):  # pending checks: unknown before_treatment criteria only
            pending = {p.criterion for p in a.pending_checks}
            assert pending == {
                r.criterion
                for r in a.reasons
                if r.group == "before_treatment" and r.status == "unknown"
            } or (a.verdict in NEGATIVE and not pending), a.option


@SETTINGS
@given(data=case_dicts())
def test_case_and_assessment_survive_a_json_round_trip(data: dict[str, Any]) -> None:
    case = parse_case(data)
    assert Case.model_validate_json(case.model_dump_json()) == case
    assessment = assess(case, BT_KB)  # has before_treatment: pending_checks
    again = Assessment.model_validate_json(assessment.model_dump_json())
    assert again.model_dump() == assessment.model_dump()


@SETTINGS
@given(data=case_dicts())
def test_every_valid_case_is_assessed_with_every_option_explained(data: dict[str, Any]) -> None:
    a = assess(parse_case(data), KB)
    assert [o.option for o in a.options] == list(KB.options)
    for o in a.options:
        assert (o.verdict == "insufficient_information") <= bool(
            [r for r in o.reasons if r.status == "unknown"]
        )
        if o.verdict == "insufficient_information":
            assert o.missing, f"{o.option}: insufficient information but nothing missing"
