"""Conformance with Tekton Chains over the peer corpus (``$KONFLUX_SUPPLY_PEERS/chains``).

* the 34 derived goldens (``derived/cases.json``): the statement Chains' own formatters produced
  for each fixture and option set, compared as parsed JSON;
* ``retrieveAllArtifactURIs`` for each case;
* the e2e examples: finished runs simulated by ``_tekton`` and compared with the fixed fields of
  Chains' expected-statement templates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from konflux_supply import provenance
from tests.conftest import peers_root

from . import _tekton

pytestmark = pytest.mark.conformance

CHAINS = peers_root() / "chains"
CASES_FILE = CHAINS / "derived" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text()) if CASES_FILE.is_file() else []


@pytest.fixture
def chains(peers: Path) -> Path:
    root = peers / "chains"
    if not root.is_dir():
        pytest.skip(f"Chains corpus not found at {root}")
    return root


def _read(root: Path, relative: str) -> Any:
    return json.loads((root / relative).read_text())


def _generate(root: Path, case: dict[str, Any]) -> provenance.Statement:
    return provenance.generate(
        _read(root, case["input"]),
        format=case["format"],
        builder_id=case["builderId"],
        build_type=case["buildType"] or None,
        deep_inspection=case["deepInspection"],
        children=[_read(root, child) for child in case.get("childTaskRuns", [])],
    )


def _canonical(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _unordered_parts(case: dict[str, Any]) -> list[tuple[str, ...]]:
    """Lists Chains' own tests compare without order (MANIFEST §1 "Comparison strictness")."""
    parts: list[tuple[str, ...]] = [("subject",)]
    if "pipelinerun" in case["input"]:
        if case["format"] in ("slsa/v1", "in-toto"):
            parts.append(("predicate", "materials"))
        if case["format"] == "slsa/v2alpha4":
            parts.append(("predicate", "buildDefinition", "resolvedDependencies"))
            parts.append(("predicate", "runDetails", "byproducts"))
    return parts


def _normalise(statement: dict[str, Any], parts: list[tuple[str, ...]]) -> dict[str, Any]:
    for path in parts:
        node: Any = statement
        for key in path[:-1]:
            node = node.get(key, {})
        if path[-1] in node:
            node[path[-1]] = _canonical(node[path[-1]])
    return statement


def test_corpus_has_the_34_cases(chains: Path) -> None:
    assert len(CASES) == 34


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_statement_equals_chains_golden(chains: Path, case: dict[str, Any]) -> None:
    got = json.loads(_generate(chains, case).to_json())
    want = _read(chains, case["output"])
    parts = _unordered_parts(case)
    assert _normalise(got, parts) == _normalise(want, parts)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_statement_order_equals_chains_output(chains: Path, case: dict[str, Any]) -> None:
    """Stricter than Chains' tests: every list in the order the golden shows, key order too."""
    got = json.loads(_generate(chains, case).to_json())
    want = _read(chains, case["output"])
    assert json.dumps(got) == json.dumps(want, sort_keys=False)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_artifact_uris(chains: Path, case: dict[str, Any]) -> None:
    uris = provenance.artifact_uris(
        _read(chains, case["input"]),
        format=case["format"],
        deep_inspection=case["deepInspection"],
        children=[_read(chains, child) for child in case.get("childTaskRuns", [])],
    )
    assert sorted(uris) == sorted(case["retrieveAllArtifactURIs"] or [])


def test_in_toto_is_an_alias_of_slsa_v1(chains: Path) -> None:
    run = _read(chains, "pkg/chains/formats/slsa/testdata/pipeline-v1/taskrun1.json")
    one = provenance.generate(run, format="in-toto")
    two = provenance.generate(run, format="slsa/v1")
    assert one.to_json() == two.to_json()


# ---- e2e examples ----------------------------------------------------------------------------

E2E = [
    ("examples/taskruns/task-output-image.yaml", "v1/task-output-image.json", "slsa/v1", False),
    (
        "examples/taskruns/task-output-image.yaml",
        "v2alpha3/task-output-image.json",
        "slsa/v2alpha3",
        False,
    ),
    (
        "examples/taskruns/task-output-image.yaml",
        "v2alpha4/task-output-image.json",
        "slsa/v2alpha4",
        False,
    ),
    (
        "examples/pipelineruns/pipeline-output-image.yaml",
        "v1/pipeline-output-image.json",
        "slsa/v1",
        False,
    ),
    (
        "examples/pipelineruns/pipeline-output-image.yaml",
        "v2alpha3/pipeline-output-image.json",
        "slsa/v2alpha3",
        False,
    ),
    (
        "examples/pipelineruns/pipeline-output-image.yaml",
        "v2alpha4/pipeline-output-image.json",
        "slsa/v2alpha4",
        False,
    ),
    (
        "examples/v2alpha4/task-with-object-type-hinting.yaml",
        "v2alpha4/task-with-object-type-hinting.json",
        "slsa/v2alpha4",
        False,
    ),
    (
        "examples/v2alpha4/pipeline-with-object-type-hinting.yaml",
        "v2alpha4/pipeline-with-object-type-hinting.json",
        "slsa/v2alpha4",
        False,
    ),
    (
        "examples/v2alpha4/pipeline-with-repeated-results.yaml",
        "v2alpha4/pipeline-with-repeated-results.json",
        "slsa/v2alpha4",
        True,
    ),
]


def _fixed_fields(statement: dict[str, Any]) -> dict[str, Any]:
    """What the templates pin down regardless of cluster: subjects, inputs, byproducts, builder,
    and (SLSA v1.0) run metadata."""
    predicate = statement["predicate"]
    if "buildDefinition" in predicate:
        details = predicate["runDetails"]
        return {
            "subject": statement.get("subject", []),
            "materials": predicate["buildDefinition"].get("resolvedDependencies", []),
            "byproducts": details.get("byproducts", []),
            "builder": details["builder"],
            "metadata": details["metadata"],
        }
    return {
        "subject": statement.get("subject", []),
        "materials": predicate.get("materials", []),
        "builder": predicate["builder"],
        "times": [
            predicate["metadata"].get("buildStartedOn"),
            predicate["metadata"].get("buildFinishedOn"),
        ],
    }


@pytest.mark.parametrize(
    ("example", "template", "fmt", "deep"), E2E, ids=[f"{t}[{f}]" for _, t, f, _ in E2E]
)
def test_e2e_example_matches_template(
    chains: Path, example: str, template: str, fmt: str, deep: bool
) -> None:
    run, children = _tekton.complete(yaml.safe_load((chains / example).read_text()))
    statement = provenance.generate(run, format=fmt, deep_inspection=deep, children=children)
    values = _tekton.template_values(run, children)
    expected = _tekton.render((chains / "test/testdata/slsa" / template).read_text(), values)
    assert _fixed_fields(json.loads(statement.to_json())) == _fixed_fields(expected)
    assert statement.warnings == () or fmt == "slsa/v2alpha4"
