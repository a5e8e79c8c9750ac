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


@dataclass
class _ColumnRef:
    """Stands for a planned node inside an operator's SQL."""

    planner: Planner
    node: Node
    ref: str
    type: Type

    def sql(self, dialect: str) -> str:
        return self.ref

    def sql_unknown(self, path: str, dialect: str) -> str:
        return self.planner.unknown(self.node, path)


@dataclass
class Planner:
    dialect: str = "duckdb"
    layers: list[dict[str, str]] = field(default_factory=list)  # per height: SQL -> column
    _refs: dict[int, tuple[str, int]] = field(default_factory=dict)  # id(node) -> (ref, height)

    def _column(self, sql: str, height: int) -> str:
        while len(self.layers) < height:
            self.layers.append({})
        for layer in self.layers:  # the same SQL at any height is one column
            if sql in layer:
                return layer[sql]
        name = f'"_n{sum(len(layer) for layer in self.layers)}"'
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
        return _ColumnRef(self, node, ref, node.type)  # type: ignore[return-value]

    def unknown(self, node: Node, path: str) -> str:
        """SQL: the absent field ``path`` keeps ``node`` unknown (the tracer's rule)."""
        if isinstance(node, DefRef):
            return self.unknown(node.definition.expr, path)
        if not isinstance(node, Apply):
            return node.sql_unknown(path, self.dialect)
        if path not in node.reads():
            return "FALSE"
        args = [self._arg(a) for a in node.args]
        return node.op.sql_unknown(args, path, self.ref(node)[0], self.dialect)

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
