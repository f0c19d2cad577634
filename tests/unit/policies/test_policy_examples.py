"""The example rule data and ECPs in policies/examples are well formed for the policies."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.unit.policies._helpers import (
    POLICIES,
    REPO,
    evaluate,
    load_data,
    load_docs_script,
    new_engine,
)

EXAMPLES = POLICIES / "examples"
RELEASE = load_docs_script().release_rules(load_docs_script().read_tree())
_DATA_CHECKS = {
    "attestation_type.known_attestation_types_provided",
    "slsa_provenance_available.allowed_predicate_types_provided",
    "slsa_build_build_service.allowed_builder_ids_provided",
    "base_image_registries.allowed_registries_provided",
    "cve.rule_data_provided",
    "labels.rule_data_provided",
    "sbom.disallowed_packages_provided",
    "tasks.data_provided",
    "tasks.required_tasks_list_provided",
    "trusted_task.data_format",
}


def _fixture_input() -> dict[str, Any]:
    engine = new_engine(tests=True)
    value: dict[str, Any] = json.loads(
        engine.eval_rule_as_json("data.supply.lib.fixtures_test.input_with_sboms")
    )
    return value


@pytest.mark.parametrize("name", ["minimal", "konflux"])
def test_example_ecp_points_at_the_library_by_path(name: str) -> None:
    ecp = yaml.safe_load((EXAMPLES / name / f"{name}.yaml").read_text())
    assert ecp["kind"] == "EnterpriseContractPolicy"
    (source,) = ecp["spec"]["sources"]
    for path in [*source["policy"], *source["data"]]:
        assert (REPO / path).is_dir(), path
    assert source["config"]["include"] == [f"@{name}"]


@pytest.mark.parametrize("name", ["minimal", "konflux"])
def test_example_rule_data_passes_the_data_checks(name: str) -> None:
    data = load_data(EXAMPLES / name / "data")
    engine = new_engine(tests=False, data=data)
    codes = {
        result["code"]
        for kinds in evaluate(engine, _fixture_input()).values()
        for results in kinds.values()
        for result in results
    }
    in_collection = {r.code for r in RELEASE if name in r.listed("collections")}
    assert not codes & _DATA_CHECKS & in_collection


def test_example_trusted_tasks_are_pinned_by_digest() -> None:
    data = load_data(EXAMPLES / "konflux" / "data")
    for key, records in data["trusted_tasks"].items():
        assert key.startswith("oci://")
        for record in records:
            assert len(record["ref"]) == len("sha256:") + 64, (key, record)


def test_example_data_is_json_compatible() -> None:
    data = load_data(EXAMPLES / "konflux" / "data")
    assert json.loads(json.dumps(data)) == data
