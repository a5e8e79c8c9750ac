"""The ``netmdt`` command: assess cases, check, show and export the knowledge base.

Exit codes: 0 success; 1 a knowledge-base check found problems; 2 invalid input
(one line per problem on stderr, nothing on stdout).
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from netmdt.assessment import (
    VERDICTS,
    Assessment,
    AssessmentSummary,
    CentreReview,
    OptionAssessment,
)
from netmdt.case import Case, load_case, parse_case_json
from netmdt.cli_text import cited, missing_text, plain_paths, short_citations, trial_lines
from netmdt.engine.assess import assess, assess_summary
from netmdt.errors import CaseFileError, CohortError, NetmdtError, SettingsError
from netmdt.fhir.cli import fhir_app
from netmdt.governance.cli import install as install_governance
from netmdt.kb import KnowledgeBase, check_kb, load_kb
from netmdt.meeting.cli import app as meeting_app
from netmdt.registry.cli import registry_app
from netmdt.service_cli import db_app, serve, token_app, user_app
from netmdt.survey.cli import survey_app
from netmdt.trials.cli import trials_app
from netmdt.vocabulary import field_label, pathway_text, who_to_ask

app = typer.Typer(
    help="netmdt: decision support for the neuroendocrine tumour MDT.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Check, show and export the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
install_governance(kb_app)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.command("serve")(serve)
app.add_typer(fhir_app, name="fhir")
app.add_typer(survey_app, name="survey")
app.add_typer(trials_app, name="trials")
app.add_typer(registry_app, name="registry")
app.add_typer(meeting_app, name="meeting")
out = Console(highlight=False, soft_wrap=True)  # long lines wrap in the terminal, not here
err = Console(stderr=True, highlight=False)

KbOption = Annotated[
    Path | None, typer.Option("--kb", help="Knowledge-base folder (default: the bundled one).")
]
STYLE = {
    "recommended": "bold green",
    "consider": "green",
    "insufficient_information": "yellow",
    "not_recommended": "red",
    "contraindicated": "bold red",
}
WORDS = {
    "recommended": "RECOMMENDED",
    "consider": "CONSIDER",
    "insufficient_information": "INSUFFICIENT INFORMATION",
    "not_recommended": "NOT RECOMMENDED",
    "contraindicated": "CONTRAINDICATED",
}


class ViewName(StrEnum):
    full = "full"
    summary = "summary"


class Format(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    fhir = "fhir"


def _fail(error: NetmdtError) -> typer.Exit:
    for line in str(error).splitlines():
        err.print(line, markup=False, soft_wrap=True)
    return typer.Exit(2)


def _kb(path: Path | None) -> KnowledgeBase:
    try:
        return load_kb(path)
    except NetmdtError as e:
        raise _fail(e) from None


def _cases(paths: list[str]) -> Iterator[Case]:
    today = date.today()  # the edge supplies the date; the engine reads no clock
    for p in paths:
        if p == "-":
            for n, raw in enumerate(sys.stdin.buffer, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise CaseFileError(f"<stdin>:{n}: not UTF-8 text") from None
                if line.strip():
                    yield parse_case_json(line, source=f"<stdin>:{n}", today=today)
        else:
            yield load_case(p, today=today)


@app.command("assess")
def assess_cmd(
    cases: Annotated[
        list[str], typer.Argument(help="Case files (YAML/JSON), or - for JSON lines on stdin.")
    ],
    format: Annotated[
        Format | None, typer.Option("--format", "-f", help="text, json, jsonl or fhir.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Text: every criterion with its status and sources.")
    ] = False,
    view: Annotated[
        ViewName,
        typer.Option(
            "--view",
            help="full: every reason; summary: verdicts, deciding reasons, missing facts, "
            "pending checks, funding (json, jsonl and text).",
        ),
    ] = ViewName.full,
    kb: KbOption = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="The centre's database: its PRRT registry status, its knowledge-base release "
            "(local settings) and each criterion's review at the centre (reasons carry review "
            "as an object).",
        ),
    ] = None,
) -> None:
    """Assess cases: every option with its verdict, reasons, missing facts and funding."""
    knowledge = _kb(kb)
    governed = None
    if db is not None:
        from netmdt.governance.cli import centre

        knowledge, governed = centre(db, knowledge)
    many = len(cases) > 1 or "-" in cases
    fmt = format or (Format.jsonl if many else Format.text)
    if view is ViewName.summary and (fmt is Format.fhir or explain):
        err.print("--view summary goes with --format text, json or jsonl, without --explain")
        raise typer.Exit(2)
    try:
        read = list(_cases(cases))
        if view is ViewName.summary:  # validate all before printing
            summaries = [assess_summary(c, knowledge) for c in read]
        else:
            assessments = [assess(c, knowledge) for c in read]
            if governed is not None:
                assessments = [governed(a) for a in assessments]
    except NetmdtError as e:
        raise _fail(e) from None
    if view is ViewName.summary:
        for s in summaries:
            if fmt is Format.text:
                _print_summary_text(s, knowledge)
            elif fmt is Format.json and not many:
                print(s.model_dump_json(indent=2, exclude_defaults=True))
            else:
                print(s.to_json())
        return
    for c, a in zip(read, assessments, strict=True):
        if fmt is Format.fhir:
            from netmdt.fhir.output import to_fhir

            print(json.dumps(to_fhir(a, c), indent=None if many else 2))
        elif fmt is Format.text:
            _print_text(a, explain, knowledge)
        elif fmt is Format.json and not many:
            print(a.model_dump_json(indent=2))
        else:
            print(a.model_dump_json())


def _print_text(a: Assessment, explain: bool, kb: KnowledgeBase | None = None) -> None:
    approved: set[str] = set()
    if any(not isinstance(r.review, bool) for o in a.options for r in o.reasons):
        from netmdt.governance.service import approved_options

        approved = approved_options(a)  # made against a database: the centre's reviews
    out.print(
        f"[bold]Case {a.case_id or '(no id)'}[/bold] assessed on {a.assessed_on} with "
        f"knowledge base {a.knowledge_base.version} ({a.knowledge_base.fingerprint})"
    )
    names = short_citations(a.knowledge_base.sources)
    for verdict in VERDICTS:
        options = [o for o in a.options if o.verdict == verdict]
        if not options:
            continue
        table = Table(
            title=f"{WORDS[verdict]} ({len(options)})",
            title_style=STYLE[verdict],
            title_justify="left",
            show_lines=True,
            expand=True,
        )
        table.add_column("option", ratio=2)
        table.add_column("why", ratio=5)
        table.add_column("funding (NHS England)", ratio=2)
        for o in options:
            table.add_row(
                f"[{STYLE[verdict]}]{o.name}[/]\n{WORDS[verdict].lower()}"
                + ("\n(deciding criteria approved at this centre)" if o.option in approved else ""),
                _why(o, explain, names),
                _funding_text(o, explain),
            )
        out.print(table)
    if a.next_investigations:
        out.print("[bold]Next investigations[/bold] (most options settled first)")
        names = {o.option: o.name for o in a.options}
        for inv in a.next_investigations:
            settles = "; ".join(names.get(o, o) for o in inv.settles)
            out.print(
                f"  - {inv.label}: {inv.how_to_find_out} (settles {len(inv.settles)}: {settles})",
                markup=False,
            )
    if explain and a.trials:
        _print_trials(a, kb)
    for w in a.warnings:
        out.print("[yellow]warning:[/yellow] ", end="")
        out.print(plain_paths(w, kb), markup=False)


def _print_trials(a: Assessment, kb: KnowledgeBase | None) -> None:
    out.print("[bold]Trials[/bold] (every criterion; the centre's review when against a database)")
    for m in a.trials:
        arms = kb.trials[m.trial].card.arms if kb and m.trial in kb.trials else []
        label = next((arm.label for arm in arms if arm.id == m.arm), None)
        for line in trial_lines(m, label):
            out.print(line, markup=False)


def _print_summary_text(s: AssessmentSummary, kb: KnowledgeBase) -> None:
    out.print(
        f"[bold]Case {s.case_id or '(no id)'}[/bold] assessed on {s.assessed_on} with "
        f"knowledge base {s.knowledge_base.version} ({s.knowledge_base.fingerprint}); "
        "summary view"
    )
    for verdict in VERDICTS:
        options = [o for o in s.options if o.verdict == verdict]
        if not options:
            continue
        out.print(f"[{STYLE[verdict]}]{WORDS[verdict]} ({len(options)})[/]")
        for o in options:
            why = f": {o.deciding.status.upper()}: {o.deciding.text}" if o.deciding else ""
            out.print(f"  - {kb.options[o.option].name}{why}", markup=False, soft_wrap=True)
            if o.missing:
                missing = (f"{field_label(kb, m)} — {who_to_ask(m)}" for m in o.missing)
                out.print("      missing: " + "; ".join(missing), markup=False)
            for p in o.pending_checks:
                out.print(f"      subject to: {p.text} ({p.label})", markup=False)
            funding = pathway_text(o.funding.pathway, o.funding.registry_status)
            out.print(f"      funding: {funding}", markup=False)
    if s.next_investigations:
        fields = "; ".join(f"{i.label} — {who_to_ask(i.field)}" for i in s.next_investigations)
        out.print(f"[bold]Next investigations[/bold]: {fields}", soft_wrap=True)
    for w in s.warnings:
        out.print(f"[yellow]warning:[/yellow] {w}")


def _why(o: OptionAssessment, explain: bool, names: dict[str, str] | None = None) -> str:
    lines: list[str] = []
    deciding = {"consider": {"recommend_when"}}.get(
        o.verdict, {"applies_to", "contraindications", "requirements", "before_treatment"}
    )
    shown = (
        o.reasons
        if explain
        else [
            r
            for r in o.reasons
            if r.status != "met"
            and r.group in deciding
            and not (r.group == "before_treatment" and r.status == "unknown")  # pending
        ]
    )
    for r in shown:
        flag = _review_flag(r.review)
        src = cited(r.sources, names or {}) if explain else ""
        lines.append(f"{r.status.upper()}: {r.text}{flag}{src}")
    if o.missing:
        lines.append("Missing: " + missing_text(o.missing))
    if o.pending_checks and o.verdict in ("recommended", "consider"):
        lines.append(f"{o.verdict.capitalize()}, subject to: {pending_text(o)}")
    elif o.pending_checks:  # an open verdict: the checks come on top of the missing facts
        lines.append(f"Before treatment, also check: {pending_text(o)}")
    if explain:
        lines += [f"warning: {w}" for w in o.warnings]
        if o.counterfactual:
            lines.append(o.counterfactual)
    return "\n".join(lines) or "all criteria met"


def _review_flag(review: bool | CentreReview) -> str:
    """ " [review]" (the bundled flag), or the centre's review and local values."""
    if isinstance(review, bool):
        return " [review]" if review else ""
    from netmdt.governance.words import local_words, review_words

    return "".join(f" ({words})" for words in [review_words(review), *local_words(review)])


