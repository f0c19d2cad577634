"""docs/tekton/*.yaml parse and pass our structural check of Tekton v1 Task/PipelineRun."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.chains._tekton_check import check_document

TEKTON = Path(__file__).resolve().parents[3] / "docs" / "tekton"
TEST_OUTPUT_KEYS = ["result", "timestamp", "note", "successes", "failures", "warnings"]


def _documents() -> dict[str, Any]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(TEKTON.glob("*.yaml"))}


def _tasks() -> dict[str, Any]:
    return {
        doc["metadata"]["name"]: doc["spec"]
        for doc in _documents().values()
        if doc.get("kind") == "Task"
    }


def test_the_expected_files_exist() -> None:
    docs = _documents()
    assert {"sign-run-task.yaml", "verify-task.yaml", "validate-image-task.yaml"} <= set(docs)
    assert any(doc["kind"] == "PipelineRun" for doc in docs.values())


@pytest.mark.parametrize("name", sorted(_documents()))
def test_each_yaml_is_structurally_valid(name: str) -> None:
    assert check_document(_documents()[name], _tasks()) == []


def test_validate_and_verify_report_test_output() -> None:
    tasks = _tasks()
    for task in ("konflux-supply-validate-image", "konflux-supply-verify"):
        results = [r["name"] for r in tasks[task]["results"]]
        assert "TEST_OUTPUT" in results
        text = json.dumps(tasks[task])
        assert "$(results.TEST_OUTPUT.path)" in text
    # the verify script's printf writes exactly Konflux's keys, in order
    script = tasks["konflux-supply-verify"]["steps"][0]["script"]
    line = next(line for line in script.splitlines() if line.strip().startswith("printf"))
    template = line.split("'")[1]
    rendered = template % ("SUCCESS", "2026-12-07T00:00:00Z", "ok", 2, 0)
    assert list(json.loads(rendered)) == TEST_OUTPUT_KEYS
    assert "appstudio=$(results.TEST_OUTPUT.path)" in json.dumps(
        tasks["konflux-supply-validate-image"]
    )


def test_sign_run_task_calls_the_cli_contract() -> None:
    step = _tasks()["konflux-supply-sign-run"]["steps"][0]
    assert step["args"][0] == "sign-run"
    for flag in ("--config", "--signing-secrets", "--from-cluster", "--results-dir"):
        assert flag in step["args"]
    results = [r["name"] for r in _tasks()["konflux-supply-sign-run"]["results"]]
    assert results == ["SIGNED", "SIGN_STATUS"]


BROKEN = [
    (lambda d: d["spec"].pop("steps"), "at least one step"),
    (lambda d: d["spec"]["steps"][0].pop("image"), "image: required"),
    (lambda d: d["spec"]["results"].append({"name": "SIGNED"}), "declared twice"),
    (lambda d: d["spec"]["steps"][0]["args"].append("$(params.NOPE)"), "$(params.NOPE)"),
    (lambda d: d["spec"]["steps"][0].update(scrip="x"), "not a Step field"),
    (lambda d: d.update(apiVersion="tekton.dev/v1beta1"), "apiVersion"),
    (lambda d: d["spec"]["steps"][0]["volumeMounts"][0].update(name="x"), "not a volume"),
]


@pytest.mark.parametrize(("damage", "words"), BROKEN)
def test_the_check_finds_broken_tasks(damage: Any, words: str) -> None:
    doc = copy.deepcopy(_documents()["sign-run-task.yaml"])
    damage(doc)
    problems = check_document(doc, _tasks())
    assert any(words in p for p in problems), problems


def test_the_check_finds_broken_pipelines() -> None:
    doc = copy.deepcopy(_documents()["pipelinerun-example.yaml"])
    tasks = doc["spec"]["pipelineSpec"]["tasks"]
    tasks[1]["runAfter"] = ["nope"]
    tasks[2]["params"].append({"name": "UNKNOWN", "value": "x"})
    tasks[0]["params"] = []
    doc["spec"]["pipelineSpec"]["results"][0]["value"] = "$(tasks.sign.results.NOPE)"
    problems = "\n".join(check_document(doc, _tasks()))
    for words in (
        "'nope' is not a task",
        "'UNKNOWN' is not a param",
        "'RUN' is required",
        "results.NOPE",
    ):
        assert words in problems
