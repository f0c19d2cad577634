from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.models.canonical import dumps_compact, dumps_go, dumps_sorted

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)


def test_go_escapes_html_and_line_separators() -> None:
    payload = {"a": "<b>&\u2028\u2029", "é": "ü"}
    assert (
        dumps_go(payload) == b'{"a":"\\u003cb\\u003e\\u0026\\u2028\\u2029","\xc3\xa9":"\xc3\xbc"}'
    )


def test_sorted_sorts_nested_keys() -> None:
    assert dumps_sorted({"b": {"d": 1, "c": 2}, "a": []}) == b'{"a":[],"b":{"c":2,"d":1}}'


def test_lone_surrogates_become_replacement_characters() -> None:
    value = json.loads('"\\ud800x"')
    assert dumps_compact(value) == '"\ufffdx"'.encode()


@given(json_values)
def test_encoders_round_trip(value: Any) -> None:
    for encode in (dumps_compact, dumps_go, dumps_sorted):
        assert json.loads(encode(value)) == value
