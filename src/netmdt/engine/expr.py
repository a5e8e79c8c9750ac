"""The rule language: parser, type checker, and the expression tree.

An expression is parsed once, type-checked against the case schema, and then
compiled to a Python closure (one patient, microseconds; the reference evaluator)
and to Python source (``netmdt.engine.pycode``: what the engine runs), described in
clinician English, and compiled to SQL (a whole cohort). Every operator and
function is one entry of the registry in ``netmdt.engine.ops``; the tree nodes
here only hold fields, literals, lists and references to definitions.

Grammar (see docs/knowledge-base.md)::

    expr  := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | test
    test  := value (CMP value | "in" list | "not" "in" list | "contains" value
                    | "contains_any" list | "is" ("empty" | "known" | "unknown"))?
    value := FIELD | NAME | NUMBER | "true" | "false" | STRING
             | "param" "(" NAME ")" | NAME "(" [value ("," value)*] ")" | "(" expr ")"

``param(NAME)`` is a local setting (``parameters.yaml``): a number the centre may set
within its declared range; it is a constant of the compiled rules (the centre's value,
else the default), never a fact of the case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from netmdt.engine.schema import BOOL, NUMBER, TEXT, FieldInfo, Type, field_bits, paths_of

if TYPE_CHECKING:
    from netmdt.engine.pycode import PyGen

Facts = Mapping[str, Any]
Evaluator = Callable[[Facts], Any]
# Evaluates and, when the result is unknown, says which absent case fields keep it so
# (a bit mask over schema.field_bits()); the mask is 0 when the result is known.
Tracer = Callable[[Facts], tuple[Any, int]]
# The mask alone, valid only where the result is known to be unknown (a tracer's ``[1]``
# there; generated without evaluating the result, see ``PyGen.masker``).
Masker = Callable[[Facts], int]
# Generated Python of a node's mask, written on demand (see ``Node.py_traced``).
MaskSource = Callable[[], str]


class ExprError(Exception):
    """An expression that does not parse or does not type-check; ``pos`` is a column."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        self.pos = pos
        super().__init__(message if pos is None else f"{message} (at column {pos + 1})")


# --------------------------------------------------------------------------- tree


class Node(Protocol):
    """A node of the tree. Its generated Python (``netmdt.engine.pycode``):

    * ``py``: the value; ``py_unknown``: true exactly when the value is unknown;
    * ``py_mask``: the tracer's mask, valid where the value is unknown, evaluated from
      the field locals alone;
    * ``py_traced``: the value and the source of its mask written later, valid after the
      value was evaluated (in the same expression) and found unknown: it may read the
      temporaries the value bound, so that children are not evaluated twice;
    * ``py_unknown_traced``: the same for ``py_unknown`` (the mask valid after the test
      was evaluated and found true).
    """

    type: Type

    def compile(self) -> Evaluator: ...
    def tracer(self) -> Tracer: ...
    def describe(self) -> str: ...
    def reads(self) -> frozenset[str]: ...
    def sql(self, dialect: str) -> str: ...
    def py(self, gen: PyGen) -> str: ...
    def py_mask(self, gen: PyGen) -> str: ...
    def py_unknown(self, gen: PyGen) -> str: ...
    def py_traced(self, gen: PyGen) -> tuple[str, MaskSource]: ...
    def py_unknown_traced(self, gen: PyGen) -> tuple[str, MaskSource]: ...


def mask_of(trace: Tracer) -> Masker:
    """The mask of a tracer alone (the reference for a generated ``PyGen.masker``)."""
    return lambda facts: trace(facts)[1]


def unknowns(node: Node, facts: Facts) -> tuple[str, ...]:
    """The absent case fields that keep an expression unknown (none when it is known)."""
    return paths_of(node.tracer()(facts)[1])


def column(path: str) -> str:
    """The SQL column of a case field: dots become double underscores."""
    return path.replace(".", "__")


