"""``netmdt kb review ...``, ``netmdt kb settings ...``, ``netmdt kb release ...`` and
``netmdt kb governance-report``: the governance service from the command line.

Each command opens the database (``--db URL``, default ``NETMDT_DATABASE_URL``) and
migrates it; a write names its clinical lead with ``--as USER`` (an active user with
the clinical_lead role) and is audited under that name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from netmdt.assessment import Assessment
from netmdt.errors import NetmdtError, RecordValidationError
from netmdt.governance import service as gov
from netmdt.kb.model import KnowledgeBase, Source

review_app = typer.Typer(help="Clinical review of the knowledge base.", no_args_is_help=True)
settings_app = typer.Typer(help="The centre's local settings.", no_args_is_help=True)
release_app = typer.Typer(help="Releases of the centre's knowledge base.", no_args_is_help=True)
round_app = typer.Typer(
    help="Review rounds with several reviewers (a clinical lead opens, closes or cancels "
    "them and may invite more reviewers).",
    no_args_is_help=True,
)
review_app.add_typer(round_app, name="round")

err = Console(stderr=True, highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: NETMDT_DATABASE_URL or the SQLite file)."),
]
AsOption = Annotated[
    str, typer.Option("--as", help="The clinical lead (a user with the clinical_lead role).")
]
CommentOption = Annotated[str | None, typer.Option("--comment", help="The reviewer's comment.")]


class StateName(StrEnum):
    awaiting = "awaiting"
    approved = "approved"
    lapsed = "lapsed"
    rejected = "rejected"
    needs_discussion = "needs_discussion"


class Fmt(StrEnum):
    text = "text"
    json = "json"


@contextmanager
def _db(url: str | None) -> Iterator[Session]:
    """A session on the database, errors as the CLI contract (exit 2, one line each)."""
    from netmdt.store.db import opened

    try:
        with opened(url) as db:
            yield db
    except RecordValidationError as error:
        for problem in error.problems:
            err.print(f"error: {problem}", markup=False)
        raise typer.Exit(2) from None
    except NetmdtError as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(2) from None


def _state_json(w: gov.WorkItem | gov.ItemState) -> dict[str, Any]:
    s = w.state if isinstance(w, gov.WorkItem) else w
    r = s.review
    row: dict[str, Any] = {
        "item": s.item.id,
        "kind": s.item.kind,
        "state": s.state,
        "text": s.item.text,
        "evidence": s.item.evidence,
        "review": None
        if r is None
        else {
            "status": r.status,
            "by": r.reviewer,
            "on": str(gov._day(r.created_at)),
            "comment": r.comment,
        },
    }
    if isinstance(w, gov.WorkItem):
        row |= {"cases": w.cases, "decisions": w.decisions, "deviations": w.deviations}
    if s.reopened_by:
        row["reopened_by_decisions"] = s.reopened_by
    return row


@review_app.command("list")
def review_list(
    status: Annotated[
        StateName | None,
        typer.Option("--status", help="Only items in this state (default: the worklist)."),
    ] = None,
    option: Annotated[
        str | None,
        typer.Option(
            "--option", help="Only this option's items (an option id) or a trial's (trial:ID)."
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", help="Words that must all appear in the item's id, text or rule."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many items.")
    ] = gov.WORK_PAGE_SIZE,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many items.")] = 0,
    format: Annotated[Fmt, typer.Option("--format", help="text or json.")] = Fmt.text,
    db: DbOption = None,
) -> None:
    """The worklist (items awaiting review, lapsed or needing discussion, ranked by how
    many stored cases and recent decisions they decide), or the items in one state;
    filtered and paged as the web worklist (the same service)."""
    with _db(db) as session:
        kb = gov.centre_kb(session)
        found = gov.work_page(
            session,
            kb,
            state=status.value if status is not None else "",
            scope=option or "",
            text=text or "",
            offset=offset,
            limit=limit,
        )
    if format is Fmt.json:
        print(json.dumps([_state_json(w) for w in found.rows], indent=2, default=str))
    else:
        for w in found.rows:
            s = w.state
            print(
                f"{s.item.id}\t{s.state}\tcases {w.cases}\tdecisions {w.decisions}"
                + (f"\tdeviations {len(w.deviations)}" if w.deviations else "")
            )
    shown = (
        f"{found.offset + 1}-{found.offset + len(found.rows)} of {found.total}"
        if found.rows
        else f"none of {found.total}"
    )
    err.print(f"{shown} item(s)")


@review_app.command("show")
def review_show(
    item: Annotated[
        str, typer.Argument(help="option.criterion, e.g. thermal_ablation.few_lesions")
    ],
    format: Annotated[Fmt, typer.Option("--format", help="text or json.")] = Fmt.text,
    db: DbOption = None,
) -> None:
    """One item: its rule in clinician English, sources, disagreement, review history and,
    when its review lapsed, what changed."""
    with _db(db) as session:
        kb = gov.centre_kb(session)
        gov.find_item(kb, item)
        state = gov.item_states(session, kb)[item]
        history = gov.review_history(session, item)
    it = state.item
    if format is Fmt.json:
        body = _state_json(state) | {
            "rule": it.rule,
            "sources": list(it.sources),
            "disagreement": it.disagreement,
            "local_settings": list(it.params),
            "fingerprint": it.fingerprint,
            "diff": state.diff(),
            "examples": gov.example_cases(kb).get(item, []),
            "history": [
                {"status": r.status, "by": r.reviewer, "on": str(gov._day(r.created_at))}
                for r in history
            ],
        }
        print(json.dumps(body, indent=2, default=str))
        return
    lines = [
        f"{it.id} ({it.kind.replace('_', ' ')}, {it.group}): {state.state}",
        f"text: {it.text}",
        f"rule: {it.rule}",
        f"evidence {it.evidence}; sources: "
        + "; ".join(
            [_source_line(kb.sources.get(s), s) for s in it.sources]
            + ([f"<{it.url}>"] if it.url else [])
        ),
    ]
    if it.quote:
        lines.append(f"registry line: {it.quote}")
    if it.disagreement and it.disagreement in kb.disagreements:
        lines.append(kb.disagreements[it.disagreement].summary())
    for name in it.params:
        p = kb.parameters[name]
        lines.append(
            f"local setting: {name} = {gov._num(p.value)} {p.unit} (allowed {p.allowed()})"
        )
    examples = gov.example_cases(kb).get(item, [])
    if examples:
        lines.append("decides the bundled examples: " + ", ".join(examples))
    for r in history:
        comment = f": {r.comment}" if r.comment else ""
        via = f" (round {r.round_id})" if r.round_id else ""
        lines.append(f"review: {r.status} by {r.reviewer}, {gov._day(r.created_at)}{via}{comment}")
    lines += state.diff()
    for line in lines:
        print(line)


def _source_line(source: Source | None, sid: str) -> str:
    if source is None:
        return sid
    return source.citation + (f" <{source.url}>" if source.url else "")


def _review(item: str, verdict: str, user: str, comment: str | None, db: str | None) -> None:
    with _db(db) as session:
        actor = gov.reviewer(session, user)
        kb = gov.centre_kb(session)
        state = gov.record_review(session, actor, kb, item, verdict, comment)
    err.print(f"{item}: {verdict} by {user} ({state.item.fingerprint})", markup=False)


@review_app.command("approve")
def review_approve(
    item: Annotated[str, typer.Argument(help="option.criterion")],
    as_: AsOption,
    comment: CommentOption = None,
    local_change: Annotated[
        bool,
        typer.Option("--local-change", help="Approved with a local change (say which)."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Approve an item as it is now (the review lapses when its content changes)."""
    _review(item, "approved_with_local_change" if local_change else "approved", as_, comment, db)


