"""SQL for the derived facts; the operators compile themselves (``netmdt.engine.ops``).

The SQL runs over a flat case table: one column per case field, named by
``netmdt.engine.expr.column`` (``labs.egfr_ml_min`` -> ``labs__egfr_ml_min``), lists
as arrays, ``history.prior_treatments`` as a list of structs, plus ``assessed_on``.
SQL NULL is Kleene unknown, so the logic needs no translation. Dialects:
``duckdb`` (the embedded cohort engine), ``postgres`` and ``spark`` (Spark SQL; tested on 4.3).
"""

from __future__ import annotations

from netmdt.case.derived import (
    CARCINOID_GRADE,
    COLON_GROUP,
    GEP_SITES,
    NON_GEP_TYPES,
    SITE_GROUP,
)


def _in(values: frozenset[str] | set[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


def _rank(expr: str, g1_below: float, g2_max: float) -> str:
    return (
        f"CASE WHEN {expr} < {g1_below} THEN 1 WHEN {expr} <= {g2_max} THEN 2 "
        f"WHEN {expr} > {g2_max} THEN 3 END"
    )


def _effective_grade() -> str:
    stated = "CASE tumour__grade WHEN 'G1' THEN 1 WHEN 'G2' THEN 2 WHEN 'G3' THEN 3 END"
    ranks = [
        stated,
        _rank("tumour__ki67_percent", 3, 20),
        _rank("tumour__mitotic_count_per_2mm2", 2, 20),
    ]
    best = "GREATEST(" + ", ".join(f"coalesce({r}, 0)" for r in ranks) + ")"
    carcinoid = " ".join(
        f"WHEN tumour__lung_subtype = '{s}' THEN '{g}'" for s, g in sorted(CARCINOID_GRADE.items())
    )
    return f"(CASE {carcinoid} WHEN {best} = 0 THEN NULL ELSE 'G' || CAST({best} AS VARCHAR) END)"


def _embryological_group() -> str:
    sites = " ".join(f"WHEN '{s}' THEN '{g}'" for s, g in sorted(SITE_GROUP.items()))
    colon = " ".join(f"WHEN '{s}' THEN '{g}'" for s, g in sorted(COLON_GROUP.items()))
    return (
        f"(CASE tumour__primary_site {sites} "
        f"WHEN 'colon' THEN (CASE tumour__colon_segment {colon} END) END)"
    )


_DERIVED = {
    "derived.renal_ml_min": "coalesce(labs__creatinine_clearance_ml_min, labs__egfr_ml_min)",
    "derived.ecog_effective": (
        "coalesce(performance__ecog, CASE WHEN performance__karnofsky >= 90 THEN 0 "
        "WHEN performance__karnofsky >= 70 THEN 1 WHEN performance__karnofsky >= 50 THEN 2 "
        "WHEN performance__karnofsky >= 30 THEN 3 WHEN performance__karnofsky >= 10 THEN 4 END)"
    ),
    "derived.gep_primary": (
        f"(CASE WHEN tumour__type IN {_in(NON_GEP_TYPES)} THEN FALSE "
        f"WHEN tumour__primary_site IS NULL THEN NULL "
        f"ELSE tumour__primary_site IN {_in(GEP_SITES)} END)"
    ),
    "derived.nec_like": (
        "(CASE WHEN tumour__type = 'nec' OR tumour__nec_subtype IS NOT NULL "
        "OR tumour__lung_subtype IN ('lcnec', 'sclc') THEN TRUE "
        "WHEN tumour__type IS NULL THEN NULL ELSE FALSE END)"
    ),
    # false from the case alone (netmdt.engine.facts); a cohort screen sees no trial open
    # at our centre (docs/trials.md)
    "derived.open_trial_eligible": "FALSE",
    "derived.effective_grade": _effective_grade(),
    "derived.embryological_group": _embryological_group(),
}


def derived_sql(path: str, dialect: str) -> str:
    """The SQL expression of a derived fact."""
    return _DERIVED[path].replace("AS VARCHAR", f"AS {TEXT[dialect]}")


# Per dialect: the text type, how an identifier is quoted and a value cast.
TEXT = {"duckdb": "VARCHAR", "postgres": "TEXT", "spark": "STRING"}
_QUOTE = {"duckdb": '"{}"', "postgres": '"{}"', "spark": "`{}`"}
_CAST = {"duckdb": "({})::{}", "postgres": "({})::{}", "spark": "CAST({} AS {})"}


def quote(name: str, dialect: str) -> str:
    """A quoted identifier."""
    return _QUOTE[dialect].format(name)


def cast(sql: str, type_: str, dialect: str) -> str:
    """SQL: ``sql`` cast to ``type_``."""
    return _CAST[dialect].format(sql, type_)


TREATMENT_STRUCT = (
    'STRUCT(therapy VARCHAR, start DATE, "end" DATE, cycles INTEGER, outcome VARCHAR, '
    "progression_free_months DOUBLE)"
)
_DUCKDB_TYPES = {
    "bool": "BOOLEAN",
    "number": "DOUBLE",
    "date": "DATE",
    "enum": "VARCHAR",
    "text": "VARCHAR",
    "list": "VARCHAR[]",
    "treatments": TREATMENT_STRUCT + "[]",
}


_POSTGRES_TYPES = {
    "bool": "boolean",
    "number": "double precision",
    "date": "date",
    "enum": "text",
    "text": "text",
    "list": "text[]",
    "treatments": "jsonb",
}


_SPARK_TYPES = {
    "bool": "BOOLEAN",
    "number": "DOUBLE",
    "date": "DATE",
    "enum": "STRING",
    "text": "STRING",
    "list": "ARRAY<STRING>",
    "treatments": "ARRAY<STRUCT<therapy: STRING, start: DATE, `end`: DATE, cycles: INT, "
    "outcome: STRING, progression_free_months: DOUBLE>>",
}
_TYPES = {"duckdb": _DUCKDB_TYPES, "postgres": _POSTGRES_TYPES, "spark": _SPARK_TYPES}


def case_table_columns(dialect: str = "duckdb") -> dict[str, str]:
    """The flat case table the SQL runs over (the dialect's types): column name -> type.

    One column per case field (``column(path)``), lists as arrays, prior treatments
    as a list of structs. The value ``unknown`` of ``disease.progression`` is stored
    as NULL.
    """
    from netmdt.engine.expr import column
    from netmdt.engine.schema import case_fields

    types = _TYPES[dialect]
    columns = {column(p): types[f.type.kind] for p, f in case_fields().items()}
    columns["id"] = types["text"]
    return columns