@dataclass
class FieldRef:
    info: FieldInfo
    type: Type = field(init=False)

    def __post_init__(self) -> None:
        self.type = self.info.type

    def compile(self) -> Evaluator:
        path = self.info.path
        return lambda facts: facts.get(path)

    def tracer(self) -> Tracer:
        path, reads = self.info.path, self.info.reads
        bits = field_bits()
        if reads == (path,):
            bit = bits[path]
            return lambda facts: (v, 0) if (v := facts.get(path)) is not None else (None, bit)

        def derived(facts: Facts) -> tuple[Any, int]:
            v = facts.get(path)
            if v is not None:
                return v, 0
            return None, sum(bits[p] for p in reads if facts.get(p) is None)

        return derived

    def describe(self) -> str:
        return self.info.label or self.info.path

    def reads(self) -> frozenset[str]:
        return frozenset(self.info.reads)

    def sql(self, dialect: str) -> str:
        from netmdt.engine.sql import derived_sql

        if self.info.path.startswith("derived."):
            return derived_sql(self.info.path, dialect)
        return column(self.info.path)

    def py(self, gen: PyGen) -> str:
        return gen.field(self.info.path)

    def py_unknown(self, gen: PyGen) -> str:
        return f"{gen.field(self.info.path)} is None"

    def py_mask(self, gen: PyGen) -> str:
        """Python source of ``tracer``'s mask, valid where the value is unknown."""
        path, reads = self.info.path, self.info.reads
        bits = field_bits()
        if reads == (path,):
            return repr(bits[path])
        if not reads:
            return "0"
        return (
            "(" + " | ".join(f"({bits[p]!r} if {gen.field(p)} is None else 0)" for p in reads) + ")"
        )

    def py_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return self.py(gen), lambda: self.py_mask(gen)

    def py_unknown_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return self.py_unknown(gen), lambda: self.py_mask(gen)


@dataclass
class Literal:
    value: Any
    type: Type

    def compile(self) -> Evaluator:
        value = self.value
        return lambda facts: value

    def tracer(self) -> Tracer:
        value = self.value
        return lambda facts: (value, 0)

    def describe(self) -> str:
        if isinstance(self.value, bool):
            return "yes" if self.value else "no"
        if isinstance(self.value, float) and self.value.is_integer():
            return str(int(self.value))
        return str(self.value).replace("_", " ")

    def reads(self) -> frozenset[str]:
        return frozenset()

    def sql(self, dialect: str) -> str:
        return sql_literal(self.value)

    def py(self, gen: PyGen) -> str:
        return gen.literal(self.value)

    def py_unknown(self, gen: PyGen) -> str:
        return "False"

    def py_mask(self, gen: PyGen) -> str:
        return "0"

    def py_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return self.py(gen), _no_mask

    def py_unknown_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return "False", _no_mask


def _no_mask() -> str:
    return "0"


def sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass
class ListLit:
    items: list[Literal]
    type: Type = field(default_factory=lambda: Type("list"))

    @property
    def values(self) -> tuple[Any, ...]:
        return tuple(i.value for i in self.items)

    def compile(self) -> Evaluator:
        values = self.values
        return lambda facts: values

    def tracer(self) -> Tracer:
        values = self.values
        return lambda facts: (values, 0)

    def describe(self) -> str:
        return ", ".join(i.describe() for i in self.items)

    def reads(self) -> frozenset[str]:
        return frozenset()

    def sql(self, dialect: str) -> str:
        return "(" + ", ".join(i.sql(dialect) for i in self.items) + ")"

    def py(self, gen: PyGen) -> str:
        return gen.const("tuple", self.values)

    def py_unknown(self, gen: PyGen) -> str:
        return "False"

    def py_mask(self, gen: PyGen) -> str:
        return "0"

    def py_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return self.py(gen), _no_mask

    def py_unknown_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return "False", _no_mask


@dataclass(frozen=True)
class Param:
    """A declared local setting as the rules see it: its value here (the centre's, else
    the default) and whether that is a local value."""

    id: str
    value: int | float
    default: int | float
    unit: str

    @property
    def local(self) -> bool:
        return self.value != self.default