@review_app.command("reject")
def review_reject(
    item: Annotated[str, typer.Argument(help="option.criterion")],
    as_: AsOption,
    comment: CommentOption = None,
    db: DbOption = None,
) -> None:
    """Reject an item (a comment saying why is required)."""
    _review(item, "rejected", as_, comment, db)


@review_app.command("discuss")
def review_discuss(
    item: Annotated[str, typer.Argument(help="option.criterion")],
    as_: AsOption,
    comment: CommentOption = None,
    db: DbOption = None,
) -> None:
    """Mark an item as needing discussion (a comment is required)."""
    _review(item, "needs_discussion", as_, comment, db)


class VerdictName(StrEnum):
    approved = "approved"
    approved_with_local_change = "approved_with_local_change"
    rejected = "rejected"
    needs_discussion = "needs_discussion"


VerdictOption = Annotated[VerdictName, typer.Option("--verdict", help="The verdict.")]


def _round_lines(rnd: Any) -> list[str]:
    body = rnd.as_json()
    lines = [
        f"round {body['round']} ({body['state']}), opened by {body['opened_by']} "
        f"{body['opened_on']}" + (f": {body['note']}" if body["note"] else ""),
        "items: " + ", ".join(body["items"]),
        "reviewers: " + ", ".join(body["reviewers"]),
    ]
    for r in body["responses"]:
        comment = f": {r['comment']}" if r["comment"] else ""
        lines.append(f"  {r['reviewer']}: {r['verdict']} ({r['on']}){comment}")
    if body["waiting_for"] and body["state"] == "open":
        lines.append("waiting for: " + ", ".join(body["waiting_for"]))
    if body["state"] == "closed":
        comment = f": {body['comment']}" if body["comment"] else ""
        lines.append(
            f"closed by {body['closed_by']} {body['closed_on']}: {body['verdict']}{comment}"
        )
    if body["state"] == "cancelled":
        lines.append(
            f"cancelled by {body['closed_by']} {body['closed_on']}: {body['comment']} "
            "(no review recorded)"
        )
    return lines


