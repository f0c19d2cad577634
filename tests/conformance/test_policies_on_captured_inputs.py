"""policies/ (collection @konflux, example rule data) on Conforma's captured policy inputs.

Each input's violation and warning codes are compared with tests/conformance/expected/
policies-konflux.yaml, where every code is explained from what the input shows. Evaluated on
regorus directly; results are filtered to the collection with the rules' annotations (a local
stand-in for the criteria code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.policies._helpers import (
    POLICIES,
    evaluate,
    load_data,
    load_docs_script,
    new_engine,
)

EXPECTED = Path(__file__).parent / "expected" / "policies-konflux.yaml"
WHEN_NS = 1764547200000000000  # 2025-12-01T00:00:00Z
COLLECTION = "konflux"


@pytest.fixture(scope="module")
def samples(peers: Path) -> Path:
    root = peers / "conforma" / "policy" / "acceptance" / "samples"
    if not root.is_dir():
        pytest.skip(f"captured policy inputs not found at {root}")
    return root


@pytest.fixture(scope="module")
def engine() -> Any:
    data = load_data(POLICIES / "examples" / COLLECTION / "data")
    data["config"] = {"policy": {"when_ns": WHEN_NS}}
    return new_engine(tests=False, data=data)


def _in_collection() -> set[str]:
    docs = load_docs_script()
    return {
        r.code
        for r in docs.release_rules(docs.read_tree())
        if COLLECTION in r.listed("collections")
    }


EXPECTATIONS: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(EXPECTED.read_text())


def test_every_captured_input_has_an_expectation(samples: Path) -> None:
    assert {p.name for p in samples.glob("policy-input-*.json")} == set(EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_codes_match_the_explained_expectation(samples: Path, engine: Any, name: str) -> None:
    policy_input = json.loads((samples / name).read_text())
    included = _in_collection()
    found: dict[str, set[str]] = {"violations": set(), "warnings": set()}
    for kinds in evaluate(engine, policy_input).values():
        for kind, results in kinds.items():
            bucket = "violations" if kind == "deny" else "warnings"
            found[bucket] |= {r["code"] for r in results if r["code"] in included}
    expected = EXPECTATIONS[name]
    for bucket in ("violations", "warnings"):
        explained = expected.get(bucket) or {}
        assert all(str(why).strip() for why in explained.values()), f"{name}: a code without why"
        assert found[bucket] == set(explained), f"{name} {bucket}"
