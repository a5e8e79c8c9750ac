"""The rule language compiled to Python source, then to bytecode with ``compile()``.

The closures of ``Node.compile()`` are the reference evaluator: simple, one closure per
tree node, one call per node per case. This module generates, from the same parsed and
type-checked tree, the source of one plain Python function per criterion, warning and
funding rule, and one per option that returns the statuses of all its criteria as a
tuple (one call per option per case instead of dozens). Tests hold the two equal
(``tests/test_pycode.py``: every scenario, a Hypothesis differential, Kleene tables).

What goes into the source, and nothing else (the approach of ``dataclasses``, ``attrs``
and Jinja2):

* case-field paths, checked against the case schema, written with ``repr``;
* literals of the knowledge base (booleans, numbers, strings), written with ``repr``;
* names this module makes up (``_t3``, ``_k0``, ``_h1``, ``_f2``);
* operators and keywords written by the registry entries (``ops.py``), never read from
  a file.

Helpers that cannot be written as an expression (the prior-treatment functions,
``months_between``) are passed in the module's namespace as objects. No text from a
case or a request is ever part of the source: the generated functions read the case only
through ``facts.get``.
"""

from __future__ import annotations

import itertools
import linecache
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from netmdt.engine.expr import definitions_used
from netmdt.engine.schema import all_fields

if TYPE_CHECKING:
    from netmdt.engine.expr import Definition, Evaluator, Masker, Node, Tracer

_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
_counter = itertools.count()