def pending_text(o: OptionAssessment) -> str:
    """The pending before-treatment checks in a line, by label: "ALT, Platelets"."""
    return ", ".join(dict.fromkeys(p.label for p in o.pending_checks))


def _funding_text(o: OptionAssessment, explain: bool) -> str:
    f = o.funding
    text = pathway_text(f.pathway, f.registry_status)
    return f"{text}\n{f.note}" if explain else text


@app.command("screen")
def screen_cmd(
    input: Annotated[
        Path | None, typer.Argument(help="Cohort: .parquet, .csv or .jsonl (or use --db).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Results: .parquet or .csv.")] = Path(
        "results.parquet"
    ),
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Screen the web app's stored cases (current versions) in this database "
            '(a SQLAlchemy URL, e.g. "$NETMDT_DATABASE_URL") instead of a file.',
        ),
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Only these options (repeatable).")
    ] = None,
    verdict: Annotated[
        list[str] | None, typer.Option("--verdict", help="Only rows with these verdicts.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            help="Only cases where a rule expression holds, e.g. "
            '"not has_prior(prrt_lu177_dotatate)".',
        ),
    ] = None,
    assessed_on: Annotated[
        str | None,
        typer.Option("--assessed-on", help="Date for cases without one (default today)."),
    ] = None,
    trial: Annotated[
        str | None,
        typer.Option("--trial", help="Screen for one trial card instead: a row per case and arm."),
    ] = None,
    kb: KbOption = None,
) -> None:
    """Screen a whole cohort in SQL (DuckDB): a row per case and option (or trial arm)."""
    from netmdt.cohort.screen import screen

    knowledge = _kb(kb)
    try:
        day = date.fromisoformat(assessed_on) if assessed_on else date.today()
    except ValueError:
        err.print(f"--assessed-on: {assessed_on!r} is not an ISO date (YYYY-MM-DD)")
        raise typer.Exit(2) from None
    if (input is None) == (db is None):
        err.print("give either a cohort file or --db URL, not both or neither")
        raise typer.Exit(2)
    try:
        with _stored_cases(db) as stored:
            source = stored or input
            assert source is not None  # one of the two, checked above
            if db is not None and kb is None:  # the centre's release: local settings apply
                from netmdt.governance.cli import centre

                knowledge = centre(db, knowledge)[0]
            if trial is not None:
                from netmdt.trials.screen import screen_trial

                counts = screen_trial(knowledge, trial, source, out, day)
                for v in ("eligible", "possibly_eligible", "not_eligible"):
                    print(f"{trial} {v}: {counts.get(v, 0):,}")
                return
            summary = screen(
                knowledge,
                source,
                out,
                day,
                options=option,
                verdicts=verdict,
                where=where,
                progress=err,
            )
    except NetmdtError as e:
        raise _fail(e) from None
    table = Table(title=f"{summary.cases:,} cases screened -> {out}", title_justify="left")
    table.add_column("option")
    for v in VERDICTS:
        table.add_column(WORDS[v].lower(), justify="right")
    for opt, counts in summary.counts.items():
        table.add_row(opt, *(f"{counts.get(v, 0):,}" for v in VERDICTS))
    out_console = Console(highlight=False)
    out_console.print(table)


