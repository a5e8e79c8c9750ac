"""When an unknown criterion's missing facts follow from which facts are present.

A tracer (``Node.tracer``, or its generated twin ``PyGen.tracer``) names the absent case
fields that keep an unknown expression unknown, as a bit mask (``field_bits``). In
general that takes the values: in ``(a and b) or c`` with ``a`` and ``c`` absent, ``a``
counts only when ``b`` is true. But for most criteria (one comparison, a list test,
``and``/``or`` of those) the mask, whenever the criterion is unknown, depends only on
which of a few facts are present. This module finds those criteria by their structure
(``presence_fields``), so that the engine can key what it keeps by those facts' presence
instead of calling the tracers (``netmdt.engine.assess``).

For each node it works out two sets of fact paths (``_props``):

* ``U``: the node is unknown exactly when one of ``U`` is absent (``None``: no such set;
  its unknown-ness depends on values);
* ``P``: whenever the node is unknown, its mask depends only on which of ``P`` are
  present (``None``: no such set).

The rules, one per kind of node (only the operators listed; anything else has neither):

* a case field: ``U`` and ``P`` are itself (its mask is its bit);
* a derived fact: unknown exactly when it is absent (``U`` is itself); its mask is the
  bits of the case fields it is made of that are absent (``FieldRef.py_mask``), so ``P``
  is those fields;
* a literal, and ``is known`` / ``is not known``: never unknown, mask 0: both empty;
* ``has_prior``: unknown exactly when the treatment history is absent, and then its mask
  is that field's bit: ``U`` is the history, ``P`` empty;
* a strict operator (unknown exactly when an argument is unknown: comparisons, ``in``,
  ``contains``, ``contains_any``, ``is empty``, ``not``; ``months_since`` also when the
  assessment date is): its mask is the union of its unknown arguments' masks
  (``_Base.py_mask``). Where every argument has both sets, which arguments are unknown
  follows from their ``U``, and their masks from their ``P``: so ``U`` is the union of
  the arguments' ``U`` and ``P`` the union of all their sets;
* ``and`` / ``or``: unknown means no operand decided it, and the mask is again the union
  of the unknown operands' masks: ``P`` as for a strict operator; but whether it is
  unknown depends on the operands' values, so no ``U`` (an ``and`` inside an ``or``
  leaves the ``or`` with no ``P``).

The engine relies on one more fact: the facts never map a path to ``None`` (an unknown
field is left out; ``netmdt.engine.facts``), so "absent" is "not in the facts".
``tests/test_absence.py`` holds the rule against the tracers over every scenario,
synthetic cohorts and Hypothesis cases.
"""

from __future__ import annotations

from collections.abc import Iterable

from netmdt.engine.expr import Apply, DefRef, FieldRef, ListLit, Literal, Node
from netmdt.engine.ops import (
    TREATMENTS,
    Compare,
    Contains,
    ContainsAny,
    HasPrior,
    In,
    IsEmpty,
    IsKnown,
    MonthsSince,
    Not,
    _Junction,
)

_STRICT = (Compare, In, Contains, ContainsAny, IsEmpty, Not, MonthsSince)
_NOTHING: frozenset[str] = frozenset()
_NEITHER: tuple[None, None] = (None, None)
ASSESSED_ON = "assessed_on"  # months_since is unknown without it (MonthsSince.py)


def presence_fields(nodes: Iterable[Node]) -> tuple[str, ...] | None:
    """The fact paths whose presence decides the masks of every node, whenever it is
    unknown (``P`` of the module docstring, together, sorted); ``None`` when some node
    has no such set."""
    found: set[str] = set()
    for node in nodes:
        _, fields = _props(node)
        if fields is None:
            return None
        found |= fields
    return tuple(sorted(found))


def _props(node: Node) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(U, P) of the module docstring."""
    if isinstance(node, FieldRef):
        info = node.info
        itself = frozenset((info.path,))
        return itself, itself if info.reads == (info.path,) else frozenset(info.reads)
    if isinstance(node, Literal | ListLit):
        return _NOTHING, _NOTHING
    if isinstance(node, DefRef):
        return _props(node.definition.expr)
    if not isinstance(node, Apply):
        return _NEITHER
    op = node.op
    if isinstance(op, IsKnown):
        return _NOTHING, _NOTHING
    if type(op) is HasPrior:
        return frozenset((TREATMENTS,)), _NOTHING
    if not isinstance(op, (*_STRICT, _Junction)):
        return _NEITHER
    unknown: set[str] = set()
    fields: set[str] = set()
    for a in node.args:
        u, p = _props(a)
        if u is None or p is None:
            return _NEITHER
        unknown |= u
        fields |= u | p
    if isinstance(op, _Junction):
        return None, frozenset(fields)
    if isinstance(op, MonthsSince):
        unknown.add(ASSESSED_ON)
        fields.add(ASSESSED_ON)
    return frozenset(unknown), frozenset(fields)
