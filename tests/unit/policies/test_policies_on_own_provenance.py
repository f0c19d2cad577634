"""Provenance from our own generator (Chains' shapes) passes @minimal and @slsa3, and the
changes the release gate must catch fail with the expected codes.

The PipelineRun fixture and its child TaskRuns (fixtures/provenance/runs) are turned into SLSA
v0.2 (`in-toto`) and SLSA v1.0 (`slsa/v2alpha4`, slsa-tekton build type) statements by
``konflux_supply.provenance.generate``, then evaluated with policies/ on the embedded engine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from konflux_supply import provenance
from tests.unit.policies._helpers import REPO, evaluate, load_docs_script, new_engine

RUNS = REPO / "fixtures" / "provenance" / "runs"
DOCS = load_docs_script()
RULES = {r.code: r for r in DOCS.release_rules(DOCS.read_tree())}
# shape: (Chains format, SLSA v1.0 build type)
SHAPES: dict[str, tuple[str, str | None]] = {
    "slsa-v0.2": ("in-toto", None),
    "slsa-v1.0": ("slsa/v2alpha4", provenance.TEKTON_BUILD_TYPE),
}


def _statement(shape: str) -> dict[str, Any]:
    run = yaml.safe_load((RUNS / "pipelinerun-build.yaml").read_text())
    children = [
        yaml.safe_load((RUNS / name).read_text())
        for name in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
    ]
    fmt, build_type = SHAPES[shape]
    statement = provenance.generate(
        run, format=fmt, build_type=build_type, children=children
    ).to_json()
    value: dict[str, Any] = json.loads(statement)
    return value


def _input(statement: dict[str, Any]) -> dict[str, Any]:
    subject = statement["subject"][0]
    ref = f"{subject['name']}@sha256:{subject['digest']['sha256']}"
    return {"attestations": [{"statement": statement, "signatures": []}], "image": {"ref": ref}}


def _codes(
    policy_input: dict[str, Any], collection: str, data: dict[str, Any] | None = None
) -> set[str]:
    engine = new_engine(tests=False, data=data)
    return {
        result["code"]
        for kinds in evaluate(engine, policy_input).values()
        for results in kinds.values()
        for result in results
        if collection in RULES[result["code"]].listed("collections")
    }


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("collection", ["minimal", "slsa3"])
def test_own_provenance_passes(shape: str, collection: str) -> None:
    assert _codes(_input(_statement(shape)), collection) == set()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_builder_id_not_in_rule_data_fails(shape: str) -> None:
    data = {"rule_data": {"allowed_builder_ids": ["https://builder.example/other"]}}
    codes = _codes(_input(_statement(shape)), "slsa3", data)
    assert codes == {"slsa_build_build_service.slsa_builder_id_accepted"}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_missing_required_task_fails(shape: str) -> None:
    data = {"required-tasks": [{"effective_on": "2024-01-01T00:00:00Z", "tasks": ["clair-scan"]}]}
    assert "tasks.required_tasks_found" in _codes(_input(_statement(shape)), "konflux", data)


def test_plain_slsa_build_type_hides_the_tasks() -> None:
    run = yaml.safe_load((RUNS / "pipelinerun-build.yaml").read_text())
    statement = json.loads(provenance.generate(run, format="slsa/v2alpha4").to_json())
    assert "tasks.pipeline_has_tasks" in _codes(_input(statement), "minimal")
