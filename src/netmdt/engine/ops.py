"""The operator and function registry of the rule language.

Each entry evaluates (Kleene three-valued: ``None`` is unknown), describes itself
in clinician English, reports the fields it reads, compiles to SQL (``sql``) and
writes itself as Python source (``py``, see ``netmdt.engine.pycode``; the closure of
``compile`` stays the reference the generated code is tested against). Adding
an operator means adding one class here and registering it; nothing else
branches on operator names.
"""

from __future__ import annotations

import operator as pyop
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, get_args

from netmdt.case.derived import months_between
from netmdt.case.history import OptionId, PriorTreatment
from netmdt.engine.expr import (
    Apply,
    Evaluator,
    ExprError,
    Facts,
    FieldRef,
    ListLit,
    Literal,
    MaskSource,
    Node,
    Operator,
    Tracer,
    column,
    sql_literal,
)
from netmdt.engine.logic import Tri
from netmdt.engine.schema import BOOL, NUMBER, Type, field_bits
from netmdt.engine.sql import quote

if TYPE_CHECKING:
    from netmdt.engine.pycode import PyGen

OPTION_IDS = Type("enum", tuple(get_args(OptionId)))
TREATMENTS = "history.prior_treatments"


def _expect(node: Node, *kinds: str, what: str) -> None:
    if node.type.kind not in kinds:
        raise ExprError(f"{what} needs {' or '.join(kinds)}, got {node.type} ({node.describe()})")


def _unless_none(
    gen: PyGen, value: str, then: Callable[[str], str], *, boolean: bool = False
) -> str:
    """Python source: unknown if ``value`` is, else ``then`` of it (held in a fresh local).
    ``boolean``: ``then`` is always ``True`` or ``False``; on a local, the source is then
    recorded as an atom (``PyGen.atom``), which ``and``/``or`` test without a temporary."""
    if gen.is_local(value):
        known = then(value)
        source = f"(None if {value} is None else {known})"
        if boolean:
            gen.atoms[source] = (value, known)
        return source
    t = gen.temp()
    return f"(None if ({t} := {value}) is None else {then(t)})"


def _case_bool(node: Node) -> bool:
    """A yes/no case field: its value is ``True``, ``False`` or ``None`` (strict
    validation), so ``field == true`` is the field's own value."""
    return (
        isinstance(node, FieldRef)
        and node.type == BOOL
        and node.info.reads == (node.info.path,)
        and not node.info.path.startswith("derived.")
    )


def _paren(node: Node, inside: str) -> str:
    text = node.describe()
    if isinstance(node, Apply) and node.op.name in ("and", "or") and node.op.name != inside:
        return f"({text})"
    return text


class _Base:
    extra_reads: ClassVar[tuple[str, ...]] = ()
    arg_type: ClassVar[Type | None] = None

    def tracer(self, args: list[Node], fn: Evaluator, tracers: list[Tracer]) -> Tracer:
        """Evaluate; if unknown, the unknown fields are those of the arguments."""

        def trace(facts: Facts) -> tuple[Any, int]:
            value = fn(facts)
            if value is not None:
                return value, 0
            mask = 0
            for t in tracers:
                mask |= t(facts)[1]
            return None, mask

        return trace

    def py_mask(self, args: list[Node], gen: PyGen) -> str:
        """Python twin of ``tracer``'s mask, valid where the node is unknown: the union of
        the masks of its unknown arguments. (For ``and``/``or`` too: a junction is unknown
        only when no operand decided it, and then ``tracer`` joins every unknown one's.)
        Each argument's mask reads what its own test of unknown evaluated (``py_unknown_
        traced``) rather than evaluating it again."""
        parts = []
        for a in args:
            unknown, mask_of = a.py_unknown_traced(gen)
            mask = mask_of()
            if mask != "0":
                parts.append(f"({mask} if {unknown} else 0)")
        return "(" + " | ".join(parts) + ")" if parts else "0"

    def py_unknown(self, args: list[Node], gen: PyGen) -> str | None:
        """Python source true exactly when the node is unknown, cheaper than evaluating it
        (``None``: no shortcut; the node is evaluated and compared with ``None``)."""
        return None

    def py(self, args: list[Node], gen: PyGen) -> str:
        raise NotImplementedError

    def py_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]:
        """``py``, and its mask written later (``Node.py_traced``): here ``py_mask``,
        which evaluates what it needs itself (ops whose mask can read the value's own
        temporaries override this)."""
        return self.py(args, gen), lambda: self.py_mask(args, gen)

    def py_unknown_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]:
        """``py_unknown``, and the mask written later, valid where it was true."""
        shortcut = self.py_unknown(args, gen)
        if shortcut is not None:
            return shortcut, lambda: self.py_mask(args, gen)
        value, mask = self.py_traced(args, gen)
        return f"{value} is None", mask

    def sql_mask(
        self, args: list[Node], masks: list[str], node: str, bits: Mapping[str, str]
    ) -> str:
        """SQL twin of ``tracer``: when the node is unknown, the union of its arguments'
        unknown-field masks (a known argument's mask is 0)."""
        parts = [m for m in masks if m != "0"]
        if not parts:
            return "0"
        return f"CASE WHEN {node} IS NULL THEN {' | '.join(parts)} ELSE 0 END"