def number_text(value: float) -> str:
    """A number as a clinician writes it: 5, not 5.0."""
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class ParamRef(Literal):
    """``param(id)``: a constant of the compiled rules (the value of the setting when the
    knowledge base loads), so every executor treats it as the literal it is; only its
    description says it is a local setting."""

    param: Param = field(kw_only=True)

    def describe(self) -> str:
        text = number_text(self.param.value)
        return f"{text} (local setting)" if self.param.local else text


def params_used(node: Node) -> list[Param]:
    """Every local setting an expression reads, directly or through definitions."""
    if isinstance(node, ParamRef):
        return [node.param]
    if isinstance(node, DefRef):
        return params_used(node.definition.expr)
    if isinstance(node, Apply):
        return [p for a in node.args for p in params_used(a)]
    return []


@dataclass
class Definition:
    """A named boolean expression (``definitions.yaml`` or an option's own)."""

    id: str
    text: str
    expr: Node
    review: bool = False
    evaluator: Evaluator = field(init=False)
    trace: Tracer = field(init=False)

    def __post_init__(self) -> None:
        self.evaluator = self.expr.compile()
        self.trace = self.expr.tracer()


@dataclass
class DefRef:
    definition: Definition
    type: Type = BOOL

    def compile(self) -> Evaluator:
        return self.definition.evaluator

    def tracer(self) -> Tracer:
        return self.definition.trace

    def describe(self) -> str:
        return self.definition.text

    def reads(self) -> frozenset[str]:
        return self.definition.expr.reads()

    def sql(self, dialect: str) -> str:
        return "(" + self.definition.expr.sql(dialect) + ")"

    def py(self, gen: PyGen) -> str:
        return gen.definition(self.definition)

    def py_mask(self, gen: PyGen) -> str:
        return self.definition.expr.py_mask(gen)

    def py_unknown(self, gen: PyGen) -> str:
        return self.definition.expr.py_unknown(gen)

    def py_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        value, mask = self.definition.expr.py_traced(gen)
        return "(" + value + ")", mask

    def py_unknown_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return self.definition.expr.py_unknown_traced(gen)


@dataclass
class Apply:
    """An operator or function of the registry applied to its arguments."""

    op: Operator
    args: list[Node]
    type: Type = field(init=False)
    _fn: Evaluator | None = field(default=None, init=False, repr=False)
    _tracer: Tracer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.type = self.op.check(self.args)

    def compile(self) -> Evaluator:
        if self._fn is None:
            self._fn = self.op.compile(self.args, [a.compile() for a in self.args])
        return self._fn

    def tracer(self) -> Tracer:
        if self._tracer is None:
            self._tracer = self.op.tracer(
                self.args, self.compile(), [a.tracer() for a in self.args]
            )
        return self._tracer

    def describe(self) -> str:
        return self.op.describe(self.args)

    def reads(self) -> frozenset[str]:
        found: frozenset[str] = frozenset(self.op.extra_reads)
        for a in self.args:
            found |= a.reads()
        return found

    def sql(self, dialect: str) -> str:
        return self.op.sql(self.args, dialect)

    def py(self, gen: PyGen) -> str:
        return self.op.py(self.args, gen)

    def py_mask(self, gen: PyGen) -> str:
        return self.op.py_mask(self.args, gen)

    def py_unknown(self, gen: PyGen) -> str:
        """Python source true exactly when the node is unknown."""
        shortcut = self.op.py_unknown(self.args, gen)
        return shortcut if shortcut is not None else f"{self.py(gen)} is None"

    def py_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return self.op.py_traced(self.args, gen)

    def py_unknown_traced(self, gen: PyGen) -> tuple[str, MaskSource]:
        return self.op.py_unknown_traced(self.args, gen)

    def uses_definitions(self) -> list[Definition]:
        return [d for a in self.args for d in definitions_used(a)]


def definitions_used(node: Node) -> list[Definition]:
    """Every definition an expression uses, directly or through other definitions."""
    if isinstance(node, DefRef):
        return [node.definition, *definitions_used(node.definition.expr)]
    if isinstance(node, Apply):
        return node.uses_definitions()
    return []