@contextmanager
def _stored_cases(url: str | None) -> Iterator[Path | None]:
    """The web app's stored cases as a temporary JSON-lines cohort (None without --db)."""
    if url is None:
        yield None
        return
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from netmdt.store.db import opened
    from netmdt.store.services import stored_cohort

    try:
        with opened(url) as session:
            cases = stored_cohort(session, "netmdt-cli")
    # The message never shows the URL: it may hold a password.
    except (ArgumentError, SQLAlchemyError, CommandError, ValueError) as exc:
        raise CohortError(f"--db: cannot read the database ({type(exc).__name__})") from None
    with tempfile.TemporaryDirectory(prefix="netmdt-db-") as folder:
        path = Path(folder) / "stored.jsonl"
        path.write_text("".join(json.dumps(c) + "\n" for c in cases))
        yield path


@app.command("synth")
def synth_cmd(
    out: Annotated[Path, typer.Option("--out", help=".parquet, .csv or .jsonl.")],
    n: Annotated[int, typer.Option("--n", min=1, help="How many cases.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same cohort).")] = 1,
) -> None:
    """Generate a realistic synthetic NET cohort (see docs/synthetic-cohorts.md)."""
    from netmdt.cohort.table import flat_row, write_flat
    from netmdt.synth import synthetic_cases

    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv", ".jsonl"):
        err.print(f"--out: unknown format {out.suffix!r}; allowed: .parquet, .csv, .jsonl")
        raise typer.Exit(2)
    cases = synthetic_cases(n, seed)
    if suffix == ".jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for case in cases:
                fh.write(json.dumps(case, default=str) + "\n")
    else:
        write_flat((flat_row(c) for c in cases), out)
    print(f"wrote {n:,} synthetic cases (seed {seed}) to {out}")