class _OnFirst(_Base):
    """An op unknown exactly when its first argument is, its other arguments literals
    (mask 0): its mask is the first argument's, and ``py`` is ``then`` of that argument's
    value unless it is unknown."""

    def then(self, args: list[Node], gen: PyGen) -> Callable[[str], str]:
        raise NotImplementedError

    def py(self, args: list[Node], gen: PyGen) -> str:
        return _unless_none(gen, gen.expr(args[0]), self.then(args, gen), boolean=True)

    def py_unknown(self, args: list[Node], gen: PyGen) -> str | None:
        return args[0].py_unknown(gen)  # unknown exactly when its argument is

    def py_mask(self, args: list[Node], gen: PyGen) -> str:
        return args[0].py_mask(gen)  # valid where the node, so the argument, is unknown

    def py_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]:
        value, mask = args[0].py_traced(gen)
        return _unless_none(gen, value, self.then(args, gen), boolean=True), mask

    def py_unknown_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]:
        return args[0].py_unknown_traced(gen)


# ----------------------------------------------------------------------- logic


class _Junction(_Base):
    """Kleene ``and`` / ``or`` over any number of operands.

    ``absorbing`` is the value that decides the result on its own (false for ``and``,
    true for ``or``); otherwise any unknown operand makes the result unknown.
    """

    name = ""
    absorbing: ClassVar[bool] = False

    def check(self, args: list[Node]) -> Type:
        for a in args:
            _expect(a, "bool", what=f"'{self.name}'")
        return BOOL

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        absorbing: bool = self.absorbing
        neutral: bool = not absorbing
        if len(fns) == 2:
            fa, fb = fns

            def junction2(facts: Facts) -> Tri:
                a: Tri = fa(facts)
                if a is absorbing:
                    return absorbing
                b: Tri = fb(facts)
                if b is absorbing:
                    return absorbing
                return None if a is None or b is None else neutral

            return junction2

        def junction(facts: Facts) -> Tri:
            result: Tri = neutral
            for f in fns:
                v: Tri = f(facts)
                if v is absorbing:
                    return absorbing
                if v is None:
                    result = None
            return result

        return junction

    def tracer(self, args: list[Node], fn: Evaluator, tracers: list[Tracer]) -> Tracer:
        absorbing: bool = self.absorbing
        neutral: bool = not absorbing

        def trace(facts: Facts) -> tuple[Any, int]:
            result: Tri = neutral
            mask = 0
            for t in tracers:
                v, m = t(facts)
                if v is absorbing:
                    return absorbing, 0
                if v is None:
                    result, mask = None, mask | m
            return result, mask if result is None else 0

        return trace

    def py(self, args: list[Node], gen: PyGen) -> str:
        return self._py(gen, [gen.expr(a) for a in args])[0]

    def py_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]:
        """When the junction is unknown, every operand was evaluated (none decided it):
        its mask joins the masks of the unknown ones, read from their values' locals."""
        traced = [a.py_traced(gen) for a in args]
        source, unknowns = self._py(gen, [value for value, _ in traced])

        def mask() -> str:
            parts = []
            for unknown, (_, mask_of) in zip(unknowns, traced, strict=True):
                m = mask_of()
                if m != "0":
                    parts.append(f"({m} if {unknown} else 0)")
            return "(" + " | ".join(parts) + ")" if parts else "0"

        return source, mask

    def _py(self, gen: PyGen, values: list[str]) -> tuple[str, list[str]]:
        """``X if (a := A) is X else X if (b := B) is X else (None if a is None or b is None
        else N)``: operands in order, stopping at the absorbing value, like ``compile``.
        An atom (``None if v is None else K``, ``K`` true or false: ``PyGen.atom``) is
        tested as ``v is not None and K`` (``not K`` for ``and``), and is unknown when
        ``v is None``: no temporary. Also each operand's test of unknown (true where the
        junction is unknown, every operand evaluated)."""
        x, n = repr(self.absorbing), repr(not self.absorbing)
        tests, unknowns = "", []
        for value in values:
            atom = gen.atom(value)
            if atom is not None:
                local, known = atom
                decides = known if self.absorbing else f"not ({known})"
                tests += f"{x} if {local} is not None and {decides} else "
                unknowns.append(f"{local} is None")
            elif gen.is_local(value):
                tests += f"{x} if {value} is {x} else "
                unknowns.append(f"{value} is None")
            else:
                t = gen.temp()
                tests += f"{x} if ({t} := {value}) is {x} else "
                unknowns.append(f"{t} is None")
        return f"({tests}(None if {' or '.join(unknowns)} else {n}))", unknowns

    def describe(self, args: list[Node]) -> str:
        return f" {self.name} ".join(_paren(a, self.name) for a in args)

    def sql(self, args: list[Node], dialect: str) -> str:
        return "(" + f" {self.name.upper()} ".join(a.sql(dialect) for a in args) + ")"


