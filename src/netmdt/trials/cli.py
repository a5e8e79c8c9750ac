"""``netmdt trials``: list, show and match trial cards; import and refresh from
ClinicalTrials.gov v2 JSON (recorded files; no network)."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from netmdt.errors import NetmdtError
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.trials.geo import parse_point
from netmdt.trials.load import Trial
from netmdt.trials.match import Local, Where, is_closed, is_open, match_trials, stale_reasons
from netmdt.vocabulary import field_label, who_to_ask

trials_app = typer.Typer(
    help="Clinical-trial cards: list, show, match a case, import and refresh.",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(StrEnum):
    text = "text"
    json = "json"


class ShowFormat(StrEnum):
    text = "text"
    json = "json"
    fhir = "fhir"


KbOption = Annotated[
    Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the bundled one).")
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="text or json.")]


def _kb(path: Path | None) -> KnowledgeBase:
    try:
        return load_kb(path)
    except NetmdtError as e:
        for line in str(e).splitlines():
            err.print(line, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _local(centre: list[str] | None, open_here: list[str] | None) -> Local:
    from netmdt.config import load_settings
    from netmdt.trials.local import local_from_settings

    base = local_from_settings(load_settings())
    return Local(
        tuple(centre) if centre else base.centre,
        frozenset(open_here) if open_here else base.open_here,
    )


def card_summary(trial: Trial, local: Local, today: date) -> dict[str, Any]:
    """A card as ``trials list --format json`` shows it."""
    from netmdt.trials.match import open_here as here

    c = trial.card
    return {
        "id": c.id,
        "acronym": c.acronym,
        "registry_ids": c.registry_ids.model_dump(exclude_none=True),
        "title": c.title,
        "phases": list(c.phases),
        "overall_status": c.overall_status,
        "status_verified": c.status_verified,
        "last_refreshed": c.last_refreshed.isoformat(),
        "open": is_open(c) or here(c, local),
        "open_here": here(c, local),
        "historical": c.historical,
        "warnings": stale_reasons(c, today),
    }


@trials_app.command("list")
def list_cmd(
    format: FormatOption = Format.text,
    centre: Annotated[
        list[str] | None, typer.Option("--centre", help="Our site's name (repeatable).")
    ] = None,
    open_here: Annotated[
        list[str] | None, typer.Option("--open-here", help="A trial id open here (repeatable).")
    ] = None,
    kb: KbOption = None,
) -> None:
    """Every trial card: identity, phase, status, whether it is open."""
    knowledge = _kb(kb)
    local = _local(centre, open_here)
    rows = [card_summary(t, local, date.today()) for t in knowledge.trials.values()]
    if format is Format.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        ids = ", ".join(f"{k}:{v}" for k, v in r["registry_ids"].items())
        state = "OPEN" if r["open"] else r["overall_status"].replace("_", " ")
        if r["open_here"]:
            state += " (open here)"
        flag = "  [status may be out of date]" if r["warnings"] else ""
        out.print(
            f"{r['id']:<14} {r['acronym']:<14} {'/'.join(r['phases']):<14} {state:<24} "
            f"verified {r['status_verified']}  {ids}{flag}",
            markup=False,
        )


@trials_app.command("show")
def show_cmd(
    trial: Annotated[str, typer.Argument(help="A trial card id (netmdt trials list).")],
    format: Annotated[
        ShowFormat,
        typer.Option("--format", "-f", help="text, json (the card) or fhir (ResearchStudy)."),
    ] = ShowFormat.text,
    kb: KbOption = None,
) -> None:
    """One trial card: identity, status, arms, sites and every criterion with its quote."""
    knowledge = _kb(kb)
    found = knowledge.trials.get(trial)
    if found is None:
        err.print(f"no trial card {trial!r}; known: {', '.join(sorted(knowledge.trials))}")
        raise typer.Exit(2)
    card = found.card
    if format is ShowFormat.json:
        print(card.model_dump_json(indent=2, exclude_none=True))
        return
    if format is ShowFormat.fhir:
        from netmdt.trials.fhir import research_study

        print(json.dumps(research_study(found), indent=2))
        return
    from netmdt.trials.match import status_note

    def p(text: str) -> None:
        out.print(text, markup=False)

    p(f"{card.acronym}: {card.title}")
    p("ids: " + ", ".join(f"{k} {v}" for k, v in card.registry_ids.model_dump().items() if v))
    p(f"status: {status_note(card)}" + ("  [historical record]" if card.historical else ""))
    for w in stale_reasons(card, date.today()):
        p(f"warning: {w}")
    for a in card.arms:
        p(f"arm {a.id}: {a.label}")
    for c in found.criteria:
        arms = f" [arms: {', '.join(c.arms)}]" if c.arms else ""
        p(f"  {c.kind:<9} {c.id}: {c.text}{arms}")
        p(f"            rule: {c.expr.describe()}")
        p(f'            quote: "{c.quote}"')
    for m in card.eligibility.manual_check:
        p(f"  check by hand: {m.quote} ({m.why})")
    for s in card.sites:
        status = s.status or "status not given"
        p(f"  site: {s.name}, {s.city or '?'}, {s.country or '?'}: {status}")
    for v in card.verification:
        p(f"  verified: {v.url} (read {v.read_on}: {v.covers})")


@trials_app.command("match")
def match_cmd(
    case: Annotated[Path, typer.Argument(help="A case file (YAML or JSON).")],
    format: FormatOption = Format.text,
    near: Annotated[
        str | None, typer.Option("--near", help="The patient's location LAT,LON (distances).")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Closed and historical cards too (never open).")
    ] = False,
    trial: Annotated[
        list[str] | None, typer.Option("--trial", help="Only these trial ids (repeatable).")
    ] = None,
    centre: Annotated[
        list[str] | None, typer.Option("--centre", help="Our site's name (repeatable).")
    ] = None,
    open_here: Annotated[
        list[str] | None, typer.Option("--open-here", help="A trial id open here (repeatable).")
    ] = None,
    kb: KbOption = None,
) -> None:
    """Which trials (and arms) this case could join, why, and what would settle it."""
    from netmdt.case import load_case
    from netmdt.engine.facts import facts_of

    knowledge = _kb(kb)
    try:
        where = Where(*parse_point(near)) if near else Where()
        loaded = load_case(case, today=date.today())
    except (ValueError, NetmdtError) as e:
        err.print(f"--near: {e}" if isinstance(e, ValueError) else str(e), markup=False)
        raise typer.Exit(2) from None
    matches = match_trials(
        knowledge,
        facts_of(loaded),
        local=_local(centre, open_here),
        where=where,
        include_closed=all_,
        only=trial,
    )
    if format is Format.json:
        print(json.dumps([m.model_dump(mode="json") for m in matches], indent=2))
        return
    if not matches:
        out.print("No trial cards to match (closed ones are listed with --all).")
    for m in matches:
        out.print(_match_text(m, knowledge), markup=False)


def _match_text(m: Any, kb: KnowledgeBase) -> str:
    card = kb.trials[m.trial].card
    name = m.acronym + (f" / arm {m.arm}" if m.arm else "")
    if is_closed(card):
        head = f"{name}: CLOSED ({m.status_note}): not open to referral"
    else:
        state = (
            "open here"
            if m.open_here
            else "open"
            if m.open
            else ("opening soon" if m.opening_soon else m.overall_status.replace("_", " "))
        )
        head = f"{name}: {m.verdict.upper().replace('_', ' ')} [{state}; {m.status_note}]"
    lines = [head]
    for r in m.reasons:
        if r.outcome == "passes":
            continue
        values = ", ".join(f"{k} = {v}" for k, v in r.values.items())
        lines.append(
            f"  {r.label}: {r.text}"
            + (f" (case: {values})" if values else "")
            + f'\n      quote: "{r.quote}"'
        )
    for x in m.missing:
        # By label and whom to ask, as the case's text output (netmdt.cli_text): no path.
        lines.append(
            f"  missing: {field_label(kb, x.field)} — {who_to_ask(x.field)}: {x.how_to_find_out}"
        )
    for q in m.manual_checks:
        lines.append(f"  check by hand: {q}")
    for s in m.sites[:5]:
        dist = f", {s.distance_km:.0f} km" if s.distance_km is not None else ""
        lines.append(
            f"  site: {s.name} ({s.country or '?'}: {s.status or 'status not given'}{dist})"
        )
    for w in m.warnings:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


@trials_app.command("import")
def import_cmd(
    source: Annotated[
        Path, typer.Argument(help="A v2 study JSON file, a search response, or a folder of them.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the draft cards.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing cards.")] = False,
) -> None:
    """ClinicalTrials.gov v2 JSON -> draft cards (DIR/<id>.yaml), every free-text bullet
    under eligibility.manual_check until encoded. Reads files only (no network)."""
    from netmdt.trials.ctgov import ImportProblem, draft_card, dump_card, read_studies

    try:
        studies = read_studies(source)
        cards = [draft_card(s, date.today(), str(f)) for f, s in studies]
    except (ImportProblem, ValueError) as e:
        err.print(str(e), markup=False)
        raise typer.Exit(2) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    for card in cards:
        path = out_dir / f"{card['id']}.yaml"
        if path.exists() and not force:
            err.print(f"{path} exists (use --force to overwrite)", markup=False)
            raise typer.Exit(2)
        path.write_text(dump_card(card), encoding="utf-8")
        todo = len(card["eligibility"]["manual_check"])
        out.print(f"{path}: draft card, {todo} bullet(s) to encode", markup=False)


@trials_app.command("refresh")
def refresh_cmd(
    from_: Annotated[
        Path, typer.Option("--from", help="Recorded v2 study JSON responses (file or folder).")
    ],
    audit: Annotated[
        bool,
        typer.Option(
            "--audit/--no-audit",
            help="Record one audit event per status change in the database (NETMDT_DATABASE_URL).",
        ),
    ] = True,
    kb: KbOption = None,
) -> None:
    """Diff recorded registry responses against the cards: one line (and one audit event)
    per status change. The cards are not rewritten: edit them, then `netmdt kb check`."""
    from netmdt.trials.ctgov import ImportProblem, diff, read_studies

    knowledge = _kb(kb)
    by_nct = {t.card.registry_ids.nct: t for t in knowledge.trials.values()}
    try:
        studies = read_studies(from_)
        changes = []
        for f, study in studies:
            nct = str(study.get("protocolSection", {}).get("identificationModule", {}).get("nctId"))
            trial = by_nct.get(nct)
            if trial is None:
                out.print(f"{f}: {nct}: no card with this NCT id (import it)", markup=False)
                continue
            changes += diff(trial.card, study)
    except (ImportProblem, ValueError) as e:
        err.print(str(e), markup=False)
        raise typer.Exit(2) from None
    for c in changes:
        out.print(str(c), markup=False)
    out.print(f"{len(changes)} change(s) in {len(studies)} record(s)", markup=False)
    if audit and changes:
        _audit_changes(changes)


def _audit_changes(changes: list[Any]) -> None:
    from netmdt.store.db import opened
    from netmdt.store.services import audit

    with opened() as db, db.begin():
        for c in changes:
            audit(
                db,
                "trials-refresh",
                "trial_status_change",
                "trial",
                c.trial,
                field=c.field,
                before=c.before,
                after=c.after,
            )
