"""The whole knowledge base as one SQL query over a flat case table.

The query computes, for every case and option, what ``netmdt.assess`` computes in
Python: the verdict (the same fixed procedure), the funding pathway and registry
status, and the missing facts (the unknown fields that keep a *relevant* unknown
criterion unknown). SQL NULL is Kleene unknown. A differential test holds the two
executions to the same answers.

Shape::

    WITH c AS (SELECT id, <each criterion and funding rule as a column> FROM cases)
    SELECT id AS case_id, 'option' AS option, <verdict>, <funding>, <missing> FROM c
    UNION ALL ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netmdt.assessment import VERDICTS
from netmdt.cohort.plan import Planner
from netmdt.engine.expr import sql_literal
from netmdt.engine.sql import TEXT, cast, quote
from netmdt.kb.model import Criterion, KnowledgeBase, Option

HEALTH_SYSTEM = "context__health_system"


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
        open_ = " OR ".join(
            self.any(g, "NULL") for g in ("applies_to", "contraindications", "requirements")
        )
        return (
            "CASE "
            f"WHEN {self.any('applies_to', 'FALSE')} THEN 'not_recommended' "
            f"WHEN {self.any('contraindications', 'TRUE')} THEN 'contraindicated' "
            f"WHEN {self.any('requirements', 'FALSE')} THEN 'not_recommended' "
            f"WHEN {open_} THEN 'insufficient_information' "
            f"WHEN {all_true} THEN 'recommended' "
            "ELSE 'consider' END"
        )

    def relevance(self) -> list[str]:
        """Columns: may an unknown criterion of each group change the verdict?
        (the SQL twin of ``engine.assess._relevant``)."""
        contra_true = self.any("contraindications", "TRUE")
        req_false = self.any("requirements", "FALSE")
        by_group = {
            "applies_to": f"NOT ({req_false} AND NOT {self.any('contraindications', 'NOT FALSE')})",
            "contraindications": f"NOT {contra_true}",
            "requirements": f"NOT {contra_true} AND NOT {req_false}",
            "recommend_when": f"NOT {contra_true} AND NOT {req_false} AND NOT "
            + self.any("recommend_when", "FALSE"),
        }
        applies_false = self.any("applies_to", "FALSE")
        return [
            f"(NOT {applies_false} AND {condition}) AS {self.relevant(group)}"
            for group, condition in by_group.items()
            if self.option.groups[group]
        ]

    def relevant(self, group: str) -> str:
        return self.name(group)

    def missing_mask(self) -> str:
        """A column: the union of the unknown-field masks of the relevant unknown criteria."""
        parts = [
            f"CASE WHEN {self.col(c)} IS NULL AND {self.relevant(c.group)} THEN {mask} ELSE 0 END"
            for c in self.option.criteria
            if (mask := self.planner.mask(c.expr)) != "0"
        ]
        mask = cast(" | ".join(parts) or "0", self.planner.mask_type, self.planner.dialect)
        return f"{mask} AS {self.mask_column()}"

    def mask_column(self) -> str:
        return self.name("missing")

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
        """This option's verdict, funding pathway, registry status and missing facts,
        as columns of the wide (one row per case) projection."""
        pathway, status = self.funding()
        if self.planner.dialect == "spark":  # STACK wants one type a column: no NULL type
            status = cast(status, TEXT["spark"], "spark")
        return [
            f"{self.verdict()} AS {self.name('verdict')}",
            f"{pathway} AS {self.name('pathway')}",
            f"{status} AS {self.name('status')}",
            f"{self.missing()} AS {self.name('mask')}",
        ]

    def missing(self) -> str:
        """The missing facts: in PostgreSQL the mask (decoded once per distinct mask, then
        joined); in DuckDB the mask decoded in the row, testing only this option's own
        fields (a list of an ENUM of all the fields: bit i is the value of code i)."""
        mask = self.mask_column()
        if self.planner.dialect == "postgres":
            return mask
        own = sorted({p for c in self.option.criteria for p in c.reads})
        if self.planner.dialect == "spark":  # each own field's bit tested in the row
            bits = self.planner.bits
            tests = ", ".join(
                f"CASE WHEN ({mask} & {bits[p]}) <> 0 THEN {sql_literal(p)} END" for p in own
            )
            return f"filter(array({tests}), p -> p IS NOT NULL)" if own else SPARK_NO_MISSING
        paths = _enum(self.planner.fields)
        if not own:
            return f"[]::{paths}[]"
        return (
            f"CASE WHEN {mask} = 0 THEN [] ELSE list_filter("
            f"[{', '.join(sql_literal(p) for p in own)}]::{paths}[], "
            f"lambda p: (({mask} >> enum_code(p)) & 1) = 1) END"
        )

    def name(self, what: str) -> str:
        return quote(f"{self.option.id}:{what}", self.planner.dialect)

    def unpivot(self) -> str:
        names = ", ".join(self.name(w) for w in ("verdict", "pathway", "status", "mask"))
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
    registry_status, missing) over ``table`` (columns: ``engine.sql.case_table_columns``);
    ``carry`` names further columns of ``table`` passed through (e.g. an ordering key).

    In DuckDB the query streams: each case's rows follow the order of ``table``, options
    in the order given. ``enums`` (DuckDB) types option, verdict, funding pathway, registry
    status and the missing fields as ENUMs (a byte a value: faster to write) instead of
    text."""
    chosen = [kb.options[o] for o in options or list(kb.options)]
    fields = sorted({p for o in chosen for c in o.criteria for p in c.reads})
    planner = Planner(fields, dialect)
    builders = [_OptionSql(o, planner) for o in chosen]
    relevance = ", ".join(["*", *(col for b in builders for col in b.relevance())])
    masks = ", ".join(["*", *(b.missing_mask() for b in builders)])
    wide = ", ".join(["id AS case_id", *carry, *(col for b in builders for col in b.columns())])
    ctes = [
        *planner.ctes(table),
        f"r AS (SELECT {relevance} FROM c)",
        f"m AS (SELECT {masks} FROM r)",
        f"wide AS (SELECT {wide} FROM m)",
        # One row per case and option: every option's results come from one pass.
        "res AS "
        + ("MATERIALIZED " if dialect == "postgres" else "")
        + "("
        + _unpivot(builders, dialect, carry)
        + ")",
    ]
    carried = "".join(f"{c}, " for c in carry)
    if dialect == "spark":
        return "WITH " + ",\n".join(ctes) + f"\nSELECT {carried}case_id, {_OUTPUTS} FROM res"
    if dialect == "postgres":
        # Distinct masks are few: decode each once (bit i is planner.fields[i]), then join.
        paths = ", ".join(sql_literal(p) for p in fields)
        ctes.append(
            f"decoded AS (SELECT _mask, {_decode_postgres(paths)} AS missing "
            "FROM (SELECT DISTINCT _mask FROM res) AS masks)"
        )
        return (
            "WITH " + ",\n".join(ctes) + f"\nSELECT {carried}case_id, option, verdict, "
            "funding_pathway, registry_status, missing FROM res JOIN decoded USING (_mask)"
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
    return (
        "WITH "
        + ",\n".join(ctes)
        + f"\nSELECT {carried}case_id, {columns}, "
        + ("missing" if enums else "missing::VARCHAR[] AS missing")
        + " FROM res"
    )


def _enum(values: Iterable[str | None]) -> str:
    """A DuckDB ENUM type of the values (sorted: an ENUM orders by its values' positions)."""
    names = sorted({v for v in values if v is not None}) or ["none"]
    return "ENUM(" + ", ".join(sql_literal(v) for v in names) + ")"


_OUTPUTS = "option, verdict, funding_pathway, registry_status, missing"
SPARK_NO_MISSING = "CAST(array() AS ARRAY<STRING>)"


def _unpivot(builders: list[_OptionSql], dialect: str, carry: tuple[str, ...]) -> str:
    missing = "_mask" if dialect == "postgres" else "missing"
    outputs = f"verdict, funding_pathway, registry_status, {missing}"
    if dialect == "spark":  # STACK: Spark 3.4+ UNPIVOT takes no string labels
        rows = ", ".join(b.unpivot() for b in builders)
        carried = "".join(f"{c}, " for c in carry)
        stack = f"stack({len(builders)}, {rows}) AS ({_OUTPUTS})"
        return f"SELECT {carried}case_id, {stack} FROM wide"
    if dialect == "postgres":
        rows = ", ".join(f"({b.unpivot()})" for b in builders)
        return (
            f"SELECT wide.case_id, u.* FROM wide CROSS JOIN LATERAL (VALUES {rows}) "
            f"AS u(option, {outputs})"
        )
    return (
        f"SELECT * FROM wide UNPIVOT INCLUDE NULLS (({outputs}) FOR option IN ("
        + ", ".join(b.unpivot() for b in builders)
        + "))"
    )


def _decode_postgres(paths: str) -> str:
    """SQL: the field paths whose bits are set in ``_mask`` (bit i is the i-th path)."""
    return (
        f"ARRAY(SELECT p FROM unnest(ARRAY[{paths}]::text[]) WITH ORDINALITY AS d(p, i) "
        "WHERE ((_mask >> (i - 1)::int) & 1) = 1 ORDER BY i)"
    )