class Operator(Protocol):
    """A registry entry: evaluates, describes itself, reports reads, compiles to SQL."""

    @property
    def name(self) -> str: ...
    @property
    def extra_reads(self) -> tuple[str, ...]: ...

    def check(self, args: list[Node]) -> Type: ...
    def compile(self, args: list[Node], fns: list[Evaluator]) -> Evaluator: ...
    def tracer(self, args: list[Node], fn: Evaluator, tracers: list[Tracer]) -> Tracer: ...
    def sql_mask(
        self, args: list[Node], masks: list[str], node: str, bits: Mapping[str, str]
    ) -> str: ...
    def describe(self, args: list[Node]) -> str: ...
    def sql(self, args: list[Node], dialect: str) -> str: ...
    def py(self, args: list[Node], gen: PyGen) -> str: ...
    def py_mask(self, args: list[Node], gen: PyGen) -> str: ...
    def py_unknown(self, args: list[Node], gen: PyGen) -> str | None: ...
    def py_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]: ...
    def py_unknown_traced(self, args: list[Node], gen: PyGen) -> tuple[str, MaskSource]: ...


# ------------------------------------------------------------------------- parser

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>\"[^\"]*\")|(?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))"
)
KEYWORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "contains",
        "contains_any",
        "is",
        "empty",
        "known",
        "unknown",
        "true",
        "false",
    }
)
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            at = len(text) - len(text[pos:].lstrip())
            raise ExprError(f"unexpected character {text[at]!r}", at)
        kind = m.lastgroup or ""
        start = m.start(kind)
        tokens.append(Token(kind, m.group(kind), start))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class Scope(Protocol):
    """What names mean while parsing: fields, definitions, operators."""

    def field(self, path: str) -> FieldInfo | None: ...
    def definition(self, name: str) -> Definition | None: ...
    def operator(self, name: str) -> Operator | None: ...
    def suggest(self, name: str) -> str: ...


def parse(text: str, scope: Scope) -> Node:
    """Parse and type-check an expression; raises ExprError."""
    parser = _Parser(tokenize(str(text)), scope)
    node = parser.expr()
    if parser.peek().kind != "end":
        tok = parser.peek()
        raise ExprError(f"unexpected {tok.text!r}", tok.pos)
    if node.type != BOOL:
        raise ExprError(f"the expression must be true or false, not a {node.type}")
    return node


