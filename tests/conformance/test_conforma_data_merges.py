"""Conforma's data-source merging (``acceptance/examples/data-merges``): the expected results
are those of ``features/__snapshots__/validate_input.snap``.

* "multiple data source top level key map merging": ``data-1`` (a file two directories deep)
  and ``data-2`` merge at the root; the policy prints ``some_top_level_key`` as
  ``{"george":"lead","john":"rhythm","paul":"bass","ringo":"drums"}``.
* "multiple data source top level key clash": ``data-3`` and ``data-4`` both hold a list at
  ``some_top_level_key``: a ``merge error`` naming the second file's ``data.yaml``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from konflux_supply.errors import InputError
from konflux_supply.policy.sources import SourceCache, load_data

pytestmark = pytest.mark.conformance

EXAMPLES = "conforma/cli/acceptance/examples/data-merges"
SNAPSHOT = "conforma/cli/features/__snapshots__/validate_input.snap"


def _snapshot(peers: Path, name: str) -> str:
    text = (peers / SNAPSHOT).read_text()
    start = text.index(f"[TestFeatures/{name} - 1]")
    return text[start : text.index("\n---\n", start)]


def test_map_merging_matches_the_snapshot(peers: Path, tmp_path: Path) -> None:
    expected_msg = re.search(
        r"- msg: '(.*)'", _snapshot(peers, "multiple data source top level key map merging:stdout")
    )
    assert expected_msg is not None
    expected = json.loads(expected_msg.group(1))
    root = peers / EXAMPLES
    with SourceCache(tmp_path / "cache") as cache:
        sources = [cache.fetch(f"file::{root / name}") for name in ("data-1", "data-2")]
        data = load_data(sources)
    assert data["some_top_level_key"] == expected
    assert json.dumps(data["some_top_level_key"], sort_keys=True, separators=(",", ":")) == (
        expected_msg.group(1)
    )
    assert set(data) == {"some_top_level_key"}  # nothing nested under foo.bar


def test_top_level_clash_is_a_merge_error_naming_the_file(peers: Path) -> None:
    assert "data.yaml: merge error" in _snapshot(
        peers, "multiple data source top level key clash:stderr"
    )
    root = peers / EXAMPLES
    with pytest.raises(InputError, match="merge error") as raised:
        load_data([root / "data-3", root / "data-4"])
    assert raised.value.source == str(root / "data-4" / "data.yaml")
    assert raised.value.field == "some_top_level_key"
