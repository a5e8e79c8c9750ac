"""Strict text at every edge: what netmdt accepts from outside must be valid Unicode
without NUL characters, and what it shows back of a bad value is short and escaped.

A lone UTF-16 surrogate (``"\\ud800"`` in JSON) is not a Unicode scalar value: it cannot
be encoded as UTF-8, so a record holding one can be stored by SQLite but never read back
as JSON, and PostgreSQL refuses it. A NUL character is refused by PostgreSQL's text
columns. Both are refused here, naming the field, before anything is stored.
"""

from __future__ import annotations

import reprlib
from typing import Any

from netmdt.errors import Problem

SHOWN = 100  # characters of a bad value shown in an error message
MAX_DEPTH = 64  # nesting of lists and mappings accepted in any input document


def text_fault(text: str) -> str | None:
    """Why ``text`` is refused, or None when it is fine."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which is not allowed"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds a lone surrogate such as \\ud800)"
    return None


def shown(value: Any, limit: int = SHOWN) -> str:
    """``repr(value)`` escaped and cut to about ``limit`` characters, for messages.

    Built with ``reprlib``, which stops at a few items per container and a few levels: a
    large value is never rendered in full (a YAML alias bomb is tiny as a document and
    gigabytes as a repr)."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class _Repr(reprlib.Repr):
    def repr_dict(self, x: dict[Any, Any], level: int) -> str:  # in order, not sorted
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [
            f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}"
            for k, v in list(x.items())[: self.maxdict]
        ]
        return "{" + ", ".join(items) + (", ...}" if len(x) > self.maxdict else "}")


_REPR = _Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 3, 8, 8, 8
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = SHOWN, SHOWN, 40


def _key(key: Any) -> str:
    if isinstance(key, str) and text_fault(key) is None:
        return key
    return shown(key, 40)


def text_problems(data: Any, where: str = "", max_depth: int = MAX_DEPTH) -> list[Problem]:
    """Every string (key or value) in ``data`` that is not strict text, and nesting
    deeper than ``max_depth``, each located by its dotted path. Iterative: a document
    nested 100,000 deep is reported, not a RecursionError.

    Almost every document is clean: one pass checks that, building no paths, and only a
    document with a problem is walked again to locate it (``_located``)."""
    if _clean(data, max_depth):
        return []
    return _located(data, where, max_depth)


def _clean(data: Any, max_depth: int) -> bool:
    """True when ``text_problems`` would find nothing: no container at ``max_depth`` or
    deeper, and every string (dict keys included) strict text, checked all at once."""
    if isinstance(data, str):
        return text_fault(data) is None
    texts: list[str] = []
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list | tuple):
            continue
        if depth >= max_depth:
            return False
        if isinstance(node, dict):
            texts += [k for k in node if isinstance(k, str)]
            node = node.values()
        depth += 1
        for value in node:
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, dict | list | tuple):
                stack.append((value, depth))
    return text_fault("".join(texts)) is None


def _located(data: Any, where: str, max_depth: int) -> list[Problem]:
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(data, where, 0)]
    while stack and len(problems) < 20:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            fault = text_fault(node)
            if fault:
                problems.append(Problem(path, fault, "invalid_text"))
            continue
        if not isinstance(node, dict | list | tuple):
            continue
        if depth >= max_depth:
            problems.append(Problem(path, f"nested deeper than {max_depth} levels", "too_deep"))
            continue
        if isinstance(node, dict):
            items = list(node.items())
            for key, value in reversed(items):
                sub = f"{path}.{_key(key)}" if path else _key(key)
                if isinstance(key, str) and (fault := text_fault(key)):
                    problems.append(Problem(sub, "the field name " + fault, "invalid_text"))
                    continue
                stack.append((value, sub, depth + 1))
        else:
            for i in reversed(range(len(node))):
                stack.append((node[i], f"{path}.{i}" if path else str(i), depth + 1))
    return problems
