"""The whole knowledge base as one SQL query over a flat case table.

The query computes, for every case and option, what ``netmdt.assess`` computes in
Python: the verdict (the same fixed procedure), the funding pathway and registry
status, the missing facts (the unknown fields that keep a *relevant* unknown
criterion unknown) and the pending checks (the unknown fields of the unknown
``before_treatment`` criteria, on positive and open verdicts: the fields of the
assessment's ``pending_checks``). SQL NULL is Kleene unknown. A differential test
holds the two executions to the same answers.

Shape::

    WITH c AS (SELECT id, <each criterion and funding rule as a column> FROM cases)
    SELECT id AS case_id, 'option' AS option, <verdict>, <funding>, <missing> FROM c
    UNION ALL ...

Trials: every trial card that is not closed gets a verdict column per case (one per arm
where some criterion is arm-specific), its criteria planned with the options' (the same
compiler, shared subexpressions computed once) and its verdict the procedure of
``netmdt.trials.match.verdict_of``. ``derived.open_trial_eligible`` is then a column of
those verdicts, as ``netmdt.engine.assess`` sets the fact: TRUE when a trial open at our
centre (``kb.trials_local``) is eligible, NULL when one is possibly eligible, else FALSE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netmdt.assessment import VERDICTS
from netmdt.cohort.plan import WORD_BITS, Planner
from netmdt.engine.expr import sql_literal
from netmdt.engine.sql import TEXT, cast, quote
from netmdt.kb.model import Criterion, KnowledgeBase, Option
from netmdt.trials.load import Trial
from netmdt.trials.match import Local, is_closed, open_here

HEALTH_SYSTEM = "context__health_system"
BEFORE = "before_treatment"
OPEN_TRIAL = "derived.open_trial_eligible"
TRIAL_VERDICTS = ("eligible", "possibly_eligible", "not_eligible")


@dataclass(frozen=True)
class _TrialArm:
    """One trial (or arm) the assessment lists: a verdict column of the screen."""

    trial: Trial
    arm: str | None
    here: bool  # open at our centre (a recruiting site that is us, or the local setting)

    @property
    def name(self) -> str:
        return "trial__" + self.trial.id + (f"__{self.arm}" if self.arm else "")


def _trial_arms(kb: KnowledgeBase) -> list[_TrialArm]:
    """As ``netmdt.trials.match.match_trials`` lists them for the assessment: every card
    that is not closed, in the knowledge base's order, per arm where some criterion is
    arm-specific."""
    local = kb.trials_local or Local()
    out = []
    for trial in kb.trials.values():
        if is_closed(trial.card):
            continue
        here = open_here(trial.card, local)
        arms = tuple(a.id for a in trial.card.arms) if trial.arm_specific else (None,)
        out += [_TrialArm(trial, arm, here) for arm in arms]
    return out


def trial_columns(kb: KnowledgeBase) -> tuple[str, ...]:
    """The names of the screen's trial verdict columns: ``trial__<card id>``, or
    ``trial__<card id>__<arm id>`` per arm (docs/cohort.md)."""
    return tuple(a.name for a in _trial_arms(kb))


def _plan_trials(arms: list[_TrialArm], planner: Planner) -> list[str]:
    """Plan each arm's verdict (a column per arm) and, when some trial is open here,
    ``derived.open_trial_eligible`` from the verdicts of those open here."""
    columns, here = [], []
    for a in arms:
        refs = [(c, *planner.ref(c.expr)) for c in a.trial.criteria_for(a.arm)]
        if not refs:
            columns.append("'eligible'")
            here += ["'eligible'"] if a.here else []
            continue
        # verdict_of: an inclusion false or an exclusion true fails; else one unknown
        fails = " OR ".join(
            f"{ref} IS {'TRUE' if c.kind == 'exclusion' else 'FALSE'}" for c, ref, _ in refs
        )
        unknown = " OR ".join(f"{ref} IS NULL" for _, ref, _ in refs)
        verdict = (
            f"CASE WHEN {fails} THEN 'not_eligible' "
            f"WHEN {unknown} THEN 'possibly_eligible' ELSE 'eligible' END"
        )
        height = 1 + max(h for _, _, h in refs)
        columns.append(planner.column(verdict, height))
        if a.here:
            here.append(columns[-1])
    if here:
        height = 1 + max(planner.height_of(v) for v in here)
        eligible = " OR ".join(f"{v} = 'eligible'" for v in here)
        possibly = " OR ".join(f"{v} = 'possibly_eligible'" for v in here)
        fact = f"CASE WHEN {eligible} THEN TRUE WHEN {possibly} THEN NULL ELSE FALSE END"
        planner.derived[OPEN_TRIAL] = (planner.column(fact, height), height)
        # a shared definition planned for a trial read the fact from the case alone: the
        # options plan their nodes afresh (identical SQL is still one column)
        planner.forget_nodes()
    return columns


@dataclass
class _OptionSql:
    """Builds one option's SELECT from the planned columns of its criteria."""

    option: Option
    planner: Planner

    def col(self, c: Criterion) -> str:
        return self.planner.ref(c.expr)[0]

    def any(self, group: str, test: str) -> str:
        """SQL: some criterion of the group has the value ``test`` (TRUE / FALSE / NULL)."""
        criteria = self.option.groups[group]
        if not criteria:
            return "FALSE"
        return "(" + " OR ".join(f"{self.col(c)} IS {test}" for c in criteria) + ")"

    def verdict(self) -> str:
        criteria = self.option.groups["recommend_when"]
        all_true = " AND ".join(f"{self.col(c)} IS TRUE" for c in criteria) or "TRUE"
        if self.failed("consider") != "FALSE":
            all_true = f"NOT {self.failed('consider')} AND {all_true}"
        open_ = " OR ".join(
            self.any(g, "NULL") for g in ("applies_to", "contraindications", "requirements")
        )
        return (
            "CASE "
            f"WHEN {self.any('applies_to', 'FALSE')} THEN 'not_recommended' "
            f"WHEN {self.contra_true()} THEN 'contraindicated' "
            f"WHEN {self.blocked()} THEN 'not_recommended' "
            f"WHEN {open_} THEN 'insufficient_information' "
            f"WHEN {all_true} THEN 'recommended' "
            "ELSE 'consider' END"
        )

    def failed(self, meaning: str) -> str:
        """SQL: a before_treatment check whose ``if_false`` is ``meaning`` is false."""
        checks = [c for c in self.option.groups.get(BEFORE, ()) if c.if_false == meaning]
        if not checks:
            return "FALSE"
        return "(" + " OR ".join(f"{self.col(c)} IS FALSE" for c in checks) + ")"

    def contra_true(self) -> str:
        """SQL: a contraindication holds, or a check that contraindicates failed."""
        if self.failed("contraindicated") == "FALSE":
            return self.any("contraindications", "TRUE")
        return f"({self.any('contraindications', 'TRUE')} OR {self.failed('contraindicated')})"

    def blocked(self) -> str:
        """SQL: a requirement, or a before_treatment check that defers, is false."""
        if self.failed("not_recommended") == "FALSE":
            return self.any("requirements", "FALSE")
        return f"({self.any('requirements', 'FALSE')} OR {self.failed('not_recommended')})"

    def relevance(self) -> list[str]:
        """Columns: may an unknown criterion of each group change the verdict? And is the
        verdict positive or open, so that unknown before_treatment checks are pending?
        (the SQL twins of ``engine.assess._relevant`` and ``_pending``)."""
        contra_true = self.contra_true()
        blocked = self.blocked()
        contra_open = self.any("contraindications", "NOT FALSE")
        if self.failed("contraindicated") != "FALSE":
            contra_open = f"({contra_open} OR {self.failed('contraindicated')})"
        rec_false = self.any("recommend_when", "FALSE")
        if self.failed("consider") != "FALSE":
            rec_false = f"({rec_false} OR {self.failed('consider')})"
        by_group = {
            "applies_to": f"NOT ({blocked} AND NOT {contra_open})",
            "contraindications": f"NOT {contra_true}",
            "requirements": f"NOT {contra_true} AND NOT {blocked}",
            "recommend_when": f"NOT {contra_true} AND NOT {blocked} AND NOT {rec_false}",
            BEFORE: f"NOT {contra_true} AND NOT {blocked}",  # not negative: pending
        }
        applies_false = self.any("applies_to", "FALSE")
        return [
            f"(NOT {applies_false} AND {condition}) AS {self.relevant(group)}"
            for group, condition in by_group.items()
            if self.option.groups.get(group)
        ]

    def relevant(self, group: str) -> str:
        return self.name(group)

    def missing_mask(self) -> list[str]:
        """Columns, a word each: the union of the unknown-field masks of the relevant
        unknown criteria (missing), and of the pending checks."""
        out = []
        for what, pending in (("missing", False), ("pending", True)):
            for word in range(self.planner.words):
                parts = [
                    f"CASE WHEN {self.col(c)} IS NULL AND {self.relevant(c.group)} "
                    f"THEN {mask} ELSE 0 END"
                    for c in self.option.criteria
                    if (c.group == BEFORE) == pending
                    and (mask := self.planner.mask(c.expr, word)) != "0"
                ]
                mask = cast(" | ".join(parts) or "0", self.planner.mask_type, self.planner.dialect)
                out.append(f"{mask} AS {self.mask_column(what, word)}")
        return out

    def mask_column(self, what: str = "missing", word: int = 0) -> str:
        return self.name(what if word == 0 else f"{what}{word}")

    def funding(self) -> tuple[str, str]:
        """SQL for the pathway and the registry status (the engine's ``_funding``)."""
        does_not_apply = self.any("applies_to", "FALSE")
        pathway = [
            f"WHEN {does_not_apply} THEN 'not_applicable'",
            f"WHEN {HEALTH_SYSTEM} IS NULL THEN 'unknown'",
            f"WHEN {HEALTH_SYSTEM} <> 'nhs_england' THEN 'not_applicable'",
        ]
        status = [
            f"WHEN {does_not_apply} OR {HEALTH_SYSTEM} IS DISTINCT FROM 'nhs_england' THEN NULL"
        ]
        for rule in self.option.funding.get("nhs_england", ()):
            registry = sql_literal(rule.registry_status) if rule.registry_status else "NULL"
            if rule.expr is None:
                pathway.append(f"ELSE '{rule.pathway}'")
                status.append(f"ELSE {registry}")
                break
            col = self.planner.ref(rule.expr)[0]
            pathway.append(
                f"WHEN {col} IS TRUE THEN '{rule.pathway}' WHEN {col} IS NULL THEN 'unknown'"
            )
            status.append(f"WHEN {col} IS TRUE THEN {registry} WHEN {col} IS NULL THEN NULL")
        return "CASE " + " ".join(pathway) + " END", "CASE " + " ".join(status) + " END"

    def columns(self) -> list[str]:
        """This option's verdict, funding pathway, registry status, missing facts and
        pending checks, as columns of the wide (one row per case) projection."""
        pathway, status = self.funding()
        if self.planner.dialect == "spark":  # STACK wants one type a column: no NULL type
            status = cast(status, TEXT["spark"], "spark")
        masks = [
            f"{self.decode(what, own)} AS {self.name(name)}"
            for what, own, name in (
                ("missing", self.own(pending=False), "mask"),
                ("pending", self.own(pending=True), "pmask"),
            )
        ]
        if self.planner.dialect == "postgres":  # the mask words, decoded after the unpivot
            masks = [
                f"{self.mask_column(what, w)} AS {self.name(f'{name}{w}')}"
                for what, name in (("missing", "mask"), ("pending", "pmask"))
                for w in range(self.planner.words)
            ]
        return [
            f"{self.verdict()} AS {self.name('verdict')}",
            f"{pathway} AS {self.name('pathway')}",
            f"{status} AS {self.name('status')}",
            *masks,
        ]

    def own(self, pending: bool) -> list[str]:
        """The fields this option's criteria (the before_treatment ones, or the others)
        read, sorted: the only ones its mask can hold."""
        criteria = [c for c in self.option.criteria if (c.group == BEFORE) == pending]
        return sorted({p for c in criteria for p in c.reads})

    def decode(self, what: str, own: list[str]) -> str:
        """The missing facts (or pending checks) as a list of field paths, decoded in the
        row from the mask words, testing only this option's own fields. In DuckDB a list
        of an ENUM of all the fields (bit ``i % 63`` of word ``i // 63`` is the value of
        code i); in Spark each own field's bit tested in the row."""
        words: dict[int, list[str]] = {}
        for p in own:
            words.setdefault(self.planner.word_of(p)[0], []).append(p)
        if self.planner.dialect == "spark":
            tests = ", ".join(
                f"CASE WHEN ({self.mask_column(what, w)} & {self.planner.bits(w)[p]}) <> 0 "
                f"THEN {sql_literal(p)} END"
                for w, paths in words.items()
                for p in paths
            )
            return f"filter(array({tests}), p -> p IS NOT NULL)" if own else SPARK_NO_MISSING
        paths = _enum(self.planner.fields)
        if not own:
            return f"[]::{paths}[]"
        lists = []
        for w, mine in words.items():
            mask = self.mask_column(what, w)
            shift = "enum_code(p)" if w == 0 else f"(enum_code(p) - {w * WORD_BITS})"
            lists.append(
                f"CASE WHEN {mask} = 0 THEN [] ELSE list_filter("
                f"[{', '.join(sql_literal(p) for p in mine)}]::{paths}[], "
                f"lambda p: (({mask} >> {shift}) & 1) = 1) END"
            )
        return lists[0] if len(lists) == 1 else "list_concat(" + ", ".join(lists) + ")"

    def name(self, what: str) -> str:
        return quote(f"{self.option.id}:{what}", self.planner.dialect)

    def outputs(self) -> list[str]:
        """The wide columns of this option that the unpivot turns into one row."""
        if self.planner.dialect == "postgres":
            words = range(self.planner.words)
            masks = [f"mask{w}" for w in words] + [f"pmask{w}" for w in words]
        else:
            masks = ["mask", "pmask"]
        return ["verdict", "pathway", "status", *masks]

    def unpivot(self) -> str:
        names = ", ".join(self.name(w) for w in self.outputs())
        if self.planner.dialect in ("postgres", "spark"):  # a VALUES row / STACK arguments
            return f"{sql_literal(self.option.id)}, {names}"
        return f"({names}) AS {sql_literal(self.option.id)}"