@kb_app.command("check")
def kb_check(
    kb: KbOption = None,
    review: Annotated[
        bool, typer.Option("--review", help="List the criteria marked review: needed.")
    ] = False,
) -> None:
    """Check the knowledge base; list every problem; exit 1 if there is one."""
    loaded, problems = check_kb(kb)
    for p in problems:
        print(f"{p}  [{p.code}]")
    if problems or loaded is None:
        err.print(f"{len(problems)} problem(s)")
        raise typer.Exit(1)
    criteria = [c for o in loaded.options.values() for c in o.criteria]
    if review:
        for o in loaded.options.values():
            for c in o.criteria:
                if c.review:
                    print(f"review needed: {o.id}.{c.id} ({c.evidence})")
    print(
        f"ok: knowledge base {loaded.version} ({loaded.fingerprint}): {len(loaded.options)} "
        f"options, {len(criteria)} criteria ({sum(c.review for c in criteria)} marked for "
        f"clinical review), {len(loaded.sources)} sources, {len(loaded.trials)} trial cards, "
        f"{len(loaded.parameters)} local settings (each declared, used and shown)"
    )


@kb_app.command("show")
def kb_show(
    option: Annotated[str, typer.Argument(help="An option id.")], kb: KbOption = None
) -> None:
    """An option's criteria in clinician English, with their sources."""
    knowledge = _kb(kb)
    if option not in knowledge.options:
        err.print(f"unknown option {option!r}; options: {', '.join(knowledge.options)}")
        raise typer.Exit(2)
    o = knowledge.options[option]
    out.print(f"[bold]{o.name}[/bold] ({o.id})\n{o.summary}")
    for group, criteria in o.groups.items():
        out.print(f"\n[bold]{group}[/bold]")
        for c in criteria:
            review = " [review needed]" if c.review else ""
            out.print(f"  {c.id}: {c.text}{review}")
            out.print(f"      rule: {c.expr.describe()}", markup=False)
            out.print(f"      evidence {c.evidence}; sources: {', '.join(c.sources)}")
            if c.group_reason:
                out.print(f"      why in {group}: {c.group_reason}", markup=False)
    out.print("\n[bold]warnings[/bold]")
    for w in o.warnings:
        out.print(f"  {w.id}: {w.text}", markup=False)