class And(_Junction):
    name = "and"
    absorbing = False


class Or(_Junction):
    name = "or"
    absorbing = True


class Not(_OnFirst):
    name = "not"

    def check(self, args: list[Node]) -> Type:
        _expect(args[0], "bool", what="'not'")
        return BOOL

    def then(self, args: list[Node], gen: PyGen) -> Callable[[str], str]:
        return lambda v: f"not {v}"

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        (f,) = fns
        return lambda facts: None if (v := f(facts)) is None else not v

    def tracer(self, args: list[Node], fn: Evaluator, tracers: list[Tracer]) -> Tracer:
        (t,) = tracers

        def trace(facts: Facts) -> tuple[Any, int]:
            v, m = t(facts)
            return (None, m) if v is None else (not v, 0)

        return trace

    def describe(self, args: list[Node]) -> str:
        return f"not ({args[0].describe()})"

    def sql(self, args: list[Node], dialect: str) -> str:
        return f"(NOT {args[0].sql(dialect)})"


# ----------------------------------------------------------------- comparisons


@dataclass
class Compare(_Base):
    name: str
    fn: Callable[[Any, Any], bool]
    words: str
    sql_op: str
    ordered: bool = False

    def check(self, args: list[Node]) -> Type:
        left, right = args
        if self.ordered:
            _expect(left, "number", what=f"'{self.name}'")
            _expect(right, "number", what=f"'{self.name}'")
        elif left.type.kind != right.type.kind:
            raise ExprError(
                f"cannot compare {left.describe()} ({left.type}) with "
                f"{right.describe()} ({right.type})"
            )
        elif left.type.kind not in ("number", "enum", "bool", "text"):
            raise ExprError(f"'{self.name}' cannot compare a {left.type}")
        return BOOL

    def py_unknown(self, args: list[Node], gen: PyGen) -> str | None:
        left, right = args
        if isinstance(right, Literal):
            return left.py_unknown(gen)
        return f"({left.py_unknown(gen)} or {right.py_unknown(gen)})"

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        fn = self.fn
        fl, fr = fns
        if isinstance(args[0], FieldRef) and isinstance(args[1], Literal):
            return _FIELD_VS_LITERAL[self.name](args[0].info.path, args[1].value)
        if isinstance(args[1], Literal):
            c = args[1].value
            return lambda facts: None if (v := fl(facts)) is None else fn(v, c)

        def compare(facts: Facts) -> Tri:
            a, b = fl(facts), fr(facts)
            return None if a is None or b is None else fn(a, b)

        return compare

    def py_mask(self, args: list[Node], gen: PyGen) -> str:
        if isinstance(args[1], Literal):  # unknown exactly when the left side is
            return args[0].py_mask(gen)
        return super().py_mask(args, gen)

    def py_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]:
        if isinstance(args[1], Literal):  # unknown only when the left side, evaluated, is
            left, mask = args[0].py_traced(gen)
            return self._py(args, gen, left), mask
        return super().py_traced(args, gen)

    def py_unknown_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]:
        if isinstance(args[1], Literal):
            return args[0].py_unknown_traced(gen)
        return super().py_unknown_traced(args, gen)

    def py(self, args: list[Node], gen: PyGen) -> str:
        return self._py(args, gen, gen.expr(args[0]))

    def _py(self, args: list[Node], gen: PyGen, left: str) -> str:
        """``py`` with the left side's value written already (``left``)."""
        op = _PY_COMPARE[self.name]
        right = gen.expr(args[1])
        if _case_bool(args[0]) and isinstance(args[1], Literal) and args[1].type == BOOL:
            if (self.name == "==") is (args[1].value is True):  # the field's own value
                return left
            return _unless_none(gen, left, lambda v: f"not {v}", boolean=True)
        if isinstance(args[1], Literal):
            return _unless_none(gen, left, lambda v: f"{v} {op} {right}", boolean=True)
        a, b = gen.temp(), gen.temp()
        return f"(None if ({a} := {left}) is None or ({b} := {right}) is None else {a} {op} {b})"

    def describe(self, args: list[Node]) -> str:
        left, right = args
        if right.type == BOOL and isinstance(right, Literal):
            yes = right.value if self.name == "==" else not right.value
            return f"{left.describe()}: {'yes' if yes else 'no'}"
        return f"{left.describe()} {self.words} {right.describe()}"

    def sql(self, args: list[Node], dialect: str) -> str:
        return f"({args[0].sql(dialect)} {self.sql_op} {args[1].sql(dialect)})"


