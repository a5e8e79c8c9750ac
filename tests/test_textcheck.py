"""Strict text (netmdt.textcheck): the one-pass check of a clean document finds exactly
what the locating walk finds."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netmdt.errors import Problem
from netmdt.textcheck import _located, text_problems

# Text that is mostly fine, now and then with a NUL or a lone surrogate.
TEXT = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["a\x00b", "\ud800", "x\udfff", "\ud800\udc00", "é", ""]),
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
KEY = st.one_of(TEXT, st.integers())
DOCUMENT = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(KEY, inner, max_size=4),
    ),
    max_leaves=30,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    doc = leaf
    for i in range(depth):
        doc = [doc] if i % 2 else {"k": doc}
    return doc


@settings(max_examples=400, deadline=None)
@given(DOCUMENT, st.integers(min_value=1, max_value=6))
def test_the_fast_check_agrees_with_the_locating_walk(data: Any, max_depth: int) -> None:
    assert text_problems(data, "", max_depth) == _located(data, "", max_depth)


def test_a_clean_document_has_no_problems() -> None:
    assert text_problems({"id": "x", "tumour": {"sites": ["pancreas", "liver"]}}) == []
    assert text_problems(nested(63)) == []


def test_each_kind_of_problem_is_located() -> None:
    assert text_problems({"a": [{"b": "x\x00"}]}) == [
        Problem("a.0.b", "contains a NUL character (\\u0000), which is not allowed", "invalid_text")
    ]
    assert [p.where for p in text_problems({"ok": "fine", "\ud800": 1})] == ["'\\ud800'"]
    assert [p.code for p in text_problems(nested(65))] == ["too_deep"]
    assert [p.code for p in text_problems("\ud800")] == ["invalid_text"]
    # A surrogate pair split over two strings is two lone surrogates, not one character.
    assert [p.where for p in text_problems(["\ud800", "\udc00"])] == ["0", "1"]