class PyGen:
    """Collects the source of one generated module: constants, helpers, functions."""

    def __init__(self) -> None:
        self._consts: dict[str, str] = {}  # source of a constant -> its name
        self.namespace: dict[str, Any] = {}  # helper objects, by generated name
        self._helpers: dict[Any, str] = {}  # by the object (bound methods compare equal)
        self._functions: list[str] = []
        self._temps = itertools.count()
        self._reads: dict[str, str] = {}  # the fields the function being written reads
        self._locals: dict[str, str] = {}  # values it computes once from them (``local``)
        # sources of the form ``(None if v is None else K)``, ``v`` a local and ``K`` always
        # true or false, by source: (v, K) (``atom``)
        self.atoms: dict[str, tuple[str, str]] = {}
        # the masks (``masker``) that read nothing of the case: their value, by name
        self.constant_masks: dict[str, int] = {}
        # definitions (by ``id()``) the function being written computes once, at the top,
        # as locals (``definition``), and their locals' names
        self._shared: frozenset[int] = frozenset()
        self._defs: dict[int, str] = {}
        # whether the function being written evaluates every node anyway (the statuses of
        # a whole knowledge base or of every trial card), so that values computed once at
        # its top for several nodes pay off (``ops.ProgressedOn``, ``ops.Ongoing``); a
        # single rule's function stays lazy
        self.eager = False

    # -- pieces of expressions ------------------------------------------------

    def temp(self) -> str:
        """A fresh local name (assigned with ``:=`` where it is first needed)."""
        return f"_t{next(self._temps)}"

    def field(self, path: str) -> str:
        """The value of a case field or derived fact (``None`` when unknown): a local
        read once at the top of the function (a dict lookup costs more than a local)."""
        if path not in all_fields() or not _PATH.match(path):
            raise ValueError(f"not a field of the case schema: {path!r}")
        name = self._reads.get(path)
        if name is None:
            name = self._reads[path] = f"_v{len(self._reads)}"
        return name

    def local(self, source: str) -> str:
        """A value computed once, at the top of the function being written, after its
        field reads: ``source`` is Python written by this module or by ``ops.py`` from
        field locals (``field``), never text from a case. Returns its local name."""
        name = self._locals.get(source)
        if name is None:
            name = self._locals[source] = f"_d{len(self._locals)}"
        return name

    def atom(self, source: str) -> tuple[str, str] | None:
        """``(v, K)`` where ``source`` is ``(None if v is None else K)`` with ``v`` a local
        and ``K`` always true or false (recorded by the ops that write it), else None."""
        return self.atoms.get(source)

    @staticmethod
    def is_local(source: str) -> bool:
        """Whether an expression is a plain local (safe to repeat, no need for a temp)."""
        return re.fullmatch(r"_[tvd][0-9]+", source) is not None

    def literal(self, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return repr(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"not a finite number: {value!r}")
            return repr(value)
        if isinstance(value, str):
            return repr(value)
        raise ValueError(f"not a literal of the rule language: {value!r}")

    def const(self, kind: str, values: Sequence[Any]) -> str:
        """A module-level constant built once: a ``frozenset`` or a ``tuple`` of literals."""
        if kind not in ("frozenset", "tuple"):
            raise ValueError(kind)
        items = "".join(self.literal(v) + ", " for v in values)
        source = f"{kind}(({items}))"
        name = self._consts.get(source)
        if name is None:
            name = self._consts[source] = f"_k{len(self._consts)}"
        return name

    def helper(self, obj: Callable[..., Any]) -> str:
        """A name for a Python object the generated code calls (not source text)."""
        name = self._helpers.get(obj)
        if name is None:
            name = self._helpers[obj] = f"_h{len(self._helpers)}"
            self.namespace[name] = obj
        return name

    def expr(self, node: Node) -> str:
        return node.py(self)

    def definition(self, definition: Definition) -> str:
        """A definition's value: a local computed once at the top of the function when
        it is shared there (``statuses_of_all``), else its expression in place."""
        key = id(definition)
        if key not in self._shared:
            return "(" + self.expr(definition.expr) + ")"
        name = self._defs.get(key)
        if name is None:
            # its own shared definitions and field locals are registered first, so they
            # come before it at the top of the function
            name = self._defs[key] = self.local(self.expr(definition.expr))
        return name

    # -- functions --------------------------------------------------------------

    def function(self, body: Callable[[], str]) -> str:
        """A function of the facts returning what ``body()`` writes; returns its name."""
        self._reads = {}
        self._locals = {}
        self._defs = {}
        returned = body()
        name = f"_f{len(self._functions)}"
        # facts.get once in a local when it reads several fields (none: a constant)
        get, reads = ("_g", "    _g = facts.get\n") if len(self._reads) > 1 else ("facts.get", "")
        reads += "".join(f"    {v} = {get}({p!r})\n" for p, v in self._reads.items())
        reads += "".join(f"    {v} = {src}\n" for src, v in self._locals.items())
        self._functions.append(f"def {name}(facts):\n{reads}    return {returned}\n")
        return name

    def evaluator(self, node: Node) -> str:
        return self.function(lambda: self.expr(node))

    def tracer(self, node: Node) -> str:
        """A function returning ``(value, mask)`` like ``Node.tracer()``: the mask of the
        absent case fields that keep the value unknown (0 when it is known)."""

        def body() -> str:
            value, mask = node.py_traced(self)  # the mask reads what the value computed
            return f"(_r, 0) if (_r := {value}) is not None else (None, {mask()})"

        return self.function(body)

    def masker(self, node: Node) -> str:
        """A function returning the tracer's mask alone, valid only where the value is
        unknown (the callers ask it of the criteria whose status is ``None``): it never
        evaluates the value, only the tests of which operands are unknown and their masks,
        each operand once. One that reads nothing of the case (every unknown operand's
        mask a constant, e.g. a single field's bit) is also in ``constant_masks``."""
        written = ""

        def body() -> str:
            nonlocal written
            written = node.py_mask(self)
            return written

        name = self.function(body)
        if re.fullmatch(r"\(*[0-9]+\)*", written):
            self.constant_masks[name] = int(written.strip("()"))
        return name

    def statuses(self, nodes: Sequence[Node]) -> str:
        """One function returning the tuple of every node's value, in order."""
        return self.function(
            lambda: "(" + "".join(f"\n        {self.expr(n)}," for n in nodes) + "\n    )"
        )

    def statuses_of_all(
        self, groups: Sequence[Sequence[Node]], gates: Sequence[Sequence[int]] = ()
    ) -> str:
        """One function returning, per group of nodes, the tuple of their values. A
        definition used more than once among them is computed once, at the top (every
        node's source is total and free of side effects, so computing it ahead of a
        short-circuit changes no value; the differential tests hold it)."""

        def body() -> str:
            rows = [
                self._row(nodes, gates[i] if gates else ()) + "," for i, nodes in enumerate(groups)
            ]
            return "(" + "".join(f"\n        {row}" for row in rows) + "\n    )"

        uses = Counter(id(d) for nodes in groups for n in nodes for d in definitions_used(n))
        self._shared = frozenset(key for key, count in uses.items() if count > 1)
        self.eager = True
        try:
            return self.function(body)
        finally:
            self._shared, self.eager = frozenset(), False

    def _row(self, nodes: Sequence[Node], gate: Sequence[int]) -> str:
        """The tuple of the nodes' values; with a gate (positions), where one of the gate's
        nodes is false, the tuple of the gate's values alone, None elsewhere (the other
        nodes are not evaluated)."""
        if not gate:
            return "(" + "".join(f"\n            {self.expr(n)}," for n in nodes) + "\n        )"
        names = {i: self.temp() for i in gate}
        assigned = [f"({names[i]} := {self.expr(nodes[i])})" for i in gate]
        # every gate evaluated: the short tuple holds them all
        test = (
            f"{assigned[0]} is False"
            if len(assigned) == 1
            else "False in (" + ", ".join(assigned) + ",)"
        )
        short = (
            "("
            + "".join(f"{names[i]}, " if i in names else "None, " for i in range(len(nodes)))
            + ")"
        )
        full = (
            "("
            + "".join(
                f"\n            {names[i] if i in names else self.expr(n)},"
                for i, n in enumerate(nodes)
            )
            + "\n        )"
        )
        return f"({short} if {test} else {full})"

    def truths(self, nodes: Sequence[Node | None]) -> str:
        """One function returning, per node, whether its value is true (``True`` where
        there is no node: an unconditional one)."""

        def body() -> str:
            return (
                "("
                + "".join(
                    "\n        True," if n is None else f"\n        ({self.expr(n)}) is True,"
                    for n in nodes
                )
                + "\n    )"
            )

        return self.function(body)

    def source(self) -> str:
        consts = "".join(f"{name} = {src}\n" for src, name in self._consts.items())
        return consts + "\n" + "\n".join(self._functions)

    def build(self, label: str) -> dict[str, Any]:
        """Compile the module; returns its namespace (functions by generated name).

        The source is registered with ``linecache`` so that tracebacks show it.
        """
        source = self.source()
        filename = f"<netmdt {label} #{next(_counter)}>"
        code = compile(source, filename, "exec")
        namespace: dict[str, Any] = dict(self.namespace)
        exec(code, namespace)  # our own generated source: see the module docstring
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        return namespace


def compile_nodes(nodes: Sequence[Node], label: str) -> list[Evaluator]:
    """Each node compiled to its own generated function (for tests and single rules)."""
    gen = PyGen()
    names = [gen.evaluator(n) for n in nodes]
    namespace = gen.build(label)
    return [namespace[n] for n in names]


def trace_nodes(nodes: Sequence[Node], label: str) -> list[Tracer]:
    """Each node's generated tracer (for tests)."""
    gen = PyGen()
    names = [gen.tracer(n) for n in nodes]
    namespace = gen.build(label)
    return [namespace[n] for n in names]


def mask_nodes(nodes: Sequence[Node], label: str) -> list[Masker]:
    """Each node's generated mask (for tests; valid only where the node is unknown)."""
    gen = PyGen()
    names = [gen.masker(n) for n in nodes]
    namespace = gen.build(label)
    return [namespace[n] for n in names]