def screen_sql(
    kb: KnowledgeBase,
    options: list[str] | None = None,
    dialect: str = "duckdb",
    table: str = "cases",
    carry: tuple[str, ...] = (),
    enums: bool = False,
) -> str:
    """One query: a row per case and option (case_id, option, verdict, funding_pathway,
    registry_status, missing, pending_checks) over ``table`` (columns:
    ``engine.sql.case_table_columns``); ``carry`` names further columns of ``table``
    passed through (e.g. an ordering key).

    In DuckDB the query streams: each case's rows follow the order of ``table``, options
    in the order given. ``enums`` (DuckDB) types option, verdict, funding pathway, registry
    status and the missing fields as ENUMs (a byte a value: faster to write) instead of
    text."""
    chosen = [kb.options[o] for o in options or list(kb.options)]
    fields = sorted({p for o in chosen for c in o.criteria for p in c.reads})
    planner = Planner(fields, dialect)
    arms = _trial_arms(kb)
    # first: the trials' criteria read the fact as the engine's matcher does (from the
    # case alone); the options then read the column of the trial verdicts
    trial_sql = _plan_trials(arms, planner)
    trials = [quote(a.name, dialect) for a in arms]
    builders = [_OptionSql(o, planner) for o in chosen]
    relevance = ", ".join(["*", *(col for b in builders for col in b.relevance())])
    masks = ", ".join(["*", *(m for b in builders for m in b.missing_mask())])
    wide = ", ".join(
        [
            "id AS case_id",
            *carry,
            # as an ENUM before the unpivot repeats it on each option's row (a byte a row)
            *(
                f"{sql}{f'::{_enum(TRIAL_VERDICTS)}' if enums else ''} AS {name}"
                for sql, name in zip(trial_sql, trials, strict=True)
            ),
            *(col for b in builders for col in b.columns()),
        ]
    )
    ctes = [
        *planner.ctes(table),
        f"r AS (SELECT {relevance} FROM c)",
        f"m AS (SELECT {masks} FROM r)",
        f"wide AS (SELECT {wide} FROM m)",
        # One row per case and option: every option's results come from one pass.
        "res AS "
        + ("MATERIALIZED " if dialect == "postgres" else "")
        + "("
        + _unpivot(builders, dialect, carry, trials)
        + ")",
    ]
    carried = "".join(f"{c}, " for c in carry)
    trailing = "".join(f", {t}" for t in trials)
    if dialect == "spark":
        return (
            "WITH " + ",\n".join(ctes) + f"\nSELECT {carried}case_id, {_OUTPUTS}{trailing} FROM res"
        )
    if dialect == "postgres":
        # Distinct masks are few: decode each once, then join.
        mask_words = [f"_mask{w}" for w in range(planner.words)]
        pmasks = [f"_pmask{w}" for w in range(planner.words)]
        ctes += [
            f"{name} AS (SELECT {', '.join(words)}, {_decode_postgres(fields, words)} AS {out} "
            f"FROM (SELECT DISTINCT {', '.join(words)} FROM res) AS masks)"
            for name, words, out in (
                ("decoded", mask_words, "missing"),
                ("pdecoded", pmasks, "pending_checks"),
            )
        ]
        return (
            "WITH " + ",\n".join(ctes) + f"\nSELECT {carried}case_id, option, verdict, "
            f"funding_pathway, registry_status, missing, pending_checks{trailing} FROM res "
            f"JOIN decoded USING ({', '.join(mask_words)}) "
            f"JOIN pdecoded USING ({', '.join(pmasks)})"
        )
    columns = "option, verdict, funding_pathway, registry_status"
    if enums:
        pathways = {"not_applicable", "unknown"}
        pathways |= {r.pathway for o in chosen for rs in o.funding.values() for r in rs}
        statuses = {r.registry_status for o in chosen for rs in o.funding.values() for r in rs}
        columns = (
            f"option::{_enum([o.id for o in chosen])} AS option, "
            f"verdict::{_enum(VERDICTS)} AS verdict, "
            f"funding_pathway::{_enum(pathways)} AS funding_pathway, "
            f"registry_status::{_enum(statuses - {None})} AS registry_status"
        )
    lists = (
        "missing, pending_checks"
        if enums
        else "missing::VARCHAR[] AS missing, pending_checks::VARCHAR[] AS pending_checks"
    )
    return (
        "WITH "
        + ",\n".join(ctes)
        + f"\nSELECT {carried}case_id, {columns}, {lists}{trailing} FROM res"
    )


