"""Plan the cohort query: every distinct subexpression becomes one column, once.

Inlining each criterion's SQL wherever it is needed (its value, and again inside
each missing-fact condition) makes a query of megabytes. Instead every operator
node, derived fact and definition gets a column, computed in layered CTEs by the
node's height (a node reads only columns of lower layers), and identical
subexpressions, e.g. a shared definition, are computed once for all options. The
operators still write their own SQL: the planner hands them their arguments as
column references.

Missing-fact masks: the sets of unknown fields are bit masks over the fields the query
reads, in words of 63 bits (a BIGINT without its sign bit), so a query may read any
number of fields: field i is bit ``i % 63`` of word ``i // 63``. Each word is planned
on its own (an expression's mask in a word reads only that word's fields), so a query
over at most 63 fields has exactly one word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

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


WORD_BITS = 63  # bits of a mask word: a BIGINT without its sign bit
MASK_TYPE = "BIGINT"


@dataclass
class Planner:
    fields: list[str]  # the case fields the planned expressions read, sorted (see WORD_BITS)
    dialect: str = "duckdb"
    layers: list[dict[str, str]] = field(default_factory=list)  # per height: SQL -> column
    _refs: dict[int, tuple[str, int]] = field(default_factory=dict)  # id(node) -> (ref, height)
    _masks: dict[tuple[int, int], str] = field(default_factory=dict)  # (id(node), word) -> SQL
    # derived facts given by a planned column instead of ``engine.sql.derived_sql``
    # (``derived.open_trial_eligible`` from the trial verdicts): path -> (column, height)
    derived: dict[str, tuple[str, int]] = field(default_factory=dict)

    def forget_nodes(self) -> None:
        """Plan every node afresh from now on (after ``derived`` changed); the columns
        stay, and a node whose SQL is unchanged gets its column back."""
        self._refs.clear()
        self._masks.clear()

    def column(self, sql: str, height: int) -> str:
        """A column of ``sql`` (an expression over columns of lower layers) at ``height``."""
        return self._column(sql, height)

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
            if node.info.path in self.derived:
                return self.derived[node.info.path]
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

    def mask(self, node: Node, word: int = 0) -> str:
        """A column: when ``node`` is unknown, the bit mask of the absent case fields of
        mask word ``word`` that keep it so, else 0; the SQL twin of the node's tracer."""
        key = (id(node), word)
        if key not in self._masks:
            self._masks[key] = self._plan_mask(node, word)
        return self._masks[key]

    def _plan_mask(self, node: Node, word: int) -> str:
        bits = self.bits(word)
        if isinstance(node, Literal | ListLit):
            return "0"
        if isinstance(node, DefRef):
            return self.mask(node.definition.expr, word)
        ref, height = self.ref(node)
        if isinstance(node, FieldRef):
            mine = [p for p in node.info.reads if bits.get(p, "0") != "0"]
            if not mine:
                return "0"
            parts = " | ".join(
                f"CASE WHEN {column(p)} IS NULL THEN {bits[p]} ELSE 0 END" for p in mine
            )
            return self._column(f"CASE WHEN {ref} IS NULL THEN {parts} ELSE 0 END", height + 1)
        assert isinstance(node, Apply)
        masks = [self.mask(a, word) for a in node.args]
        if all(m == "0" for m in masks) and not set(node.reads()) & self.word_fields(word):
            return "0"
        sql = node.op.sql_mask([self._arg(a) for a in node.args], masks, ref, bits)
        return sql if sql == "0" else self._column(sql, max(height, _depth(masks, self)) + 1)

    @property
    def mask_type(self) -> str:
        return MASK_TYPE

    @property
    def words(self) -> int:
        """How many mask words the fields take (at least one)."""
        return max(1, -(-len(self.fields) // WORD_BITS))

    def word_of(self, path: str) -> tuple[int, int]:
        """The mask word and the bit within it of a field."""
        return divmod(self.fields.index(path), WORD_BITS)

    def word_fields(self, word: int) -> set[str]:
        return set(self.fields[word * WORD_BITS : (word + 1) * WORD_BITS])

    @cached_property
    def _bits(self) -> list[dict[str, str]]:
        out: list[dict[str, str]] = [{} for _ in range(self.words)]
        for i, p in enumerate(self.fields):
            word, bit = divmod(i, WORD_BITS)
            for w in range(self.words):
                out[w][p] = cast(str(1 << bit), MASK_TYPE, self.dialect) if w == word else "0"
        return out

    def bits(self, word: int = 0) -> dict[str, str]:
        """Each field's bit in mask word ``word`` as SQL ("0" for the other words' fields)."""
        return self._bits[word]

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