@round_app.command("open")
def round_open(
    items: Annotated[list[str], typer.Argument(help="option.criterion or trial:TRIAL.CRITERION")],
    as_: AsOption,
    reviewer: Annotated[
        list[str],
        typer.Option("--reviewer", help="An invited reviewer (clinical_lead or clinician)."),
    ],
    note: Annotated[str | None, typer.Option("--note", help="What the round is for.")] = None,
    db: DbOption = None,
) -> None:
    """Open a review round over one or more items, inviting named reviewers."""
    from netmdt.governance import rounds

    with _db(db) as session:
        actor = rounds.user_actor(session, as_)
        rnd = rounds.open_round(session, actor, gov.centre_kb(session), items, reviewer, note)
        print(f"round {rnd.row.id} opened")


@round_app.command("show")
def round_show(
    round_id: Annotated[int, typer.Argument(help="The round's number.")],
    format: Annotated[Fmt, typer.Option("--format", help="text or json.")] = Fmt.text,
    db: DbOption = None,
) -> None:
    """A round: its items, reviewers, their responses and its final review."""
    from netmdt.governance import rounds

    with _db(db) as session:
        rnd = rounds.get_round(session, round_id)
        if format is Fmt.json:
            print(json.dumps(rnd.as_json(), indent=2))
            return
        for line in _round_lines(rnd):
            print(line)


@round_app.command("respond")
def round_respond(
    round_id: Annotated[int, typer.Argument(help="The round's number.")],
    as_: Annotated[str, typer.Option("--as", help="An invited reviewer.")],
    verdict: VerdictOption,
    comment: CommentOption = None,
    db: DbOption = None,
) -> None:
    """An invited reviewer's verdict and comment (once per round)."""
    from netmdt.governance import rounds

    with _db(db) as session:
        actor = rounds.user_actor(session, as_)
        rounds.respond(session, actor, round_id, verdict.value, comment)
    err.print(f"round {round_id}: {verdict.value} by {as_}", markup=False)


