"""The shared JSON/YAML reader: unique keys on request, field helpers."""

from __future__ import annotations

import pytest

from konflux_supply.errors import InputError
from konflux_supply.models.document import expect_mapping, expect_str_list, parse_document


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 1, "a": 2}',
        b'{"x": {"k": 1, "k": 1}}',
        b"a: 1\na: 2\n",
        b"x:\n  - {k: 1, k: 2}\n",
        b"1: a\n1: b\n",
    ],
)
def test_repeated_keys_refused_on_request(text: bytes) -> None:
    with pytest.raises(InputError, match="more than once"):
        parse_document(text, source="f", unique_keys=True)
    parse_document(text, source="f")  # the CLI's default reading is unchanged


def test_merge_keys_may_be_overridden() -> None:
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n"
    doc = parse_document(text, source="f", unique_keys=True)
    assert doc["d"] == {"x": 3, "y": 2}


def test_text_and_bom() -> None:
    assert parse_document("\ufeffa: 1", source="f", unique_keys=True) == {"a": 1}


def test_field_helpers() -> None:
    with pytest.raises(InputError, match="unknown field") as info:
        expect_mapping({"a": 1, "b": 2}, "spec", source="s", allowed={"a"})
    assert info.value.field == "spec.b"
    with pytest.raises(InputError, match="expected a string, found number") as info:
        expect_str_list(["a", 1], "list", source=None)
    assert info.value.field == "list[1]"