@dataclass
class In(_OnFirst):
    name: str
    negate: bool

    def check(self, args: list[Node]) -> Type:
        _expect(args[0], "enum", "number", what=f"'{self.name}'")
        return BOOL

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        assert isinstance(args[1], ListLit)
        values = frozenset(args[1].values)
        f = fns[0]
        if isinstance(args[0], FieldRef):
            path = args[0].info.path
            if self.negate:
                return lambda facts: None if (v := facts.get(path)) is None else v not in values
            return lambda facts: None if (v := facts.get(path)) is None else v in values
        if self.negate:
            return lambda facts: None if (v := f(facts)) is None else v not in values
        return lambda facts: None if (v := f(facts)) is None else v in values

    def then(self, args: list[Node], gen: PyGen) -> Callable[[str], str]:
        assert isinstance(args[1], ListLit)
        values = gen.const("frozenset", args[1].values)
        test = "not in" if self.negate else "in"
        return lambda v: f"{v} {test} {values}"

    def describe(self, args: list[Node]) -> str:
        words = "is none of" if self.negate else "is one of"
        return f"{args[0].describe()} {words} {args[1].describe()}"

    def sql(self, args: list[Node], dialect: str) -> str:
        words = "NOT IN" if self.negate else "IN"
        return f"({args[0].sql(dialect)} {words} {args[1].sql(dialect)})"


class Contains(_OnFirst):
    name = "contains"

    def check(self, args: list[Node]) -> Type:
        _expect(args[0], "list", what="'contains'")
        if not isinstance(args[1], Literal):
            raise ExprError("'contains' needs a value on its right")
        return BOOL

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        assert isinstance(args[1], Literal)
        value = args[1].value
        f = fns[0]
        return lambda facts: None if (v := f(facts)) is None else value in v

    def then(self, args: list[Node], gen: PyGen) -> Callable[[str], str]:
        value = gen.expr(args[1])
        return lambda v: f"{value} in {v}"

    def describe(self, args: list[Node]) -> str:
        return f"{args[0].describe()} includes {args[1].describe()}"

    def sql(self, args: list[Node], dialect: str) -> str:
        col, value = args[0].sql(dialect), args[1].sql(dialect)
        if dialect == "postgres":
            return f"({value} = ANY({col}))"
        if dialect == "spark":
            return f"array_contains({col}, {value})"
        return f"list_contains({col}, {value})"


class ContainsAny(_OnFirst):
    name = "contains_any"

    def check(self, args: list[Node]) -> Type:
        _expect(args[0], "list", what="'contains_any'")
        return BOOL

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        assert isinstance(args[1], ListLit)
        values = frozenset(args[1].values)
        f = fns[0]
        return lambda facts: None if (v := f(facts)) is None else not values.isdisjoint(v)

    def then(self, args: list[Node], gen: PyGen) -> Callable[[str], str]:
        assert isinstance(args[1], ListLit)
        values = gen.const("frozenset", args[1].values)
        return lambda v: f"not {values}.isdisjoint({v})"

    def describe(self, args: list[Node]) -> str:
        return f"{args[0].describe()} includes any of {args[1].describe()}"

    def sql(self, args: list[Node], dialect: str) -> str:
        col = args[0].sql(dialect)
        assert isinstance(args[1], ListLit)
        array = ", ".join(i.sql(dialect) for i in args[1].items)
        if dialect == "postgres":
            return f"({col} && ARRAY[{array}]::text[])"
        if dialect == "spark":
            return f"arrays_overlap({col}, array({array}))"
        return f"list_has_any({col}, [{array}])"


class IsEmpty(_OnFirst):
    name = "is empty"

    def check(self, args: list[Node]) -> Type:
        _expect(args[0], "list", "treatments", what="'is empty'")
        return BOOL

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        f = fns[0]
        return lambda facts: None if (v := f(facts)) is None else len(v) == 0

    def then(self, args: list[Node], gen: PyGen) -> Callable[[str], str]:
        return lambda v: f"len({v}) == 0"

    def describe(self, args: list[Node]) -> str:
        return f"{args[0].describe()}: none"

    def sql(self, args: list[Node], dialect: str) -> str:
        length = "len"
        if dialect == "postgres":
            length = "jsonb_array_length" if args[0].type.kind == "treatments" else "cardinality"
        if dialect == "spark":  # size(NULL) may be -1 (spark.sql.legacy.sizeOfNull)
            col = args[0].sql(dialect)
            return f"(CASE WHEN {col} IS NULL THEN NULL ELSE size({col}) = 0 END)"
        return f"({length}({args[0].sql(dialect)}) = 0)"