@round_app.command("close")
def round_close(
    round_id: Annotated[int, typer.Argument(help="The round's number.")],
    as_: AsOption,
    verdict: VerdictOption,
    comment: CommentOption = None,
    db: DbOption = None,
) -> None:
    """Close the round with the final review (the review record that counts)."""
    from netmdt.governance import rounds

    with _db(db) as session:
        actor = rounds.user_actor(session, as_)
        rnd = rounds.close_round(session, actor, round_id, verdict.value, comment)
    err.print(
        f"round {round_id} closed: {verdict.value} by {as_} ({len(rnd.row.items)} item(s))",
        markup=False,
    )


@round_app.command("invite")
def round_invite(
    round_id: Annotated[int, typer.Argument(help="The round's number.")],
    as_: AsOption,
    reviewer: Annotated[
        list[str],
        typer.Option("--reviewer", help="A reviewer to add (clinical_lead or clinician)."),
    ],
    db: DbOption = None,
) -> None:
    """Add reviewers to an open round."""
    from netmdt.governance import rounds

    with _db(db) as session:
        actor = rounds.user_actor(session, as_)
        rnd = rounds.invite(session, actor, round_id, reviewer)
    err.print(
        f"round {round_id}: invited {', '.join(dict.fromkeys(reviewer))}; reviewers now "
        f"{', '.join(rnd.row.reviewers)}",
        markup=False,
    )


@round_app.command("cancel")
def round_cancel(
    round_id: Annotated[int, typer.Argument(help="The round's number.")],
    as_: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why the round is cancelled.")],
    db: DbOption = None,
) -> None:
    """Cancel an open round (no review is recorded; the responses stay)."""
    from netmdt.governance import rounds

    with _db(db) as session:
        actor = rounds.user_actor(session, as_)
        rounds.cancel_round(session, actor, round_id, reason)
    err.print(f"round {round_id} cancelled by {as_}", markup=False)


@settings_app.command("list")
def settings_list(
    format: Annotated[Fmt, typer.Option("--format", help="text or json.")] = Fmt.text,
    db: DbOption = None,
) -> None:
    """Every declared parameter: default, allowed values, the recorded local value and
    the value in force (the active release's)."""
    with _db(db) as session:
        from netmdt.kb import load_kb

        exported = gov.export_settings(session, load_kb())
    if format is Fmt.json:
        print(json.dumps(exported, indent=2, default=str))
        return
    from netmdt.kb import load_kb

    kb = load_kb()
    for name, s in exported["settings"].items():
        p = kb.parameters[name]
        recorded = "default" if s["value"] is None else gov._num(s["value"])
        who = f" (set by {s['set_by']}, {s['set_on']})" if s["set_by"] else ""
        print(
            f"{name}\tin force {gov._num(s['in_force'])} {p.unit}\trecorded {recorded}{who}\t"
            f"default {gov._num(p.default)}\tallowed {p.allowed()}\tused by " + ", ".join(p.used_by)
        )


@settings_app.command("set")
def settings_set(
    name: Annotated[str, typer.Argument(help="A declared parameter.")],
    value: Annotated[str, typer.Argument(help="The local value, or 'default'.")],
    as_: AsOption,
    comment: CommentOption = None,
    db: DbOption = None,
) -> None:
    """Record a local value (validated, audited); it applies once a release holding it is
    activated (``netmdt kb release activate``)."""
    from netmdt.kb import load_kb

    with _db(db) as session:
        actor = gov.reviewer(session, as_)
        number = None if value == "default" else gov.parse_value(value)
        gov.set_setting(session, actor, load_kb(), name, number, comment)
    err.print(
        f"{name} = {value} recorded by {as_}; activate a release to apply it "
        "(netmdt kb release activate --as USER)",
        markup=False,
    )


@settings_app.command("export")
def settings_export(
    out_file: Annotated[Path, typer.Argument(help="A JSON file to write.")],
    db: DbOption = None,
) -> None:
    """Write the settings (recorded, in force, who set them) to a file."""
    from netmdt.kb import load_kb

    with _db(db) as session:
        exported = gov.export_settings(session, load_kb())
    out_file.write_text(json.dumps(exported, indent=2, default=str) + "\n")
    err.print(f"wrote {out_file}", markup=False)


