"""Show/hide logic, written once (FHIR ``enableWhen``) and translated to REDCap branching
logic and XLSForm ``relevant``; plus an evaluator for each format's own text, so a test
can check, question by question and over every combination of answers, that the three
formats show and hide the same questions.

Answers here are "flat": ``{linkId: value}`` with ``bool`` (yes/no), ``int``, ``float``,
``str`` (a choice's code, or free text); a question not answered is absent.

Semantics of an unanswered question (the same in all three, by design):
``exists`` false is true; ``!=`` is true (as FHIR R5 states and REDCap and XPath do with
an empty value); ``=``, ``>`` and ``<`` are false (an empty value is not a number in
REDCap or XPath, and FHIR R4 finds no answer to compare).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from netmdt.survey.model import Answer, EnableWhen, Item

Answers = Mapping[str, Answer]

# -- translation ------------------------------------------------------------------------


def _literal(value: Answer) -> str:
    if isinstance(value, bool):
        return "'1'" if value else "'0'"
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def _one(cond: EnableWhen, ref: str, ne: str) -> str:
    if cond.operator == "exists":
        return f"{ref} {ne if cond.answer else '='} ''"
    op = ne if cond.operator == "!=" else cond.operator
    return f"{ref} {op} {_literal(cond.answer)}"


def redcap_logic(item: Item) -> str:
    """REDCap branching logic (``[who_gives] <> '4'``); empty when always shown."""
    joiner = " and " if item.enableBehavior == "all" else " or "
    return joiner.join(_one(c, f"[{c.question}]", "<>") for c in item.enableWhen)


def xlsform_relevant(item: Item) -> str:
    """XLSForm ``relevant`` (``${who_gives} != '4'``); empty when always shown."""
    joiner = " and " if item.enableBehavior == "all" else " or "
    return joiner.join(_one(c, "${" + c.question + "}", "!=") for c in item.enableWhen)


# -- evaluation of each format's own text -----------------------------------------------


def fhir_enabled(fhir_item: Mapping[str, Any], answers: Answers) -> bool:
    """Is a FHIR Questionnaire item (JSON) enabled, given the answers?"""
    conditions = fhir_item.get("enableWhen") or []
    if not conditions:
        return True
    results = [_fhir_condition(c, answers) for c in conditions]
    return all(results) if fhir_item.get("enableBehavior", "all") == "all" else any(results)


def _fhir_condition(cond: Mapping[str, Any], answers: Answers) -> bool:
    given = answers.get(cond["question"])
    operator = str(cond["operator"])
    if operator == "exists":
        return (given is not None) == bool(cond["answerBoolean"])
    if given is None:
        return operator == "!="
    if "answerCoding" in cond:
        expected: Any = cond["answerCoding"]["code"]
    else:
        key = next(k for k in cond if k.startswith("answer"))
        expected = cond[key]
    if operator == "=":
        return bool(given == expected)
    if operator == "!=":
        return bool(given != expected)
    if isinstance(given, bool | str):
        return False
    return bool(given > expected) if operator == ">" else bool(given < expected)


_CLAUSE = re.compile(
    r"^(?:\[(?P<rc>[a-z0-9_]+)\]|\$\{(?P<xf>[a-z0-9_]+)\})\s*(?P<op><>|!=|=|>|<)\s*"
    r"(?P<lit>'[^']*'|-?[0-9]+(?:\.[0-9]+)?)$"
)


def _stored(value: Answer | None) -> str:
    """How REDCap and an XForm hold an answer: text; yes/no as 1/0, blank if none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def expression_true(expression: str, answers: Answers) -> bool:
    """Evaluate a REDCap branching logic or XLSForm ``relevant`` expression of the forms
    this module writes (clauses joined by ``and`` or ``or``), as those tools do: values
    are text, blank when unanswered; ``=``/``!=``/``<>`` compare text (numbers as
    numbers); ``>``/``<`` compare numbers, false when either side is not one."""
    if not expression.strip():
        return True
    if " and " in expression and " or " in expression:
        raise ValueError(f"mixed and/or in {expression!r}")
    joiner = " or " if " or " in expression else " and "
    results = []
    for clause in expression.split(joiner):
        match = _CLAUSE.match(clause.strip())
        if match is None:
            raise ValueError(f"not a clause this evaluator reads: {clause!r}")
        name = match["rc"] or match["xf"]
        value = _stored(answers.get(name))
        literal = match["lit"]
        text = literal[1:-1] if literal.startswith("'") else literal
        op = match["op"]
        if op in ("=", "<>", "!="):
            left, right = _number(value), _number(text)
            same = left == right if left is not None and right is not None else value == text
            results.append(same if op == "=" else not same)
        else:
            left, right = _number(value), _number(text)
            if left is None or right is None:
                results.append(False)
            else:
                results.append(left > right if op == ">" else left < right)
    return any(results) if joiner == " or " else all(results)


def visible(items: list[Item], answers: Answers) -> set[str]:
    """The linkIds shown, given the answers (the definition's own reading, FHIR's)."""
    from netmdt.survey.export import fhir_item

    return {i.linkId for i in items if fhir_enabled(fhir_item(i), answers)}
