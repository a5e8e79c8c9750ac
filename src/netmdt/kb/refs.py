"""References in the knowledge base's texts, and the lint against bare internal codes.

A text a person reads (a criterion's text, ``if_not_met``, a warning, a funding note, a
definition, a disagreement, a field's "how to find out", a trial card's manual check...)
names another part of the knowledge base by a reference, never by its internal id:

* ``{option:active_surveillance}`` -> the option's name without its parenthesised detail
  ("Active surveillance");
* ``{field:disease.liver_metastases.count}`` -> the field's label ("Number of liver
  metastases"; derived facts too: ``{field:derived.renal_ml_min}``);
* ``{criterion:prrt_lu177_dotatate.renal_ge_40}`` -> that criterion's (or warning's) text.

References are resolved when the knowledge base loads (``netmdt.kb.load``), so every
consumer reads plain English. ``netmdt kb check`` reports an unknown reference, and a
bare option id, criterion id, field path or any other code-like word (``snake_case``, a
dotted field path) in a human text; ``ALLOWED`` lists the few words that are genuinely
written that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The keys whose string values people read. ``quote`` and ``registry_text`` (a trial
# registry's words, verbatim) and ids, rules, sources and URLs are not among them.
HUMAN_KEYS = frozenset(
    {
        "name",
        "summary",
        "text",
        "if_not_met",
        "group_reason",
        "note",
        "what_it_is",
        "what_it_involves",
        "benefits",
        "harms",
        "label",
        "how_to_find_out",
        "title",
        "position",
        "netmdt_rule",
        "range_reason",
        "unit",
        "maintenance",
        "funding_statement",
        "why",
        "covers",
        "citation",
        "conditions",
    }
)

REF = re.compile(r"\{([a-z]+):([^{}\s]*)\}")
KINDS = ("option", "field", "criterion")

# Code-like words: snake_case, or a dotted path whose first part is a field group.
_SNAKE = re.compile(r"(?<![\w./-])[a-z0-9]+(?:_[a-z0-9]+)+(?![\w/-])")
_DOTTED = re.compile(
    r"(?<![\w./-])(?:tumour|disease|imaging|labs|performance|history|context|derived)"
    r"(?:\.[a-z0-9_]+)+(?![\w/-])"
)
_TICKED = re.compile(r"`([^`]*)`")  # Markdown code: shown as typed, so never in a text
_PLACE = re.compile(r"\{[a-z][a-z0-9_]*\}")  # a local setting's place, {parameter}
_URL = re.compile(r"https?://\S+|\bdoi:\S+|\b10\.\d{4,}/\S+|\bwww\.\S+")

# Code-like words that are genuinely written that way in a human text (none yet: add a
# word here only with the reason, e.g. a drug code a label itself uses).
ALLOWED: frozenset[str] = frozenset()


def short_name(name: str) -> str:
    """An option's name without its parenthesised detail (brand names, routes)."""
    return name.split(" (")[0].strip()


