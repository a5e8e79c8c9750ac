"""ClinicalTrials.gov API v2 study JSON -> a draft trial card, and recorded responses ->
status changes (``netmdt trials import`` / ``netmdt trials refresh``).

Reads files only: no test and no command here touches the network. The JSON paths are
those of the v2 study record (research memo A.2). Quirks handled: no
``contactsLocationsModule`` (no sites), a site without ``status``, criteria without
"Inclusion/Exclusion Criteria:" headers, Markdown escapes (``\\<``, ``\\*``), ages such
as "18 Years", "6 Months" or "N/A" (absent: no limit), statuses outside the card's
values (``AVAILABLE`` ...: ``unknown``, said in the note).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from netmdt.trials.load import split_bullets
from netmdt.trials.models import OVERALL_STATUSES, TrialCard

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\s*$", re.I)
_PER_YEAR = {
    "year": 1.0,
    "month": 12.0,
    "week": 365.25 / 7,
    "day": 365.25,
    "hour": 365.25 * 24,
    "minute": 365.25 * 24 * 60,
}
_IDS = (
    ("isrctn", re.compile(r"^ISRCTN\d{8}$")),
    ("ctis", re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}$")),
    ("eudract", re.compile(r"^\d{4}-\d{6}-\d{2}$")),
)


class ImportProblem(ValueError):
    """A file that is not a v2 study record; names the file and the path."""


def age_years(text: str | None) -> float | None:
    """``"18 Years"`` -> 18; ``"6 Months"`` -> 0.5; ``"N/A"`` or absent -> None."""
    if text is None or text.strip().upper() in ("N/A", "NA", ""):
        return None
    m = _AGE.match(text)
    if m is None:
        raise ValueError(f"age {text!r}: expected a number and a unit (Years, Months, ...)")
    years = round(float(m.group(1)) / _PER_YEAR[m.group(2).lower()], 4)
    return int(years) if years == int(years) else years


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s if s and s[0].isalpha() else f"t_{s}"


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _status(value: Any) -> tuple[str, bool]:
    """The card's status value, and whether the registry's value was kept as is."""
    low = str(value or "unknown").lower()
    return (low, True) if low in OVERALL_STATUSES else ("unknown", False)


def _registry_ids(ident: dict[str, Any]) -> dict[str, str]:
    ids = {"nct": str(ident.get("nctId"))}
    for info in ident.get("secondaryIdInfos") or []:
        value = str(info.get("id", "")).strip()
        domain = str(info.get("domain", "")) + " " + str(info.get("type", ""))
        for key, pattern in _IDS:
            if key not in ids and pattern.match(value.removeprefix("EudraCT ")):
                ids[key] = value.removeprefix("EudraCT ")
                break
        else:
            if "iras" in domain.lower() and value.isdigit() and "iras" not in ids:
                ids["iras"] = value
    return ids


def _date(struct: Any) -> str | None:
    value = _get(struct, "date")
    return None if value is None else str(value)


def _sites(study: dict[str, Any]) -> list[dict[str, Any]]:
    sites = []
    for loc in _get(study, "protocolSection", "contactsLocationsModule", "locations") or []:
        site: dict[str, Any] = {"name": loc.get("facility") or loc.get("city") or "unnamed"}
        for key in ("city", "country"):
            if loc.get(key):
                site[key] = loc[key]
        if loc.get("status"):
            site["status"] = _status(loc["status"])[0]
        point = loc.get("geoPoint") or {}
        if point.get("lat") is not None and point.get("lon") is not None:
            site["lat"], site["lon"] = float(point["lat"]), float(point["lon"])
        sites.append(site)
    return sites


def _intervention(name: str) -> str:
    return re.sub(
        r"^(Drug|Radiation|Biological|Procedure|Device|Other|Combination Product):\s*", "", name
    )


def draft_card(study: dict[str, Any], today: date, source: str = "") -> dict[str, Any]:
    """A draft card (plain data, in the card's key order) from one v2 study record."""
    p = study.get("protocolSection")
    if not isinstance(p, dict) or not _get(p, "identificationModule", "nctId"):
        raise ImportProblem(
            f"{source}: not a v2 study (no protocolSection.identificationModule.nctId)"
        )
    ident = p["identificationModule"]
    nct = str(ident["nctId"])
    st = p.get("statusModule") or {}
    status, kept = _status(st.get("overallStatus"))
    elig = p.get("eligibilityModule") or {}
    text = elig.get("eligibilityCriteria")
    bullets = split_bullets(text) if text else []
    acronym = ident.get("acronym") or nct
    arms = []
    for arm in _get(p, "armsInterventionsModule", "armGroups") or []:
        label = str(arm.get("label", "arm"))
        arms.append(
            {
                "id": slug(label),
                "label": label,
                "interventions": [_intervention(n) for n in arm.get("interventionNames") or []],
            }
        )
    notes = [f"DRAFT imported from ClinicalTrials.gov v2 JSON ({nct}): encode the criteria."]
    if not kept:
        notes.append(f"Registry status {st.get('overallStatus')!r} recorded as unknown.")
    if st.get("whyStopped"):
        notes.append(f"Why stopped: {st['whyStopped']}")
    completion = st.get("completionDateStruct") or {}
    card: dict[str, Any] = {
        "id": slug(acronym),
        "acronym": acronym,
        "title": ident.get("officialTitle") or ident.get("briefTitle") or nct,
        "sponsor": _get(p, "sponsorCollaboratorsModule", "leadSponsor", "name"),
        "registry_ids": _registry_ids(ident),
        "phases": [x.lower() for x in _get(p, "designModule", "phases") or []] or ["na"],
        "overall_status": status,
        "status_verified": st.get("statusVerifiedDate") or today.strftime("%Y-%m"),
        "last_refreshed": today,
        "dates": {
            k: v
            for k, v in {
                "start": _date(st.get("startDateStruct")),
                "primary_completion": _date(st.get("primaryCompletionDateStruct")),
                "completion": _date(completion),
                "completion_actual": completion.get("type") == "ACTUAL",
                "last_update_posted": _date(st.get("lastUpdatePostDateStruct")),
            }.items()
            if v is not None
        },
        "conditions": list(_get(p, "conditionsModule", "conditions") or []),
        "arms": arms,
        "sites": _sites(study),
        "verification": [
            {
                "url": f"https://clinicaltrials.gov/study/{nct}",
                "read_on": today,
                "covers": "imported from a recorded v2 study record: identity, status, dates, "
                "arms, sites, age and sex limits; criteria not yet encoded",
            }
        ],
        "eligibility": {
            "min_age_years": age_years(elig.get("minimumAge")),
            "max_age_years": age_years(elig.get("maximumAge")),
            "sex": str(elig.get("sex") or "ALL").lower(),
            "healthy_volunteers": elig.get("healthyVolunteers"),
            "criteria": [],
            "manual_check": [{"quote": b, "why": "not yet encoded (imported)"} for b in bullets],
            **({"registry_text": text} if text else {}),
        },
        "note": " ".join(notes),
    }
    if card["sponsor"] is None:
        del card["sponsor"]
    TrialCard.model_validate(card)  # a draft is a valid card
    return card


class _Dumper(yaml.SafeDumper):
    """No anchors or aliases (the knowledge base refuses them); multi-line text as a
    literal block, so the registry text reads as it was written."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_card(card: dict[str, Any]) -> str:
    """A card as YAML, in its key order."""
    return yaml.dump(card, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def read_studies(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The study records in a file (one study, or a search response ``{studies: [...]}``)
    or in every ``*.json`` of a folder."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    found = []
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ImportProblem(f"{f}: not readable JSON ({e})") from None
        studies = data.get("studies") if isinstance(data, dict) and "studies" in data else [data]
        found += [(f, s) for s in studies or []]
    return found


# -------------------------------------------------------------------- refresh


@dataclass(frozen=True)
class Change:
    trial: str
    field: str  # overall_status, status_verified, completion, site:<name>
    before: str | None
    after: str | None

    def __str__(self) -> str:
        return f"{self.trial}: {self.field}: {self.before or '-'} -> {self.after or '-'}"


def diff(card: TrialCard, study: dict[str, Any]) -> list[Change]:
    """What the recorded registry response changes on a card (status facts only)."""
    new = draft_card(study, date.today())
    out: list[Change] = []

    def note(field: str, before: Any, after: Any) -> None:
        if before != after:
            out.append(
                Change(
                    card.id,
                    field,
                    None if before is None else str(before),
                    None if after is None else str(after),
                )
            )

    note("overall_status", card.overall_status, new["overall_status"])
    note("status_verified", card.status_verified, new["status_verified"])
    d = new["dates"]
    note("completion", card.dates.completion, d.get("completion"))
    note("completion_actual", card.dates.completion_actual, d.get("completion_actual", False))
    new_sites = {site["name"]: site.get("status") for site in new["sites"]}
    for site in card.sites:  # the sites the card lists (a removed one: "-")
        note(f"site:{site.name}", site.status, new_sites.get(site.name))
    return out