def _enum(values: Iterable[str | None]) -> str:
    """A DuckDB ENUM type of the values (sorted: an ENUM orders by its values' positions)."""
    names = sorted({v for v in values if v is not None}) or ["none"]
    return "ENUM(" + ", ".join(sql_literal(v) for v in names) + ")"


_OUTPUTS = "option, verdict, funding_pathway, registry_status, missing, pending_checks"
SPARK_NO_MISSING = "CAST(array() AS ARRAY<STRING>)"


def _unpivot(
    builders: list[_OptionSql], dialect: str, carry: tuple[str, ...], trials: list[str]
) -> str:
    """Each option's columns of ``wide`` as a row; the case's columns (``case_id``,
    ``carry``, the trial verdicts) on every row."""
    if dialect == "spark":  # STACK: Spark 3.4+ UNPIVOT takes no string labels
        rows = ", ".join(b.unpivot() for b in builders)
        carried = "".join(f"{c}, " for c in [*carry, *trials])
        stack = f"stack({len(builders)}, {rows}) AS ({_OUTPUTS})"
        return f"SELECT {carried}case_id, {stack} FROM wide"
    if dialect == "postgres":
        rows = ", ".join(f"({b.unpivot()})" for b in builders)
        words = range(builders[0].planner.words) if builders else range(1)
        masks = [f"_mask{w}" for w in words] + [f"_pmask{w}" for w in words]
        kept = "".join(f"wide.{t}, " for t in trials)
        return (
            f"SELECT wide.case_id, {kept}u.* FROM wide CROSS JOIN LATERAL (VALUES {rows}) "
            f"AS u(option, verdict, funding_pathway, registry_status, {', '.join(masks)})"
        )
    outputs = "verdict, funding_pathway, registry_status, missing, pending_checks"
    return (
        f"SELECT * FROM wide UNPIVOT INCLUDE NULLS (({outputs}) FOR option IN ("
        + ", ".join(b.unpivot() for b in builders)
        + "))"
    )


def _decode_postgres(fields: list[str], words: list[str]) -> str:
    """SQL: the field paths whose bits are set in the mask words (bit ``i % 63`` of word
    ``i // 63`` is ``fields[i]``), in field order."""
    arrays = []
    for w, word in enumerate(words):
        paths = ", ".join(sql_literal(p) for p in fields[w * WORD_BITS : (w + 1) * WORD_BITS])
        if not paths:
            continue
        arrays.append(
            f"ARRAY(SELECT p FROM unnest(ARRAY[{paths}]::text[]) WITH ORDINALITY AS d(p, i) "
            f"WHERE (({word} >> (i - 1)::int) & 1) = 1 ORDER BY i)"
        )
    if not arrays:
        return "ARRAY[]::text[]"
    return " || ".join(arrays)