@dataclass
class IsKnown(_Base):
    """Two-valued on purpose; the knowledge-base linter allows it only in warnings."""

    name: str
    known: bool

    def check(self, args: list[Node]) -> Type:
        return BOOL

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        f, known = fns[0], self.known
        return lambda facts: (f(facts) is not None) is known

    def py(self, args: list[Node], gen: PyGen) -> str:
        return f"({gen.expr(args[0])} is {'not ' if self.known else ''}None)"

    def describe(self, args: list[Node]) -> str:
        return f"{args[0].describe()} is {'recorded' if self.known else 'not recorded'}"

    def tracer(self, args: list[Node], fn: Evaluator, tracers: list[Tracer]) -> Tracer:
        return lambda facts: (fn(facts), 0)

    def py_mask(self, args: list[Node], gen: PyGen) -> str:
        return "0"

    def sql_mask(
        self, args: list[Node], masks: list[str], node: str, bits: Mapping[str, str]
    ) -> str:
        return "0"

    def sql(self, args: list[Node], dialect: str) -> str:
        return f"({args[0].sql(dialect)} IS {'NOT ' if self.known else ''}NULL)"


# ------------------------------------------------------------------- functions


class MonthsSince(_Base):
    name = "months_since"

    def check(self, args: list[Node]) -> Type:
        if len(args) != 1 or not isinstance(args[0], FieldRef) or args[0].type.kind != "date":
            raise ExprError("months_since takes one date field")
        return NUMBER

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        f = fns[0]

        def months_since(facts: Facts) -> float | None:
            d, today = f(facts), facts.get("assessed_on")
            return None if d is None or today is None else months_between(d, today)

        return months_since

    def py(self, args: list[Node], gen: PyGen) -> str:
        d, today, months = gen.temp(), gen.temp(), gen.helper(months_between)
        return (
            f"(None if ({d} := {gen.expr(args[0])}) is None "
            f"or ({today} := {gen.field('assessed_on')}) is None else {months}({d}, {today}))"
        )

    def describe(self, args: list[Node]) -> str:
        return f"months since {args[0].describe()}"

    def sql(self, args: list[Node], dialect: str) -> str:
        return f"({_days('assessed_on', args[0].sql(dialect), dialect)} / {365.25 / 12!r})"


# Per dialect: the days from one date to a later one; the entries of a list that match.
_DAYS = {"duckdb": "({0} - {1})", "postgres": "({0} - {1})", "spark": "datediff({0}, {1})"}
_FILTER = {"duckdb": "list_filter({0}, lambda {1}: {2})", "spark": "filter({0}, {1} -> {2})"}
_SIZE = {"duckdb": "len", "spark": "size"}


def _days(later: str, earlier: str, dialect: str) -> str:
    return _DAYS[dialect].format(later, earlier)


def _latest(entries: Sequence[PriorTreatment], therapies: frozenset[str]) -> PriorTreatment | None:
    """The latest entry for these therapies by end, else start date; later in the list wins ties."""
    best: PriorTreatment | None = None
    best_key = date.min
    for e in entries:
        if e.therapy in therapies:
            key = e.end or e.start or date.min
            if best is None or key >= best_key:
                best, best_key = e, key
    return best


def _therapies(args: list[Node]) -> frozenset[str]:
    return frozenset(a.value for a in args if isinstance(a, Literal))


def _therapy_words(args: list[Node]) -> str:
    return " or ".join(a.describe() for a in args)