class _Parser:
    def __init__(self, tokens: list[Token], scope: Scope) -> None:
        self.tokens = tokens
        self.i = 0
        self.scope = scope

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self, text: str | None = None) -> Token:
        tok = self.peek()
        if text is not None and tok.text != text:
            raise ExprError(
                f"expected {text!r}, found {tok.text or 'end of expression'!r}", tok.pos
            )
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok.kind in ("name", "op") and tok.text in texts

    def apply(self, name: str, args: list[Node], pos: int) -> Node:
        op = self.scope.operator(name)
        if op is None:
            raise ExprError(f"unknown operator or function {name!r}", pos)
        try:
            return Apply(op, args)
        except ExprError as exc:
            raise ExprError(str(exc), pos) from None

    def expr(self) -> Node:
        return self.chain("or", self.conj)

    def conj(self) -> Node:
        return self.chain("and", self.neg)

    def chain(self, word: str, operand: Callable[[], Node]) -> Node:
        """``a and b and c`` is one n-ary node (flat to evaluate, explain and compile)."""
        pos = self.peek().pos
        nodes = [operand()]
        while self.at(word):
            self.take()
            nodes.append(operand())
        return nodes[0] if len(nodes) == 1 else self.apply(word, nodes, pos)

    def neg(self) -> Node:
        if self.at("not"):
            pos = self.take().pos
            return self.apply("not", [self.neg()], pos)
        return self.test()

    def test(self) -> Node:
        left = self.value()
        tok = self.peek()
        if self.at(*COMPARISONS):
            self.take()
            return self.apply(tok.text, [left, self.value(left.type)], tok.pos)
        if self.at("in"):
            self.take()
            return self.apply("in", [left, self.list(left.type)], tok.pos)
        if self.at("not") and self.peek(1).text == "in":
            self.take()
            self.take()
            return self.apply("not in", [left, self.list(left.type)], tok.pos)
        if self.at("contains"):
            self.take()
            return self.apply("contains", [left, self.value(left.type)], tok.pos)
        if self.at("contains_any"):
            self.take()
            return self.apply("contains_any", [left, self.list(left.type)], tok.pos)
        if self.at("is"):
            self.take()
            word = self.take()
            if word.text not in ("empty", "known", "unknown"):
                raise ExprError("expected 'empty', 'known' or 'unknown' after 'is'", word.pos)
            return self.apply(f"is {word.text}", [left], tok.pos)
        return left

    def list(self, expected: Type) -> ListLit:
        self.take("[")
        items = [self.literal(expected)]
        while self.at(","):
            self.take()
            items.append(self.literal(expected))
        self.take("]")
        return ListLit(items)

    def literal(self, expected: Type) -> Literal:
        node = self.value(expected)
        if not isinstance(node, Literal):
            raise ExprError("a list holds only values", self.peek().pos)
        return node

    def value(self, expected: Type | None = None) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Literal(float(tok.text) if "." in tok.text else int(tok.text), NUMBER)
        if tok.kind == "str":
            return Literal(tok.text[1:-1], TEXT)
        if tok.text == "(":
            node = self.expr()
            self.take(")")
            return node
        if tok.kind != "name":
            raise ExprError(f"expected a value, found {tok.text or 'end of expression'!r}", tok.pos)
        if tok.text in ("true", "false"):
            return Literal(tok.text == "true", BOOL)
        if tok.text == "param" and self.peek().text == "(":
            return self.param_ref(tok)
        if self.peek().text == "(":
            return self.call(tok)
        if "." in tok.text or self.scope.field(tok.text) is not None:
            info = self.scope.field(tok.text)
            if info is None:
                raise ExprError(
                    f"unknown field {tok.text!r}{self.scope.suggest(tok.text)}", tok.pos
                )
            return FieldRef(info)
        definition = self.scope.definition(tok.text)
        if definition is not None and (expected is None or expected.kind == "bool"):
            return DefRef(definition)
        if tok.text in KEYWORDS and not (expected and tok.text in expected.values):
            raise ExprError(f"unexpected keyword {tok.text!r}", tok.pos)
        return self.enum_value(tok, expected)

    def enum_value(self, tok: Token, expected: Type | None) -> Literal:
        if expected is None:
            raise ExprError(
                f"{tok.text!r} is not a field, definition or function"
                + self.scope.suggest(tok.text),
                tok.pos,
            )
        if expected.kind not in ("enum", "list") or (
            expected.values and tok.text not in expected.values
        ):
            allowed = f" (allowed: {', '.join(expected.values)})" if expected.values else ""
            raise ExprError(
                f"{tok.text!r} is not a value of this {expected.kind}{allowed}", tok.pos
            )
        return Literal(tok.text, Type("enum", expected.values))

    def param_ref(self, tok: Token) -> ParamRef:
        self.take("(")
        name = self.take()
        self.take(")")
        lookup = getattr(self.scope, "parameter", None)  # scopes without settings: none
        param = lookup(name.text) if lookup is not None and name.kind == "name" else None
        if param is None:
            raise ExprError(f"undeclared parameter {name.text!r} (parameters.yaml)", name.pos)
        return ParamRef(param.value, NUMBER, param=param)

    def call(self, name: Token) -> Node:
        self.take("(")
        op = self.scope.operator(name.text)
        arg_type = getattr(op, "arg_type", None)
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.value(arg_type))
            while self.at(","):
                self.take()
                args.append(self.value(arg_type))
        self.take(")")
        return self.apply(name.text, args, name.pos)
