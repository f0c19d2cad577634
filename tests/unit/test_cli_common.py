from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.cli._common import load_document, parse_document
from konflux_supply.errors import InputError


def test_json_and_yaml_documents(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"kind": "TaskRun"}')
    (tmp_path / "a.yaml").write_text("kind: TaskRun\nstatus:\n  startTime: 2021-03-29T09:50:00Z\n")
    assert load_document(str(tmp_path / "a.json")) == {"kind": "TaskRun"}
    # Timestamps stay strings, as they would in JSON.
    assert load_document(str(tmp_path / "a.yaml")) == {
        "kind": "TaskRun",
        "status": {"startTime": "2021-03-29T09:50:00Z"},
    }


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read file") as info:
        load_document(str(tmp_path / "nope.json"))
    assert info.value.source == str(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": ', "invalid JSON at line 1"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"a: [", "invalid JSON or YAML"),
        (b"a: 1\n---\nb: 2\n", "expected one document"),
    ],
)
def test_bad_documents(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_document(data, source="x")


@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_input_error(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_document(data, source="x")


def test_yaml_keys_become_json_strings() -> None:
    doc = parse_document(b"spec:\n  1: a\n  false: b\n  ~: c\n  2.5: d\n", source="x")
    assert doc == {"spec": {"1": "a", "false": "b", "null": "c", "2.5": "d"}}


def test_yaml_complex_key_is_input_error() -> None:
    with pytest.raises(InputError, match="unhashable key"):
        parse_document(b"spec:\n  ? [a, b]\n  : c\n", source="x")


_BOMB = b"".join(
    b"%s: &%s [%s]\n" % (name, name, b",".join([b"*" + prev if prev else b"x"] * 9))
    for name, prev in zip(b"abcdefghi", [None, *b"abcdefgh"], strict=True)
    for name, prev in [(bytes([name]), bytes([prev]) if prev else None)]
)


def test_yaml_alias_bomb_is_input_error_not_a_hang() -> None:
    # 9**9 leaves once expanded; without a budget the key conversion never finishes.
    with pytest.raises(InputError, match="excessive YAML aliasing") as info:
        parse_document(_BOMB, source="bomb.yaml")
    assert info.value.source == "bomb.yaml"


def test_modest_yaml_aliases_still_work() -> None:
    doc = parse_document(b"a: &x {k: [1, 2]}\nb: *x\nc: *x\n", source="x")
    assert doc == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": {"k": [1, 2]}}


@pytest.mark.parametrize(
    "data",
    [
        b'{"kind": "TaskRun", "x": ' + b"1" * 5000 + b"}",
        b"kind: TaskRun\nx: " + b"1" * 5000 + b"\n",
    ],
)
def test_integers_too_long_for_python_are_input_errors(data: bytes) -> None:
    with pytest.raises(InputError, match="digits") as info:
        parse_document(data, source="long.json")
    assert info.value.source == "long.json"


@pytest.mark.parametrize("data", [b"[" * 100_000 + b"]" * 100_000, b"- " * 50_000 + b"x"])
def test_deep_nesting_is_input_error_naming_the_file(data: bytes) -> None:
    with pytest.raises(InputError, match="nested too deeply") as info:
        parse_document(data, source="deep.json")
    assert info.value.source == "deep.json"


_YAMLISH = st.text(alphabet=st.sampled_from(list("ab1:-[]{},&*!?|>'\"#%@`\t\n ~.<=")), max_size=80)


@given(_YAMLISH)
def test_arbitrary_yaml_like_text_only_raises_input_error(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_document(text.encode("utf-8"), source="x")
