"""reconcile() is a pure function of the run, its children and the policy."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply import controller
from konflux_supply.controller import FINALIZER, SIGNED, Key, Policy, reconcile


def run(
    name: str = "tr",
    *,
    kind: str = "TaskRun",
    status: str | None = "True",
    annotations: dict[str, str] | None = None,
    finalizers: list[str] | None = None,
    deleting: bool = False,
    completed: str = "2026-12-01T10:00:00Z",
    children: list[str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "resourceVersion": "7"}
    if annotations:
        meta["annotations"] = annotations
    if finalizers:
        meta["finalizers"] = finalizers
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T11:00:00Z"
    st_: dict[str, Any] = {"completionTime": completed, "unknownField": {"x": [1]}}
    if status is not None:
        st_["conditions"] = [{"type": "Succeeded", "status": status}]
    if children is not None:
        st_["childReferences"] = [{"kind": "TaskRun", "name": c} for c in children]
        st_["childReferences"].append({"kind": "CustomRun", "name": "approval"})
    return {"kind": kind, "metadata": meta, "spec": {"newSpecField": True}, "status": st_}


SIGNED_TRUE = {SIGNED: "true"}


@pytest.mark.parametrize(
    ("the_run", "action"),
    [
        (None, "forget"),
        (run(), "sign"),
        (run(status="False"), "sign"),  # failed runs: sign_run decides (sign-failed-runs)
        (run(status="Unknown"), "forget"),
        (run(status=None), "forget"),
        (run(annotations=SIGNED_TRUE), "forget"),
        (run(annotations={SIGNED: "failed"}), "forget"),
        (run(annotations={controller.SKIP: "true"}), "forget"),
        (run(annotations={controller.SKIP: "True"}), "forget"),
        (run(annotations={controller.SKIP: "false"}), "sign"),
        (run(annotations={controller.RETRIES: "2"}), "sign"),
    ],
)
def test_task_run_table(the_run: dict[str, Any] | None, action: str) -> None:
    assert reconcile(the_run).action == action


def test_ignore_runs_before() -> None:
    policy = Policy(ignore_before=datetime.datetime(2026, 12, 1, 10, 30, tzinfo=datetime.UTC))
    assert reconcile(run(), policy=policy).action == "forget"
    assert reconcile(run(completed="2026-12-01T11:00:00Z"), policy=policy).action == "sign"


def test_pipeline_run_waits_for_every_child() -> None:
    pr = run("pr", kind="PipelineRun", children=["a", "b"])
    done = run("a", annotations=SIGNED_TRUE)
    assert reconcile(pr, {}).action == "wait"
    assert reconcile(pr, {"a": done}).action == "wait"
    assert reconcile(pr, {"a": done, "b": run("b")}).reason.startswith("child TaskRun b")
    assert reconcile(pr, {"a": done, "b": run("b", status="Unknown")}).action == "wait"
    decision = reconcile(pr, {"a": done, "b": run("b", annotations=SIGNED_TRUE)})
    assert decision.action == "sign"
    assert [c["metadata"]["name"] for c in decision.children] == ["a", "b"]


def test_a_vanished_child_does_not_block_forever() -> None:
    pr = run("pr", kind="PipelineRun", children=["a", "gone"])
    decision = reconcile(pr, {"a": run("a", annotations=SIGNED_TRUE), "gone": None})
    assert decision.action == "sign"
    assert len(decision.children) == 1


def test_v1beta1_embedded_child_status() -> None:
    pr = run("pr", kind="PipelineRun")
    pr["status"]["taskRuns"] = {"x": {"pipelineTaskName": "t"}}
    assert controller.child_names(pr) == ["x"]
    assert reconcile(pr, {}).action == "wait"


def test_no_finalizer_work_by_default() -> None:
    assert reconcile(run(status="Unknown")).action == "forget"
    assert not controller.needs_signing(run(status="Unknown"))


def test_finalizer_opt_in() -> None:
    policy = Policy(finalizer=True)
    assert reconcile(run(status="Unknown"), policy=policy).action == "add-finalizer"
    assert controller.needs_signing(run(status="Unknown"), policy)
    held = run(finalizers=[FINALIZER, "other"])
    decision = reconcile(held, policy=policy)
    assert decision.action == "sign"
    assert decision.remove_finalizer
    signed = run(finalizers=[FINALIZER], annotations=SIGNED_TRUE)
    assert reconcile(signed, policy=policy).action == "remove-finalizer"
    abandoned = run(status="Unknown", finalizers=[FINALIZER], deleting=True)
    assert reconcile(abandoned, policy=policy).action == "remove-finalizer"
    # deleting a finished run: one attempt, then the finalizer goes whatever happens
    assert reconcile(run(finalizers=[FINALIZER], deleting=True), policy=policy).action == "sign"
    # never added to a run being deleted
    assert reconcile(run(status="Unknown", deleting=True), policy=policy).action == "forget"


def test_merge_patch_touches_metadata_only() -> None:
    patch = controller.merge_annotations_patch(
        {SIGNED: "true", "x": None}, remove_finalizer_from=[FINALIZER, "keep"], resource_version="7"
    )
    assert patch == {
        "metadata": {
            "annotations": {SIGNED: "true", "x": None},
            "finalizers": ["keep"],
            "resourceVersion": "7",
        }
    }
    assert controller.merge_annotations_patch({SIGNED: "true"}) == {
        "metadata": {"annotations": {SIGNED: "true"}}
    }


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (None, {controller.RETRIES: "0"}),
        ("0", {controller.RETRIES: "1"}),
        ("2", {controller.RETRIES: "3"}),
        ("3", {SIGNED: "failed"}),
        ("junk", {controller.RETRIES: "0"}),
    ],
)
def test_failure_patch_counts_as_chains(previous: str | None, expected: dict[str, str]) -> None:
    the_run = run(annotations={controller.RETRIES: previous} if previous else None)
    patch = controller.failure_patch(the_run, "boom")
    assert {k: v for k, v in patch.items() if k != controller.SIGN_STATUS} == expected
    assert json.loads(str(patch[controller.SIGN_STATUS])) == {"error": "boom"}


def test_keys() -> None:
    assert Key.of(run()) == Key("taskruns", "ns", "tr")
    assert Key.of(run("p", kind="PipelineRun")) == Key("pipelineruns", "ns", "p")
    assert (
        Key.of({"metadata": {"name": "p", "namespace": "n"}, "spec": {"pipelineRef": {}}}).plural
        == "pipelineruns"
    )
    assert str(Key("taskruns", "a", "b")) == "taskruns/a/b"


def test_shards_are_stable_and_spread() -> None:
    assert controller.shard_of("team-a", 8) == controller.shard_of("team-a", 8)
    spread = {controller.shard_of(f"ns-{i}", 8) for i in range(200)}
    assert spread == set(range(8))
    with pytest.raises(ValueError, match="shard_count"):
        controller.shard_of("x", 0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(["kind", "metadata", "spec", "status"]), json_values, max_size=4
    ),
    st.dictionaries(st.text(max_size=3), st.none() | json_values, max_size=3),
)
def test_reconcile_is_total_on_any_json(the_run: dict[str, Any], children: dict[str, Any]) -> None:
    decision = reconcile(the_run, children, Policy(finalizer=True))
    assert decision.action in ("forget", "wait", "sign", "add-finalizer", "remove-finalizer")
    controller.needs_signing(the_run)
    controller.child_names(the_run)
    controller.completion_time(the_run)
    Key.of(the_run)