class _TreatmentFn(_Base):
    name = ""
    extra_reads: ClassVar[tuple[str, ...]] = (TREATMENTS,)
    arg_type = OPTION_IDS
    result = BOOL
    many = True
    words = ""

    def check(self, args: list[Node]) -> Type:
        if not args or (not self.many and len(args) != 1):
            raise ExprError(f"{self.name} takes {'option ids' if self.many else 'one option id'}")
        for a in args:
            if not isinstance(a, Literal) or a.value not in OPTION_IDS.values:
                raise ExprError(f"{self.name} takes option ids, got {a.describe()}")
        return self.result

    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator:
        therapies = _therapies(args)
        apply = self.apply

        def treatment_fn(facts: Facts) -> Any:
            entries = facts.get(TREATMENTS)
            return None if entries is None else apply(entries, therapies, facts)

        return treatment_fn

    def apply(
        self, entries: Sequence[PriorTreatment], therapies: frozenset[str], facts: Facts
    ) -> Any:
        raise NotImplementedError

    def py(self, args: list[Node], gen: PyGen) -> str:
        therapies = gen.const("frozenset", sorted(_therapies(args)))
        apply = gen.helper(self.apply)
        entries = gen.field(TREATMENTS)
        return _unless_none(gen, entries, lambda v: f"{apply}({v}, {therapies}, facts)")

    def describe(self, args: list[Node]) -> str:
        return self.words.format(_therapy_words(args))

    def tracer(self, args: list[Node], fn: Evaluator, tracers: list[Tracer]) -> Tracer:
        bits = field_bits()
        history = bits[TREATMENTS]  # unknown: record the history, or the entry's details
        others = [(p, bits[p]) for p in self.extra_reads if p != TREATMENTS]

        def trace(facts: Facts) -> tuple[Any, int]:
            value = fn(facts)
            if value is not None:
                return value, 0
            return None, history | sum(b for p, b in others if facts.get(p) is None)

        return trace

    def py_mask(self, args: list[Node], gen: PyGen) -> str:
        bits = field_bits()
        others = [
            f"({bits[p]!r} if {gen.field(p)} is None else 0)"
            for p in self.extra_reads
            if p != TREATMENTS
        ]
        return "(" + " | ".join([repr(bits[TREATMENTS]), *others]) + ")"

    def sql_mask(
        self, args: list[Node], masks: list[str], node: str, bits: Mapping[str, str]
    ) -> str:
        parts = [bits[TREATMENTS]] + [
            f"CASE WHEN {column(p)} IS NULL THEN {bits[p]} ELSE 0 END"
            for p in self.extra_reads
            if p != TREATMENTS
        ]
        return f"CASE WHEN {node} IS NULL THEN {' | '.join(parts)} ELSE 0 END"

    def _pg_exists(self, args: list[Node], where: str = "TRUE") -> str:
        """PostgreSQL: some prior-treatment entry (jsonb) for these therapies matches."""
        therapies = ", ".join(sql_literal(t) for t in sorted(_therapies(args)))
        return (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements({column(TREATMENTS)}) AS e(t) "
            f"WHERE t->>'therapy' IN ({therapies}) AND ({where}))"
        )

    def _pg_case(self, exists: str) -> str:
        return f"(CASE WHEN {column(TREATMENTS)} IS NULL THEN NULL ELSE {exists} END)"

    def _matching(
        self, args: list[Node], where: str = "TRUE", dialect: str = "duckdb", var: str = "t"
    ) -> str:
        """The prior-treatment entries for these therapies (DuckDB or Spark list functions)."""
        therapies = ", ".join(sql_literal(t) for t in sorted(_therapies(args)))
        test = f"{var}.therapy IN ({therapies}) AND ({where})"
        return _FILTER[dialect].format(column(TREATMENTS), var, test)

    def _any(self, args: list[Node], where: str = "TRUE", dialect: str = "duckdb") -> str:
        """Some entry for these therapies matches (NULL when the history is unknown)."""
        some = f"({_SIZE[dialect]}({self._matching(args, where, dialect)}) > 0)"
        return self._pg_case(some) if dialect == "spark" else some


class HasPrior(_TreatmentFn):
    name = "has_prior"
    words = "has had {} before"

    def apply(
        self, entries: Sequence[PriorTreatment], therapies: frozenset[str], facts: Facts
    ) -> Any:
        return any(e.therapy in therapies for e in entries)

    def py_unknown(self, args: list[Node], gen: PyGen) -> str | None:
        return f"{gen.field(TREATMENTS)} is None"  # else true or false

    def py(self, args: list[Node], gen: PyGen) -> str:
        """The therapies of the history as a set, once per generated function; then one
        set operation per call (the closures keep ``apply``)."""
        therapies = gen.const("frozenset", sorted(_therapies(args)))
        entries = gen.field(TREATMENTS)
        had = gen.local(f"None if {entries} is None else frozenset([e.therapy for e in {entries}])")
        return f"(None if {had} is None else not {had}.isdisjoint({therapies}))"

    def sql(self, args: list[Node], dialect: str) -> str:
        if dialect == "postgres":
            return self._pg_case(self._pg_exists(args))
        return self._any(args, dialect=dialect)


