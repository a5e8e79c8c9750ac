"""Kleene three-valued logic: ``True``, ``False`` and ``None`` (unknown).

``unknown and false = false``, ``unknown or true = true``, ``not unknown = unknown``.
This is also SQL's NULL logic, which is why the cohort SQL needs no translation.
"""

from __future__ import annotations

from collections.abc import Iterable

Tri = bool | None


def not_(a: Tri) -> Tri:
    return None if a is None else not a


def and_(a: Tri, b: Tri) -> Tri:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or_(a: Tri, b: Tri) -> Tri:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def all_(values: Iterable[Tri]) -> Tri:
    """Kleene conjunction of many: false wins, then unknown, else true (empty -> true)."""
    result: Tri = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def any_(values: Iterable[Tri]) -> Tri:
    """Kleene disjunction of many: true wins, then unknown, else false (empty -> false)."""
    result: Tri = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result