@dataclass
class References:
    """What each reference resolves to: ``"option:<id>"``, ``"field:<path>"``,
    ``"criterion:<option>.<id>"`` -> the words (a criterion's text as written, with its
    ``{parameter}`` places)."""

    words: dict[str, str] = field(default_factory=dict)
    options: frozenset[str] = frozenset()
    criteria: frozenset[str] = frozenset()  # criterion, warning and definition ids
    fields: frozenset[str] = frozenset()

    def resolve(
        self, text: str, problem: Callable[[str], None] | None = None, depth: int = 0
    ) -> str:
        """The text with every reference written out; an unknown reference is reported
        (``problem``) and left as it is."""

        def one(m: re.Match[str]) -> str:
            key = f"{m.group(1)}:{m.group(2)}"
            if m.group(1) not in KINDS:
                if problem:
                    problem(
                        f"unknown kind of reference {m.group(0)!r} "
                        f"(write {{option:...}}, {{field:...}} or {{criterion:option.id}})"
                    )
                return m.group(0)
            words = self.words.get(key)
            if words is None:
                if problem:
                    problem(f"unknown reference {m.group(0)!r}" + self._hint(m.group(1)))
                return m.group(0)
            if REF.search(words):
                if depth >= 1:
                    if problem:
                        problem(f"reference {m.group(0)!r} leads to a text with references")
                    return words
                return self.resolve(words, problem, depth + 1)
            return words

        return REF.sub(one, text)

    def _hint(self, kind: str) -> str:
        return {
            "option": "; an option id of the case format",
            "field": "; a case field path (fields.yaml) or derived.*",
            "criterion": "; <option id>.<criterion or warning id>",
        }.get(kind, "")

    def bare(self, text: str) -> list[str]:
        """The code-like words of a text outside its references and links, each with what
        to write instead."""
        plain = _URL.sub(" ", _PLACE.sub(" ", REF.sub(" ", text)))
        found: list[str] = []
        for m in _TICKED.finditer(plain):
            word = m.group(1)
            if word in self.options:
                found.append(f"option id `{word}`: write {{option:{word}}}")
            elif word in self.fields:
                found.append(f"field path `{word}`: write {{field:{word}}}")
            else:
                found.append(f"code in backticks `{word}`: write it in words")
        plain = _TICKED.sub(" ", plain)
        for m in _DOTTED.finditer(plain):
            word = m.group(0).rstrip(".")
            if word in self.fields:
                found.append(f"field path {word!r}: write {{field:{word}}}")
            else:
                found.append(f"code-like word {word!r}: write it in words")
        for m in _SNAKE.finditer(_DOTTED.sub(" ", plain)):
            word = m.group(0)
            if word in ALLOWED:
                continue
            if word in self.options:
                found.append(f"option id {word!r}: write {{option:{word}}}")
            elif word in self.fields:
                found.append(f"field path {word!r}: write {{field:{word}}}")
            elif word in self.criteria:
                found.append(f"criterion id {word!r}: write {{criterion:<option>.{word}}} or words")
            else:
                found.append(f"code-like word {word!r}: write it in words")
        return found


def build(
    options: Mapping[str, Any], labels: Mapping[str, str], derived: Mapping[str, str]
) -> References:
    """The references of a knowledge base from its raw option files (by option id), the
    fields' labels and the derived facts' labels."""
    refs = References()
    criteria: set[str] = set()
    for oid, data in options.items():
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("name"), str):
            refs.words[f"option:{oid}"] = short_name(data["name"])
        for key in (
            "applies_to",
            "contraindications",
            "requirements",
            "recommend_when",
            "before_treatment",
            "warnings",
            "definitions",
        ):
            for item in data.get(key) or []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    criteria.add(item["id"])
                    if key != "definitions" and isinstance(item.get("text"), str):
                        refs.words[f"criterion:{oid}.{item['id']}"] = item["text"]
    for path, label in [*labels.items(), *derived.items()]:
        refs.words[f"field:{path}"] = label
    refs.options = frozenset(options)
    refs.criteria = frozenset(criteria)
    refs.fields = frozenset([*labels, *derived])
    return refs


def texts(data: Any, where: str, key: str | None = None) -> Iterable[tuple[str, str, Any, Any]]:
    """Every human text of a file's data: (where, text, container, index)."""
    if isinstance(data, dict):
        for k, v in data.items():
            sub = f"{where}.{k}" if where else str(k)
            if isinstance(v, str) and k in HUMAN_KEYS:
                yield sub, v, data, k
            else:
                yield from texts(v, sub, str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            name = v.get("id") if isinstance(v, dict) else None
            sub = f"{where}[{i}]" + (f"({name})" if isinstance(name, str) else "")
            if isinstance(v, str) and key in HUMAN_KEYS:
                yield sub, v, data, i
            else:
                yield from texts(v, sub, key)


def copy(data: Any) -> Any:
    """A deep copy of YAML data (dicts, lists and scalars)."""
    if isinstance(data, dict):
        return {k: copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [copy(v) for v in data]
    return data