class ProgressedOn(_TreatmentFn):
    name = "progressed_on"
    words = "disease progressed on {}"

    def apply(
        self, entries: Sequence[PriorTreatment], therapies: frozenset[str], facts: Facts
    ) -> Any:
        outcomes = [e.outcome for e in entries if e.therapy in therapies]
        if "progression" in outcomes:
            return True
        return None if any(o in (None, "unknown") for o in outcomes) else False

    def py(self, args: list[Node], gen: PyGen) -> str:
        """As ``apply``, from two sets made once at the top of an eager function
        (``PyGen.eager``): the therapies the disease progressed on, and those whose
        outcome is not recorded. Elsewhere, ``apply`` where the history is known."""
        if not gen.eager:
            return super().py(args, gen)
        therapies = gen.const("frozenset", sorted(_therapies(args)))
        entries = gen.field(TREATMENTS)
        progression, unknown = gen.literal("progression"), gen.literal("unknown")
        progressed = gen.local(
            f"None if {entries} is None else frozenset([e.therapy for e in {entries} "
            f"if e.outcome == {progression}])"
        )
        open_ = gen.local(
            f"None if {entries} is None else frozenset([e.therapy for e in {entries} "
            f"if e.outcome is None or e.outcome == {unknown}])"
        )
        return (
            f"(None if {progressed} is None else True if not {progressed}.isdisjoint("
            f"{therapies}) else None if not {open_}.isdisjoint({therapies}) else False)"
        )

    def sql(self, args: list[Node], dialect: str) -> str:
        if dialect == "postgres":
            progressed = self._pg_exists(args, "t->>'outcome' = 'progression'")
            open_ = self._pg_exists(args, "t->>'outcome' IS NULL OR t->>'outcome' = 'unknown'")
            return (
                f"(CASE WHEN {column(TREATMENTS)} IS NULL THEN NULL WHEN {progressed} THEN TRUE "
                f"WHEN {open_} THEN NULL ELSE FALSE END)"
            )
        progressed = self._any(args, "t.outcome = 'progression'", dialect)
        open_ = self._any(args, "t.outcome IS NULL OR t.outcome = 'unknown'", dialect)
        return (
            f"(CASE WHEN {column(TREATMENTS)} IS NULL THEN NULL "
            f"WHEN {progressed} THEN TRUE WHEN {open_} THEN NULL "
            "ELSE FALSE END)"
        )


class Ongoing(_TreatmentFn):
    name = "ongoing"
    words = "currently on {}"

    def apply(
        self, entries: Sequence[PriorTreatment], therapies: frozenset[str], facts: Facts
    ) -> Any:
        today = facts.get("assessed_on")
        return any(
            e.therapy in therapies and (e.end is None or (today is not None and e.end >= today))
            for e in entries
        )

    def py(self, args: list[Node], gen: PyGen) -> str:
        """As ``apply``, from the set of therapies not ended by the assessment date, made
        once at the top of an eager function (``PyGen.eager``); elsewhere ``apply``."""
        if not gen.eager:
            return super().py(args, gen)
        therapies = gen.const("frozenset", sorted(_therapies(args)))
        entries, today = gen.field(TREATMENTS), gen.field("assessed_on")
        current = gen.local(
            f"None if {entries} is None else frozenset([e.therapy for e in {entries} "
            f"if e.end is None or ({today} is not None and e.end >= {today})])"
        )
        return f"(None if {current} is None else not {current}.isdisjoint({therapies}))"

    def py_unknown(self, args: list[Node], gen: PyGen) -> str | None:
        return f"{gen.field(TREATMENTS)} is None"  # else true or false

    def sql(self, args: list[Node], dialect: str) -> str:
        if dialect == "postgres":
            when = "t->>'end' IS NULL OR (t->>'end')::date >= assessed_on"
            return self._pg_case(self._pg_exists(args, when))
        end = f"t.{quote('end', dialect)}"
        return self._any(args, f"{end} IS NULL OR {end} >= assessed_on", dialect)


def _key(var: str, dialect: str) -> str:
    """An entry's sort key: its end, else start date."""
    return f"coalesce({var}.{quote('end', dialect)}, {var}.start, DATE '0001-01-01')"


class _LatestFn(_TreatmentFn):
    many = False
    field = ""

    def apply(
        self, entries: Sequence[PriorTreatment], therapies: frozenset[str], facts: Facts
    ) -> Any:
        latest = _latest(entries, therapies)
        return None if latest is None else self.of(latest, facts)

    def of(self, entry: PriorTreatment, facts: Facts) -> Any:
        raise NotImplementedError

    def latest_sql(self, args: list[Node], dialect: str = "duckdb") -> str:
        """The latest entry (by end, else start; the last in the list on a tie), or NULL."""
        if dialect == "spark":
            entries = self._matching(args, dialect=dialect, var="v")
            newest = f"array_max(transform({entries}, u -> {_key('u', dialect)}))"
            last = self._matching(args, f"{_key('t', dialect)} = {newest}", dialect)
            return f"try_element_at({last}, -1)"
        newest = f"list_max(list_transform({self._matching(args)}, lambda u: {_key('u', dialect)}))"
        return f"({self._matching(args, _key('t', dialect) + ' = ' + newest)})[-1]"

    def pg_latest(self, args: list[Node]) -> str:
        """PostgreSQL: the latest entry (jsonb) by end, else start; the last on a tie."""
        (therapy,) = sorted(_therapies(args))
        key = "coalesce((t->>'end')::date, (t->>'start')::date, DATE '0001-01-01')"
        return (
            f"(SELECT t FROM jsonb_array_elements({column(TREATMENTS)}) WITH ORDINALITY "
            f"AS e(t, i) WHERE t->>'therapy' = {sql_literal(therapy)} "
            f"ORDER BY {key} DESC, i DESC LIMIT 1)"
        )

    def sql(self, args: list[Node], dialect: str) -> str:
        if dialect == "postgres":
            return f"(({self.pg_latest(args)})->>'{self.field}')::double precision"
        return f"({self.latest_sql(args, dialect)}).{self.field}"