def _impact_lines(draft: gov.Draft) -> list[str]:
    lines = [
        f"release: knowledge base {draft.kb.version}, settings {draft.settings or 'defaults'}, "
        f"{len(draft.reviews)} review record(s); fingerprint {draft.fingerprint}",
        f"impact over {draft.cases} stored case(s): {len(draft.changes)} verdict or funding "
        "change(s)",
    ]
    for c in draft.changes:
        lines.append(
            f"  {c['case_id']}\t{c['option']}\t{c['old_verdict']} -> {c['new_verdict']}"
            + (
                f"\tfunding {c['old_funding_pathway']} -> {c['new_funding_pathway']}"
                if c["old_funding_pathway"] != c["new_funding_pathway"]
                else ""
            )
        )
    return lines


@release_app.command("show")
def release_show(db: DbOption = None) -> None:
    """The release in force, the releases before it, and what activating the recorded
    settings and reviews would change (the impact on the stored cases)."""
    with _db(db) as session:
        active = gov.active_release(session)
        history = gov.releases(session)
        draft = gov.draft_release(session)
    print(f"in force: {active.release if active else 'none (the bundled defaults)'}")
    for r in history:
        print(
            f"  {r.release}\t{r.fingerprint}\t{gov._day(r.activated_at)}\t{r.activated_by}"
            + ("\tactive" if r.active else "")
        )
    for line in _impact_lines(draft):
        print(line)


@release_app.command("activate")
def release_activate(
    as_: AsOption,
    yes: Annotated[
        bool, typer.Option("--yes", help="Activate without asking (after reading the impact).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Show the impact on the stored cases, then activate the release (clinical lead) and
    re-assess every stored case under it."""
    with _db(db) as session:
        actor = gov.reviewer(session, as_)
        draft = gov.draft_release(session)
        for line in _impact_lines(draft):
            print(line)
        if not yes and not typer.confirm("Activate this release?"):
            raise typer.Exit(1)
        release = gov.activate_release(session, actor, draft)
    err.print(f"release {release.release} activated by {as_}", markup=False)


def report_cmd(
    format: Annotated[Fmt, typer.Option("--format", help="text or json.")] = Fmt.text,
    db: DbOption = None,
) -> None:
    """The governance report for the clinical-safety officer: review coverage by option,
    lapsed and rejected items, local settings, release history."""
    with _db(db) as session:
        report = gov.report(session, gov.centre_kb(session))
    if format is Fmt.json:
        print(json.dumps(report, indent=2, default=str))
        return
    for line in gov.report_lines(report):
        print(line)


def install(kb_app: typer.Typer) -> None:
    """Add the governance commands under ``netmdt kb``."""
    kb_app.add_typer(review_app, name="review")
    kb_app.add_typer(settings_app, name="settings")
    kb_app.add_typer(release_app, name="release")
    kb_app.command("governance-report")(report_cmd)


def centre(url: str, kb: KnowledgeBase) -> tuple[KnowledgeBase, Callable[[Assessment], Assessment]]:
    """For ``netmdt assess --db`` and ``netmdt screen --db``: the centre's knowledge base,
    as the web app has it (the PRRT registry's status; the trials open at our centre,
    from ``NETMDT_TRIALS_CENTRE`` and ``NETMDT_TRIALS_OPEN_HERE``; the active release's
    local settings, when ``kb`` is the bundled one) and a function giving an assessment
    the centre's reviews. The settings are read before the database is opened. Read
    once: the assessments of one run share them."""
    from netmdt.config import load_settings
    from netmdt.registry.status import centre_kb as with_registry_status
    from netmdt.registry.status import current_status
    from netmdt.trials.local import localised_by_settings

    settings = load_settings()
    with _db(url) as session:
        kb = localised_by_settings(with_registry_status(kb, current_status(session)), settings)
        centre_kb = gov.centre_kb(session, kb)
        states = gov.item_states(session, centre_kb)
        by = gov.settings_set_by(session)
    return centre_kb, lambda a: gov.governed_with(a, centre_kb, states, by)
