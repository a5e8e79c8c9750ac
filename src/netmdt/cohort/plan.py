"""Plan the cohort query: every distinct subexpression becomes one column, once.

Inlining each criterion's SQL wherever it is needed (its value, and again inside
each missing-fact condition) makes a query of megabytes. Instead every operator
node, derived fact and definition gets a column, computed in layered CTEs by the
node's height (a node reads only columns of lower layers), and identical
subexpressions, e.g. a shared definition, are computed once for all options. The
operators still write their own SQL: the planner hands them their arguments as
column references.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netmdt.engine.expr import Apply, DefRef, FieldRef, ListLit, Literal, Node, column
from netmdt.engine.schema import Type
from netmdt.engine.sql import cast, quote


@dataclass
class _ColumnRef:
    """Stands for a planned node inside an operator's SQL."""

    ref: str
    type: Type

    def sql(self, dialect: str) -> str:
        return self.ref


@dataclass
class Planner:
    fields: list[str]  # the case fields the planned expressions read, sorted: bit i is fields[i]
    dialect: str = "duckdb"
    layers: list[dict[str, str]] = field(default_factory=list)  # per height: SQL -> column
    _refs: dict[int, tuple[str, int]] = field(default_factory=dict)  # id(node) -> (ref, height)

    def _column(self, sql: str, height: int) -> str:
        while len(self.layers) < height:
            self.layers.append({})
        for layer in self.layers:  # the same SQL at any height is one column
            if sql in layer:
                return layer[sql]
        name = quote(f"_n{sum(len(layer) for layer in self.layers)}", self.dialect)
        self.layers[height - 1][sql] = name
        return name

    def ref(self, node: Node) -> tuple[str, int]:
        """The column (or literal SQL) of a node, and its height (0: a case column)."""
        key = id(node)
        if key not in self._refs:
            self._refs[key] = self._plan(node)
        return self._refs[key]

    def _plan(self, node: Node) -> tuple[str, int]:
        if isinstance(node, Literal | ListLit):
            return node.sql(self.dialect), 0
        if isinstance(node, FieldRef):
            if node.info.reads == (node.info.path,):
                return column(node.info.path), 0
            return self._column(node.sql(self.dialect), 1), 1
        if isinstance(node, DefRef):
            return self.ref(node.definition.expr)
        assert isinstance(node, Apply)
        args = [self._arg(a) for a in node.args]
        height = 1 + max((self.ref(a)[1] for a in node.args), default=0)
        return self._column(node.op.sql(args, self.dialect), height), height

    def _arg(self, node: Node) -> Node:
        if isinstance(node, Literal | ListLit):
            return node  # operators read literal values (lists, therapy ids)
        ref, height = self.ref(node)
        if height == 0:
            return node
        return _ColumnRef(ref, node.type)  # type: ignore[return-value]

    def mask(self, node: Node) -> str:
        """A column: when ``node`` is unknown, the bit mask of the absent case fields that
        keep it so (bit i is ``fields[i]``), else 0; the SQL twin of the node's tracer."""
        key = -id(node)  # masks share the cache with values, on a different key
        if key not in self._refs:
            self._refs[key] = (self._plan_mask(node), 0)
        return self._refs[key][0]

    def _plan_mask(self, node: Node) -> str:
        bits = self.bits
        if isinstance(node, Literal | ListLit):
            return "0"
        if isinstance(node, DefRef):
            return self.mask(node.definition.expr)
        ref, height = self.ref(node)
        if isinstance(node, FieldRef):
            parts = " | ".join(
                f"CASE WHEN {column(p)} IS NULL THEN {bits[p]} ELSE 0 END" for p in node.info.reads
            )
            return self._column(f"CASE WHEN {ref} IS NULL THEN {parts} ELSE 0 END", height + 1)
        assert isinstance(node, Apply)
        masks = [self.mask(a) for a in node.args]
        sql = node.op.sql_mask([self._arg(a) for a in node.args], masks, ref, bits)
        return sql if sql == "0" else self._column(sql, max(height, _depth(masks, self)) + 1)

    @property
    def mask_type(self) -> str:
        if len(self.fields) <= 63:
            return "BIGINT"
        if self.dialect != "duckdb":
            raise ValueError(f"{self.dialect}: at most 63 fields in one query (bit masks)")
        return "HUGEINT"

    @property
    def bits(self) -> dict[str, str]:
        return {
            p: cast(str(1 << i), self.mask_type, self.dialect) for i, p in enumerate(self.fields)
        }

    def height_of(self, column_ref: str) -> int:
        for i, layer in enumerate(self.layers):
            if column_ref in layer.values():
                return i + 1
        return 0

    def ctes(self, table: str) -> list[str]:
        """``name AS (SELECT ...)`` for each layer, the last one named ``c``."""
        out, source = [], table
        for i, layer in enumerate(self.layers):
            name = "c" if i == len(self.layers) - 1 else f"l{i + 1}"
            cols = ", ".join(["*", *(f"{sql} AS {col}" for sql, col in layer.items())])
            out.append(f"{name} AS (SELECT {cols} FROM {source})")
            source = name
        if not out:
            out.append(f"c AS (SELECT * FROM {table})")
        return out


def _depth(masks: list[str], planner: Planner) -> int:
    """The highest layer of the arguments' mask columns (a mask goes above them)."""
    return max((planner.height_of(m) for m in masks), default=0)
