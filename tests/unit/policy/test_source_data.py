"""Reading sources from disk: Rego modules (order, labels), data merged at the root as OPA's
loader merges files (Hypothesis over the merge), inline ruleData."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.policy.sources import (
    RULE_DATA_KEY,
    FetchedSource,
    SourceCache,
    load_data,
    merge_data,
    read_source_modules,
)


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_modules_in_walk_order_with_paths_for_messages(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "policy",
        {
            "main.rego": "package main\n",
            "lib/a.rego": "package lib.a\n",
            "lib-extra/b.rego": "package lib.b\n",
            "z_test.rego": "package main_test\n",
            ".git/hooks/x.rego": "package hidden\n",
            "README.md": "not rego",
        },
    )
    modules = read_source_modules([root])
    # Go filepath.Walk order: "lib" < "lib-extra" < "main.rego" < "z_test.rego".
    assert [path for path, _ in modules] == [
        str(root / "lib/a.rego"),
        str(root / "lib-extra/b.rego"),
        str(root / "main.rego"),
        str(root / "z_test.rego"),
    ]
    assert modules[2][1] == "package main\n"


def test_single_file_source_and_duplicates_read_once(tmp_path: Path) -> None:
    file = _write(tmp_path, {"one.rego": "package one\n"}) / "one.rego"
    local = FetchedSource(url=str(file), pinned_url=str(file), path=file)
    assert read_source_modules([file, local]) == [(str(file), "package one\n")]


def test_source_without_rego_and_non_utf8_rego(tmp_path: Path) -> None:
    empty = _write(tmp_path / "empty", {"data.json": "{}"})
    with pytest.raises(InputError, match="no Rego files found"):
        read_source_modules([empty])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.rego").write_bytes(b"package x\n\xff\n")
    with pytest.raises(InputError, match="UTF-8") as raised:
        read_source_modules([bad])
    assert raised.value.source == str(bad / "x.rego")
    with pytest.raises(InputError, match="no such file"):
        read_source_modules([tmp_path / "missing"])


def test_data_files_merge_at_the_root_whatever_their_directory(tmp_path: Path) -> None:
    one = _write(
        tmp_path / "one",
        {
            "deep/er/rule_data.yml": "rule_data:\n  allowed: [a]\n",
            "tasks.json": '{"trusted_tasks": {"oci://t": [{"ref": "sha256:1"}]}}',
            "ignored.rego": "package not_data\n",
            "notes.txt": "ignored",
        },
    )
    two = _write(tmp_path / "two", {"more.yaml": "rule_data:\n  other: 1\nrequired-tasks: []\n"})
    assert load_data([one, two], rule_data={"allowed": ["b"]}) == {
        "rule_data": {"allowed": ["a"], "other": 1},
        "trusted_tasks": {"oci://t": [{"ref": "sha256:1"}]},
        "required-tasks": [],
        RULE_DATA_KEY: {"allowed": ["b"]},
    }


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": "k: [1, 2]\n", "b.yaml": "k: [3]\n"}, "merge error"),
        ({"a.yaml": "k: 1\n", "b.json": '{"k": 1}'}, "merge error"),  # equal scalars clash too
        ({"a.yaml": "k: {x: 1}\n", "b.yaml": "k: 2\n"}, "merge error"),
        ({"a.json": "[1, 2]"}, "object at the top level"),
        ({"a.json": "{not json"}, "invalid JSON"),
        ({"a.yaml": "a: [1\n"}, "invalid JSON or YAML"),
        ({"a.yaml": "a: 1\na: 2\n"}, "more than once"),
        ({"a.yaml": "---\na: 1\n---\nb: 2\n"}, "one document"),
        ({"a.yml": ""}, "one document"),
    ],
)
def test_bad_data_names_the_file(tmp_path: Path, files: dict[str, str], message: str) -> None:
    root = _write(tmp_path / "data", files)
    with pytest.raises(InputError, match=message) as raised:
        load_data([root])
    assert raised.value.source is not None
    assert raised.value.source.startswith(str(root))


def test_conflict_names_the_key_and_rule_data_clash(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "d",
        {"a.yaml": "top:\n  inner:\n    k: 1\n", "b.yaml": "top:\n  inner:\n    k: 2\n"},
    )
    with pytest.raises(InputError) as raised:
        load_data([root])
    assert raised.value.field == "top.inner.k"
    assert raised.value.source == str(root / "b.yaml")
    clash = _write(tmp_path / "c", {"r.json": json.dumps({RULE_DATA_KEY: {"x": 1}})})
    with pytest.raises(InputError, match="merge error"):
        load_data([clash], rule_data={"x": 2})


def test_rule_data_is_copied_not_shared() -> None:
    rule_data: dict[str, Any] = {"nested": {"a": 1}}
    data = load_data([], rule_data=rule_data)
    merge_data(data, {RULE_DATA_KEY: {"nested": {"b": 2}}}, source="later")
    assert rule_data == {"nested": {"a": 1}}


def test_local_sources_through_the_cache(tmp_path: Path) -> None:
    root = _write(tmp_path / "p", {"a.rego": "package a\n"})
    with SourceCache(tmp_path / "cache") as cache:
        for url in (str(root), f"file::{root}", f"file://{root}"):
            fetched = cache.fetch(url)
            assert fetched.pinned_url == url
            assert fetched.path == root
        with pytest.raises(InputError, match="does not exist") as raised:
            cache.fetch(str(tmp_path / "nope"), field="spec.sources[0].data[1]")
        assert raised.value.field == "spec.sources[0].data[1]"
    assert (tmp_path / "cache").is_dir()  # a directory given by the caller is kept


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)
_DOCS = st.dictionaries(st.sampled_from("abc"), _JSON, max_size=3)


def _conflicts(one: Any, two: Any) -> bool:
    if isinstance(one, dict) and isinstance(two, dict):
        return any(_conflicts(one[key], two[key]) for key in one.keys() & two.keys())
    return True


@given(_DOCS, _DOCS)
def test_merge_is_all_or_nothing_and_order_free(one: dict[str, Any], two: dict[str, Any]) -> None:
    clash = any(_conflicts(one[key], two[key]) for key in one.keys() & two.keys())
    left: dict[str, Any] = json.loads(json.dumps(one))
    right: dict[str, Any] = json.loads(json.dumps(two))
    if clash:
        with pytest.raises(InputError, match="merge error"):
            merge_data(left, json.loads(json.dumps(two)), source="two")
        assert left == one  # nothing merged
        return
    merge_data(left, json.loads(json.dumps(two)), source="two")
    merge_data(right, json.loads(json.dumps(one)), source="one")
    assert left == right
