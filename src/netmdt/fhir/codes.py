"""The importer's code tables, read from the YAML files in ``codes/`` (data, not code).

Each table entry keeps the URL where its code was checked; ``docs/fhir.md`` lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml


def _load(name: str) -> Any:
    text = (
        resources.files("netmdt.fhir").joinpath("codes").joinpath(name).read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


@dataclass(frozen=True)
class CodeEntry:
    """One code (``system|code``) and what it means for the case."""

    key: str
    display: str
    source: str
    value: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuantityRule:
    field: str
    codes: frozenset[str]
    units: dict[str, float]
    ratio_to_uln: bool
    source: str


@dataclass(frozen=True)
class ScoreRule:
    field: str
    codes: frozenset[str]
    low: int
    high: int
    answers: dict[str, int]
    source: str


@dataclass(frozen=True)
class CodedRule:
    field: str
    codes: frozenset[str]
    answers: dict[str, Any]
    grade_text: bool
    source: str


@dataclass(frozen=True)
class TreatmentRule:
    """A medication or procedure rule: word patterns (and codes) -> history facts."""

    patterns: tuple[re.Pattern[str], ...]
    codes: frozenset[str]
    therapy: str | None
    surgery: str | None
    liver_directed: str | None
    primary_resection: bool
    biliary_enteric_anastomosis: bool
    biliary_stent_or_sphincterotomy: bool
    source: str

    def matches(self, keys: set[str], words: str) -> bool:
        return bool(keys & self.codes) or any(p.search(words) for p in self.patterns)


@dataclass(frozen=True)
class Tables:
    systems: dict[str, str]  # URI -> short name
    primary: dict[str, CodeEntry]
    other_cancers: dict[str, CodeEntry]
    metastases: dict[str, CodeEntry]
    syndromes: dict[str, CodeEntry]
    body_sites: dict[str, CodeEntry]
    quantities: tuple[QuantityRule, ...]
    scores: tuple[ScoreRule, ...]
    coded: tuple[CodedRule, ...]
    medications: tuple[TreatmentRule, ...]
    procedures: tuple[TreatmentRule, ...]
    sstr_imaging: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]

    @property
    def uris(self) -> dict[str, str]:
        """Short name -> code-system URI."""
        return {name: uri for uri, name in self.systems.items()}

    @property
    def by_loinc(self) -> dict[str, list[QuantityRule | ScoreRule | CodedRule]]:
        """Every observation rule, by the LOINC codes it reads (built once)."""
        index = self.__dict__.get("_by_loinc")
        if index is None:
            index = {}
            every: tuple[QuantityRule | ScoreRule | CodedRule, ...] = (
                *self.quantities,
                *self.scores,
                *self.coded,
            )
            for rule in every:
                for code in sorted(rule.codes):
                    index.setdefault(code, []).append(rule)
            object.__setattr__(self, "_by_loinc", index)
        return index

    def key(self, system: str | None, code: str | None) -> str | None:
        """``short-name|code`` for a coding, or None when the system is not one we know."""
        name = self.systems.get(system or "")
        return f"{name}|{code}" if name and code else None


def _entries(items: list[dict[str, Any]], value_keys: tuple[str, ...]) -> dict[str, CodeEntry]:
    out: dict[str, CodeEntry] = {}
    for item in items:
        value = {k: item[k] for k in value_keys if k in item}
        key = f"{item['system']}|{item['code']}"
        out[key] = CodeEntry(key, item["display"], item["source"], value)
    return out


def _patterns(items: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in items)


def _treatments(items: list[dict[str, Any]]) -> tuple[TreatmentRule, ...]:
    return tuple(
        TreatmentRule(
            patterns=_patterns(item["patterns"]),
            codes=frozenset(item.get("codes", [])),
            therapy=item.get("therapy"),
            surgery=item.get("surgery"),
            liver_directed=item.get("liver_directed"),
            primary_resection=item.get("primary_resection", False),
            biliary_enteric_anastomosis=item.get("biliary_enteric_anastomosis", False),
            biliary_stent_or_sphincterotomy=item.get("biliary_stent_or_sphincterotomy", False),
            source=item["source"],
        )
        for item in items
    )


@cache
def tables() -> Tables:
    """Every code table, loaded once."""
    systems = _load("systems.yaml")
    cond = _load("conditions.yaml")
    obs = _load("observations.yaml")
    treat = _load("treatments.yaml")
    return Tables(
        systems={uri: name for name, uri in systems.items()},
        primary=_entries(cond["primary"], ("set",)),
        other_cancers=_entries(cond["other_cancers"], ()),
        metastases=_entries(cond["metastases"], ("site",)),
        syndromes=_entries(cond["syndromes"], ("syndrome",)),
        body_sites=_entries(cond["body_sites"], ("site",)),
        quantities=tuple(
            QuantityRule(
                q["field"],
                frozenset(q["codes"]),
                q.get("units", {}),
                q.get("ratio_to_uln", False),
                q["source"],
            )
            for q in obs["quantities"]
        ),
        scores=tuple(
            ScoreRule(
                s["field"],
                frozenset(s["codes"]),
                s["range"][0],
                s["range"][1],
                s["answers"],
                s["source"],
            )
            for s in obs["scores"]
        ),
        coded=tuple(
            CodedRule(
                c["field"],
                frozenset(c["codes"]),
                c["answers"],
                c.get("grade_text", False),
                c["source"],
            )
            for c in obs["coded"]
        ),
        medications=_treatments(treat["medications"]),
        procedures=_treatments(treat["procedures"]),
        sstr_imaging=tuple(
            (s["modality"], _patterns(s["patterns"])) for s in treat["sstr_imaging"]
        ),
    )
