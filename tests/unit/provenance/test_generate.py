"""``provenance.generate`` and friends: contract, layout of the bytes, inputs and errors."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from konflux_supply import provenance
from konflux_supply.errors import InputError
from konflux_supply.models.intoto import ResourceDescriptor

RUNS = Path(__file__).resolve().parents[3] / "fixtures" / "provenance" / "runs"
V1_FORMATS = ("slsa/v2alpha3", "slsa/v2alpha4")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((RUNS / name).read_text())
    return data


@pytest.fixture
def task_run() -> dict[str, Any]:
    return load("taskrun-build-image.yaml")


@pytest.fixture
def pipeline() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    children = [
        load(n) for n in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
    ]
    return load("pipelinerun-build.yaml"), children


# ---- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"format": "slsa/v2"}, "format"),
        ({"format": None}, "format"),
        ({"format": "slsa/v1", "builder_id": 3}, "builder_id"),
        ({"format": "slsa/v2alpha4", "build_type": "https://example.com/other"}, "build_type"),
    ],
)
def test_bad_arguments(task_run: dict[str, Any], arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as raised:
        provenance.generate(task_run, **arguments)
    assert raised.value.field == field


def test_build_type_is_ignored_with_a_warning_for_slsa_v02(task_run: dict[str, Any]) -> None:
    statement = provenance.generate(
        task_run, format="slsa/v1", build_type=provenance.TEKTON_BUILD_TYPE
    )
    assert any("applies to SLSA v1.0 formats only" in w for w in statement.warnings)


# ---- the bytes -------------------------------------------------------------------------------


def test_layout_of_the_signed_bytes(task_run: dict[str, Any]) -> None:
    task_run["metadata"]["labels"]["team"] = "équipe <a&b>"
    payload = provenance.generate(task_run, format="slsa/v2alpha3").to_json()
    assert payload.startswith(b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":')
    assert (
        b'"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":'
        in payload
    )
    assert b": " not in payload
    assert b", " not in payload.replace(b'", "', b"")
    assert b"\xc3\xa9quipe <a&b>" not in payload  # labels are not in the slsa build type
    tekton = provenance.generate(
        task_run, format="slsa/v2alpha3", build_type=provenance.TEKTON_BUILD_TYPE
    )
    assert "équipe <a&b>".encode() in tekton.to_json()  # raw UTF-8, no HTML escaping
    parsed = json.loads(payload)
    assert list(parsed) == ["_type", "subject", "predicateType", "predicate"]
    assert list(parsed["subject"][0]) == ["name", "digest"]

    def sorted_everywhere(node: Any) -> bool:
        if isinstance(node, dict):
            return list(node) == sorted(node) and all(sorted_everywhere(v) for v in node.values())
        if isinstance(node, list):
            return all(sorted_everywhere(v) for v in node)
        return True

    assert sorted_everywhere(parsed["predicate"])


def test_empty_subject_is_left_out(task_run: dict[str, Any]) -> None:
    task_run["status"]["results"] = []
    for fmt in provenance.FORMATS:
        payload = provenance.generate(task_run, format=fmt).to_json()
        assert b'"subject"' not in payload
        assert json.loads(payload)["_type"].startswith("https://in-toto.io/Statement/")


def test_statement_is_fixed_when_made(task_run: dict[str, Any]) -> None:
    statement = provenance.generate(task_run, format="slsa/v1")
    before = statement.to_json()
    task_run["metadata"]["labels"]["later"] = "change"
    task_run["status"]["results"].clear()
    assert statement.to_json() == before
    assert statement.predicate["invocation"]["environment"]["labels"].get("later") is None
    with pytest.raises(TypeError):
        statement.predicate["builder"] = {}  # type: ignore[index]


def test_typed_access(task_run: dict[str, Any]) -> None:
    statement = provenance.generate(task_run, format="slsa/v2alpha4")
    assert statement.predicate_type == "https://slsa.dev/provenance/v1"
    assert statement.type == "https://in-toto.io/Statement/v1"
    assert statement.subject == (
        ResourceDescriptor(
            name="quay.example.com/team-a/app",
            digest={"sha256": "a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333"},
        ),
    )
    model = statement.to_model()
    assert (
        model.slsa_v1().run_details.metadata.invocation_id == "3f6d2b1e-8c4a-4f0e-9b7d-5a1c2e3f4a5b"
    )
    assert "quay.example.com/team-a/app" in repr(statement)


# ---- SLSA v0.2 details -----------------------------------------------------------------------


def test_slsa_v02_task_run_predicate(task_run: dict[str, Any]) -> None:
    predicate = json.loads(provenance.generate(task_run, format="slsa/v1").to_json())["predicate"]
    assert predicate["buildType"] == "tekton.dev/v1/TaskRun"
    assert predicate["builder"] == {"id": provenance.DEFAULT_BUILDER_ID}
    invocation = predicate["invocation"]
    assert invocation["configSource"] == {
        "digest": {"sha256": "d8842c4e2ef813044e221774387e633079e23b57d2e6120861b6e2c5a84d4ca6"},
        "entryPoint": "buildah",
        "uri": "quay.example.com/tekton-catalog/task-buildah",
    }
    assert invocation["parameters"]["DOCKERFILE"] == "./Containerfile"  # value beats default
    assert invocation["parameters"]["CONTEXT"] == "."  # default only
    assert invocation["environment"]["annotations"] == {
        "build.appstudio.openshift.io/repo": "https://git.example.com/team-a/app"
    }  # chains.tekton.dev/* and last-applied-configuration dropped
    steps = predicate["buildConfig"]["steps"]
    assert steps[0]["entryPoint"].startswith('buildah build --file "$(params.DOCKERFILE)"')
    assert steps[1] == {
        "annotations": None,
        "arguments": ["dir:/workspace/source", "--output", "cyclonedx-json=/tekton/home/sbom.json"],
        "entryPoint": "syft",
        "environment": {
            "container": "sbom-syft-generate",
            "image": "oci://quay.example.com/tools/syft@sha256:98f3ae1ef67113d8140d4f6cb8d2830070e21ea48f091be519659846c771a374",
        },
    }
    assert predicate["metadata"] == {
        "buildFinishedOn": "2026-11-02T10:21:42.25Z",
        "buildStartedOn": "2026-11-02T10:15:00Z",
        "completeness": {"environment": False, "materials": False, "parameters": False},
        "reproducible": False,
    }


def test_reproducible_label(task_run: dict[str, Any]) -> None:
    task_run["metadata"]["labels"]["chains.tekton.dev/reproducible"] = "true"
    predicate = provenance.generate(task_run, format="slsa/v1").predicate
    assert predicate["metadata"]["reproducible"] is True


def test_pipeline_task_order(pipeline: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    run, children = pipeline
    predicate = provenance.generate(run, format="slsa/v1", children=children).predicate
    tasks = {task["name"]: task for task in predicate["buildConfig"]["tasks"]}
    assert "after" not in tasks["clone-repository"]
    assert tasks["build-container"]["after"] == ["clone-repository"]  # runAfter, and result refs
    assert tasks["show-summary"]["after"] == ["build-container"]  # a result reference
    assert tasks["build-container"]["serviceAccountName"] == "build-pipeline-app"
    assert tasks["build-container"]["status"] == "Succeeded"
    assert tasks["build-container"]["ref"] == {
        "params": [{"name": "name", "value": "buildah"}],
        "resolver": "bundles",
    }
    del run["status"]["pipelineSpec"]["finally"][0]["params"]
    predicate = provenance.generate(run, format="slsa/v1", children=children).predicate
    tasks = {task["name"]: task for task in predicate["buildConfig"]["tasks"]}
    assert tasks["show-summary"]["after"] == ["build-container"]  # finally: after the last task


def test_pipeline_without_pipeline_spec(
    pipeline: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    run, children = pipeline
    del run["status"]["pipelineSpec"]
    statement = provenance.generate(run, format="slsa/v1", children=children)
    assert statement.predicate["buildConfig"] == {"tasks": None}
    assert sum("has no status.pipelineSpec" in w for w in statement.warnings) == 3


# ---- SLSA v1.0 details -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", V1_FORMATS)
def test_remote_build_config_source(task_run: dict[str, Any], fmt: str) -> None:
    definition = provenance.generate(task_run, format=fmt).predicate["buildDefinition"]
    assert definition["externalParameters"]["buildConfigSource"] == {
        "path": "buildah",
        "ref": "sha256:d8842c4e2ef813044e221774387e633079e23b57d2e6120861b6e2c5a84d4ca6",
        "repository": "quay.example.com/tekton-catalog/task-buildah",
    }
    assert definition["externalParameters"]["runSpec"]["timeout"] == "2h0m0s"
    assert definition["internalParameters"] == {
        "tekton-pipelines-feature-flags": {
            "enableAPIFields": "beta",
            "enableProvenanceInStatus": True,
            "maxResultSize": 4096,
            "resultExtractionMethod": "termination-message",
        }
    }
    assert definition["resolvedDependencies"][0]["name"] == "task"
    task_run["spec"]["taskRef"] = {"resolver": "Cluster", "name": "buildah"}
    definition = provenance.generate(task_run, format=fmt).predicate["buildDefinition"]
    assert "buildConfigSource" not in definition["externalParameters"]


@pytest.mark.parametrize("fmt", V1_FORMATS)
def test_slsa_tekton_content_is_the_child_task_run(
    pipeline: tuple[dict[str, Any], list[dict[str, Any]]], fmt: str
) -> None:
    run, children = pipeline
    children[0]["apiVersion"], children[0]["kind"] = "tekton.dev/v1", "TaskRun"
    statement = provenance.generate(
        run, format=fmt, build_type=provenance.TEKTON_BUILD_TYPE, children=children
    )
    definition = statement.predicate["buildDefinition"]
    tasks = [d for d in definition["resolvedDependencies"] if d.get("name") == "pipelineTask"]
    assert len(tasks) == 3
    content = json.loads(base64.b64decode(tasks[0]["content"]))
    assert list(content) == ["metadata", "spec", "status"]  # informers carry no TypeMeta
    assert content["metadata"]["name"] == "app-build-7x2kq-clone-repository"
    assert content["status"]["startTime"] == "2026-11-02T10:14:05Z"
    assert tasks[0]["uri"] == "quay.example.com/tekton-catalog/task-git-clone"
    assert definition["internalParameters"]["labels"] == run["metadata"]["labels"]


def test_slsa_tekton_skips_a_child_that_cannot_be_serialised(
    pipeline: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    run, children = pipeline
    children[2]["spec"]["params"][0].pop("value")
    statement = provenance.generate(
        run, format="slsa/v2alpha3", build_type=provenance.TEKTON_BUILD_TYPE, children=children
    )
    names = [d.get("uri") for d in statement.predicate["buildDefinition"]["resolvedDependencies"]]
    assert "oci://quay.example.com/tools/summary" not in names
    assert any("cannot be serialised" in w and "children[2]" in w for w in statement.warnings)


def test_deep_inspection_byproducts_v2alpha4(
    pipeline: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    run, children = pipeline
    shallow = provenance.generate(run, format="slsa/v2alpha4", children=children).predicate
    deep = provenance.generate(
        run, format="slsa/v2alpha4", children=children, deep_inspection=True
    ).predicate
    names = [b["name"] for b in deep["runDetails"]["byproducts"]]
    assert [b["name"] for b in shallow["runDetails"]["byproducts"]] == [
        "pipelineRunResults/app-build-7x2kq/CHAINS-GIT_URL",
        "pipelineRunResults/app-build-7x2kq/CHAINS-GIT_COMMIT",
    ]
    assert "taskRunResults/app-build-7x2kq-clone-repository/commit" in names
    assert "taskRunResults/app-build-7x2kq-build-container/sbom-ARTIFACT_OUTPUTS" in names


def test_byproduct_content_is_go_json(task_run: dict[str, Any]) -> None:
    task_run["status"]["results"] = [
        {"name": "html", "value": "<a&b>"},
        {"name": "obj", "value": {"z": "1", "a": "2"}},
        {"name": "arr", "value": ["x", "y"]},
    ]
    byproducts = provenance.generate(task_run, format="slsa/v2alpha3").predicate["runDetails"][
        "byproducts"
    ]
    decoded = [base64.b64decode(b["content"]) for b in byproducts]
    assert decoded == [b'"\\u003ca\\u0026b\\u003e"', b'{"a":"2","z":"1"}', b'["x","y"]']


# ---- inputs ----------------------------------------------------------------------------------


def test_kind_detection(
    task_run: dict[str, Any], pipeline: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    del task_run["kind"], task_run["apiVersion"]
    assert (
        provenance.generate(task_run, format="slsa/v1").predicate["buildType"]
        == "tekton.dev/v1/TaskRun"
    )
    run = copy.deepcopy(pipeline[0])
    del run["kind"]
    assert (
        provenance.generate(run, format="slsa/v1").predicate["buildType"]
        == "tekton.dev/v1/PipelineRun"
    )


@pytest.mark.parametrize(
    ("run", "field", "message"),
    [
        ([], None, "must be a JSON/YAML object"),
        ({}, "kind", "cannot tell"),
        ({"spec": {"taskRef": {}, "pipelineRef": {}}}, "kind", "cannot tell"),
        ({"kind": "Pod"}, "kind", "not supported"),
        ({"kind": "TaskRun", "apiVersion": "tekton.dev/v1alpha1"}, "apiVersion", "not supported"),
        ({"kind": "TaskRun", "status": []}, "status", "expected an object"),
        (
            {"kind": "TaskRun", "status": {"results": [{"name": 1}]}},
            "status.results[0].name",
            "a string",
        ),
        ({"kind": "TaskRun", "metadata": {"labels": {"a": 1}}}, "metadata.labels[a]", "a string"),
        ({"kind": "TaskRun", "status": {"startTime": "yesterday"}}, "status.startTime", "RFC 3339"),
    ],
)
def test_bad_runs(run: Any, field: str | None, message: str) -> None:
    with pytest.raises(InputError) as raised:
        provenance.generate(run, format="slsa/v2alpha4")
    assert raised.value.field == field
    assert message in raised.value.message


def test_children_must_be_task_runs(pipeline: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    run, children = pipeline
    with pytest.raises(InputError) as raised:
        provenance.generate(run, format="slsa/v1", children=[*children, run])
    assert raised.value.field == "children[3].kind"


def test_children_of_a_task_run_are_ignored(task_run: dict[str, Any]) -> None:
    statement = provenance.generate(task_run, format="slsa/v1", children=[copy.deepcopy(task_run)])
    assert "only read for a PipelineRun" in statement.warnings[0]


def test_deeply_nested_input_is_an_input_error(task_run: dict[str, Any]) -> None:
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(20000):
        node["a"] = {}
        node = node["a"]
    task_run["spec"]["podTemplate"] = nested
    with pytest.raises(InputError, match="nested too deeply"):
        provenance.generate(task_run, format="slsa/v2alpha3")


def test_v1beta1_runs_are_converted(task_run: dict[str, Any]) -> None:
    beta = copy.deepcopy(task_run)
    beta["apiVersion"] = "tekton.dev/v1beta1"
    beta["status"]["taskResults"] = beta["status"].pop("results")
    beta["spec"]["stepOverrides"] = [{"name": "build", "resources": {"limits": {"memory": "4Gi"}}}]
    beta["status"]["provenance"]["configSource"] = beta["status"]["provenance"].pop("refSource")
    got = json.loads(provenance.generate(beta, format="slsa/v2alpha3").to_json())
    want = json.loads(provenance.generate(task_run, format="slsa/v2alpha3").to_json())
    assert got["subject"] == want["subject"]
    assert got["predicate"]["runDetails"] == want["predicate"]["runDetails"]
    spec = got["predicate"]["buildDefinition"]["externalParameters"]["runSpec"]
    assert spec["stepSpecs"] == [
        {"computeResources": {"limits": {"memory": "4Gi"}}, "name": "build"}
    ]
    assert got["predicate"]["buildDefinition"]["resolvedDependencies"][0].get("name") != "task"
    warnings = provenance.generate(beta, format="slsa/v2alpha3").warnings
    assert any("configSource" in w for w in warnings)


def test_v1beta1_pipeline_run(pipeline: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    run, children = pipeline
    beta = copy.deepcopy(run)
    beta["apiVersion"] = "tekton.dev/v1beta1"
    beta["spec"]["serviceAccountName"] = beta["spec"].pop("taskRunTemplate")["serviceAccountName"]
    beta["spec"]["timeout"] = beta["spec"].pop("timeouts")["pipeline"]
    beta["status"]["pipelineResults"] = beta["status"].pop("results")
    beta["status"]["taskRuns"] = {"x": {"pipelineTaskName": "clone-repository"}}
    for fmt in provenance.FORMATS:
        assert (
            provenance.generate(beta, format=fmt, children=children).to_json()
            == provenance.generate(run, format=fmt, children=children).to_json()
        )


def test_oci_images(
    task_run: dict[str, Any], pipeline: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    assert provenance.oci_images(task_run) == [
        (
            "quay.example.com/team-a/app",
            "sha256:a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333",
        )
    ]
    assert provenance.oci_images(pipeline[0]) == []


def test_warnings_are_unique(task_run: dict[str, Any]) -> None:
    task_run["status"]["results"].append({"name": "IMAGES", "value": "nope"})
    warnings = provenance.generate(task_run, format="slsa/v2alpha4").warnings
    assert len(warnings) == len(set(warnings)) == 1