class PriorOutcome(_LatestFn):
    name = "prior_outcome"
    result = Type("enum", ("response", "stable", "progression", "toxicity"))
    words = "outcome of the last {}"
    field = "outcome"

    def of(self, entry: PriorTreatment, facts: Facts) -> Any:
        return None if entry.outcome == "unknown" else entry.outcome

    def sql(self, args: list[Node], dialect: str) -> str:
        if dialect == "postgres":
            return f"NULLIF(({self.pg_latest(args)})->>'outcome', 'unknown')"
        return f"NULLIF(({self.latest_sql(args, dialect)}).outcome, 'unknown')"


class PriorCycles(_LatestFn):
    name = "prior_cycles"
    result = NUMBER
    words = "cycles of the last {}"
    field = "cycles"

    def of(self, entry: PriorTreatment, facts: Facts) -> Any:
        return entry.cycles


class PriorPfiMonths(_LatestFn):
    name = "prior_pfi_months"
    result = NUMBER
    extra_reads: ClassVar[tuple[str, ...]] = (TREATMENTS, "disease.progression_date")
    words = "months free of progression after the last {}"

    def of(self, entry: PriorTreatment, facts: Facts) -> Any:
        if entry.progression_free_months is not None:
            return entry.progression_free_months
        progressed = facts.get("disease.progression_date")
        if entry.end is not None and progressed is not None and progressed > entry.end:
            return months_between(entry.end, progressed)
        return None

    def sql(self, args: list[Node], dialect: str) -> str:
        if dialect == "postgres":
            entry = self.pg_latest(args)
            end = f"(({entry})->>'end')::date"
            return (
                f"coalesce((({entry})->>'progression_free_months')::double precision, "
                f"CASE WHEN disease__progression_date > {end} THEN "
                f"(disease__progression_date - {end}) / {365.25 / 12!r} END)"
            )
        latest = f"({self.latest_sql(args, dialect)})"
        end = f"{latest}.{quote('end', dialect)}"
        return (
            f"coalesce({latest}.progression_free_months, CASE WHEN disease__progression_date > "
            f"{end} THEN {_days('disease__progression_date', end, dialect)} / "
            f"{365.25 / 12!r} END)"
        )


# Field-versus-literal comparisons, the commonest test, read the fact directly (fast path).
_FIELD_VS_LITERAL: dict[str, Callable[[str, Any], Evaluator]] = {
    "==": lambda p, c: lambda facts: None if (v := facts.get(p)) is None else v == c,
    "!=": lambda p, c: lambda facts: None if (v := facts.get(p)) is None else v != c,
    "<": lambda p, c: lambda facts: None if (v := facts.get(p)) is None else v < c,
    "<=": lambda p, c: lambda facts: None if (v := facts.get(p)) is None else v <= c,
    ">": lambda p, c: lambda facts: None if (v := facts.get(p)) is None else v > c,
    ">=": lambda p, c: lambda facts: None if (v := facts.get(p)) is None else v >= c,
}

_PY_COMPARE = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_COMPARISONS = [
    Compare("==", pyop.eq, "is", "="),
    Compare("!=", pyop.ne, "is not", "<>"),
    Compare("<", pyop.lt, "is below", "<", ordered=True),
    Compare("<=", pyop.le, "is at most", "<=", ordered=True),
    Compare(">", pyop.gt, "is above", ">", ordered=True),
    Compare(">=", pyop.ge, "is at least", ">=", ordered=True),
]

_OPERATORS: list[Operator] = [
    And(),
    Or(),
    Not(),
    *_COMPARISONS,
    In("in", negate=False),
    In("not in", negate=True),
    Contains(),
    ContainsAny(),
    IsEmpty(),
    IsKnown("is known", known=True),
    IsKnown("is unknown", known=False),
    MonthsSince(),
    HasPrior(),
    ProgressedOn(),
    Ongoing(),
    PriorOutcome(),
    PriorCycles(),
    PriorPfiMonths(),
]
REGISTRY: dict[str, Operator] = {op.name: op for op in _OPERATORS}
TWO_VALUED = frozenset({"is known", "is unknown"})