@kb_app.command("export")
def kb_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write one CSV per option into.")],
    format: Annotated[str, typer.Option("--format", help="Only csv.")] = "csv",
    kb: KbOption = None,
) -> None:
    """One decision table per option (CSV), for clinical review."""
    if format != "csv":
        err.print(f"--format: {format!r} is not supported; allowed: csv")
        raise typer.Exit(2)
    knowledge = _kb(kb)
    directory.mkdir(parents=True, exist_ok=True)
    for o in knowledge.options.values():
        with (directory / f"{o.id}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
                    "option",
                    "group",
                    "criterion",
                    "text",
                    "rule",
                    "reads",
                    "evidence",
                    "review",
                    "disagreement",
                    "sources",
                    "if_not_met",
                    "group_reason",
                ]
            )
            for c in o.criteria:
                w.writerow(
                    [
                        o.id,
                        c.group,
                        c.id,
                        c.text,
                        c.expr.describe(),
                        " ".join(c.reads),
                        c.evidence,
                        "needed" if c.review else "",
                        c.disagreement or "",
                        " ".join(c.sources),
                        c.if_not_met or "",
                        c.group_reason or "",
                    ]
                )
    print(f"wrote {len(knowledge.options)} decision tables to {directory}")


@kb_app.command("diff")
def kb_diff(
    old: Annotated[Path, typer.Argument(help="The old knowledge-base folder.")],
    new: Annotated[Path, typer.Argument(help="The new knowledge-base folder.")],
    cohort: Annotated[
        Path | None, typer.Option("--cohort", help="Screen this cohort with both.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Changed verdicts (.parquet or .csv).")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Use the web app's stored cases (this database) as the cohort."),
    ] = None,
) -> None:
    """What changed between two knowledge bases and, with a cohort, whose verdicts change."""
    from netmdt.cohort.diff import cohort_changes, criteria_changes

    a, b = _kb(old), _kb(new)
    out_console = Console(highlight=False)
    out_console.print(f"{a.version} ({a.fingerprint}) -> {b.version} ({b.fingerprint})")
    changes = criteria_changes(a, b)
    table = Table(title=f"{len(changes)} change(s) to criteria and funding", title_justify="left")
    for name in ("option", "item", "change", "detail"):
        table.add_column(name)
    for c in changes:
        table.add_row(c.option, c.item, c.kind, c.detail)
    out_console.print(table)
    if cohort is not None and db is not None:
        err.print("give either --cohort FILE or --db URL, not both")
        raise typer.Exit(2)
    if cohort is None and db is None:
        return
    try:
        with _stored_cases(db) as stored:
            source = stored or cohort
            assert source is not None
            result = cohort_changes(a, b, source, date.today(), out)
    except NetmdtError as e:
        raise _fail(e) from None
    moved = Table(
        title=f"verdict or funding changes over {result.cases:,} cases", title_justify="left"
    )
    for name in ("option", "old verdict", "new verdict", "cases"):
        moved.add_column(name)
    for (option, o, n), count in result.counts.items():
        moved.add_row(option, o, n, f"{count:,}")
    out_console.print(moved)


@kb_app.command("schema")
def kb_schema() -> None:
    """JSON Schema of the option-file format (for editors)."""
    from netmdt.kb.schema import OptionSpec

    print(json.dumps(OptionSpec.model_json_schema(), indent=2))


def main() -> None:
    try:
        app(prog_name="netmdt")
    except SettingsError as error:  # from any command that reads the settings
        for line in str(error).splitlines():
            err.print(line, markup=False, soft_wrap=True)
        err.print("The NETMDT_* settings and what each allows are listed in docs/web.md.")
        sys.exit(2)


if __name__ == "__main__":
    main()
