"""Strict text at every edge: what netmdt accepts from outside must be valid Unicode
without NUL characters, and what it shows back of a bad value is short and escaped.

A lone UTF-16 surrogate (``"\\ud800"`` in JSON) is not a Unicode scalar value: it cannot
be encoded as UTF-8, so a record holding one can be stored by SQLite but never read back
as JSON, and PostgreSQL refuses it. A NUL character is refused by PostgreSQL's text
columns. Both are refused here, naming the field, before anything is stored.
"""

from __future__ import annotations

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

    Large values are never rendered in full (a YAML alias bomb is tiny as a document and
    gigabytes as a repr), so containers are summarised by their size."""
    if isinstance(value, dict | list | tuple | set):
        kind = type(value).__name__
        return f"<a {kind} of {len(value)} item{'s' if len(value) != 1 else ''}>"
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
        return repr(value)[:-1] + "...'"  # still one quoted, escaped string
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _key(key: Any) -> str:
    if isinstance(key, str) and text_fault(key) is None:
        return key
    return shown(key, 40)


def text_problems(data: Any, where: str = "", max_depth: int = MAX_DEPTH) -> list[Problem]:
    """Every string (key or value) in ``data`` that is not strict text, and nesting
    deeper than ``max_depth``, each located by its dotted path. Iterative: a document
    nested 100,000 deep is reported, not a RecursionError."""
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
