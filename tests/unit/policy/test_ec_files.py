"""Reading JSON/YAML files out of tar streams: matching, layer flattening, caps, parsing."""

from __future__ import annotations

import contextlib
import io
import tarfile
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.policy._ec_files import (
    ArchiveError,
    FileBudget,
    clean_path,
    parse_structured,
    read_archive,
)
from tests.unit.policy._ec_helpers import tar_bytes

BIG = FileBudget(max_file_bytes=1 << 20, remaining=1 << 24)


def _read(
    data: bytes,
    match: Any = lambda name: True,
    budget: FileBudget | None = None,
    flatten: dict[str, bool] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    skipped: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as archive:
        found = read_archive(
            archive,
            match,
            budget or FileBudget(1 << 20, 1 << 24),
            on_skip=skipped.append,
            flatten=flatten,
        )
    return found, skipped


def test_exact_names_plain_and_gzipped() -> None:
    files = {"a.yaml": b"k: v\n", "dir/b.json": b'{"n": 1}', "c.txt": b"plain"}
    for compress in (False, True):
        found, _ = _read(tar_bytes(files, compress=compress), {"a.yaml", "dir/b.json"}.__contains__)
        assert found == {"a.yaml": {"k": "v"}, "dir/b.json": {"n": 1}}


def test_unparsable_files_are_left_out() -> None:
    found, skipped = _read(tar_bytes({"x.yaml": b"a: [1,\n", "y.json": b"\xff\xfe"}))
    assert found == {}
    assert skipped == []


def test_a_file_over_the_cap_is_skipped_and_reported() -> None:
    found, skipped = _read(
        tar_bytes({"big.json": b"[" + b"1," * 100 + b"1]", "small.json": b"[]"}),
        budget=FileBudget(max_file_bytes=50, remaining=1000),
    )
    assert found == {"small.json": []}
    assert len(skipped) == 1
    assert "big.json" in skipped[0]


def test_the_total_cap_raises() -> None:
    with pytest.raises(ArchiveError) as raised:
        _read(
            tar_bytes({"a.json": b"[1, 2, 3]", "b.json": b"[4, 5, 6]"}),
            budget=FileBudget(max_file_bytes=100, remaining=12),
        )
    assert raised.value.kind == "unavailable"


def test_the_unpacked_size_is_capped() -> None:
    """A bomb: little to download, much to read through (none of it wanted)."""
    bomb = tar_bytes({"zeros.bin": bytes(1 << 20), "late.json": b"{}"}, compress=True)
    assert len(bomb) < 5000
    with pytest.raises(ArchiveError) as raised:
        _read(bomb, budget=FileBudget(max_file_bytes=100, remaining=100, expanded=1 << 19))
    assert raised.value.kind == "unavailable"
    found, _ = _read(bomb, budget=FileBudget(max_file_bytes=100, remaining=100, expanded=1 << 21))
    assert found == {"late.json": {}}


def test_a_truncated_archive_is_unreadable() -> None:
    truncated = tar_bytes({"a.json": b"[" + b"1," * 1000 + b"1]"})[:1500]
    with pytest.raises(ArchiveError) as raised:
        _read(truncated)
    assert raised.value.kind == "unreadable"


def test_layers_flatten_top_down() -> None:
    """Upper layers win; a whiteout hides the path below; a file hides a lower directory."""
    upper = tar_bytes(
        {
            "./manifests/a.yaml": b"v: 2\n",
            "manifests/.wh.gone.yaml": b"",
            ".wh.olddir": b"",
            "shadow": b"i am a file now",
        }
    )
    lower = tar_bytes(
        {
            "manifests/a.yaml": b"v: 1\n",
            "manifests/gone.yaml": b"v: 1\n",
            "manifests/kept.json": b"{}",
            "olddir/x.json": b"{}",
            "shadow/y.json": b"{}",
        }
    )
    flatten: dict[str, bool] = {}
    found: dict[str, Any] = {}
    for layer in (upper, lower):
        result, _ = _read(layer, lambda name: name.endswith((".yaml", ".json")), flatten=flatten)
        found.update(result)
    assert found == {"manifests/a.yaml": {"v": 2}, "manifests/kept.json": {}}


def test_yaml_as_json_values() -> None:
    text = b"when: 2024-01-02\n2: two\ntrue: yes\nlist: [a, 1.5]\n---\nsecond: doc\n"
    assert parse_structured(text) == {
        "when": "2024-01-02",
        "2": "two",
        "true": True,
        "list": ["a", 1.5],
    }
    assert parse_structured(b"") is None
    with pytest.raises(ValueError, match="finite"):
        parse_structured(b"x: .inf\n")


@given(st.binary(max_size=200))
def test_parse_structured_only_raises_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_structured(data)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("./a//b/", "a/b"), ("//a", "/a"), ("", "."), ("a/../b", "b"), ("/", "/"), (".", ".")],
)
def test_clean_path_is_go_path_clean(raw: str, clean: str) -> None:
    assert clean_path(raw) == clean
