"""The controller against the fake API server, through the official kubernetes client."""

from __future__ import annotations

import datetime
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from konflux_supply import controller
from tests.integration.controller._fake_api import FakeKube, pipeline_run, task_run
from tests.integration.controller._helpers import CountingSigner, wait_for

TASK_RUNS = int(os.environ.get("KONFLUX_SUPPLY_CONTROLLER_TASKRUNS", "300"))
PIPELINE_RUNS = int(os.environ.get("KONFLUX_SUPPLY_CONTROLLER_PIPELINERUNS", "30"))
BACKLOG = int(os.environ.get("KONFLUX_SUPPLY_CONTROLLER_BACKLOG", "1000"))
OLD = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def start(
    make_api: Callable[..., controller.KubeApi],
) -> Iterator[Callable[..., controller.Controller]]:
    started: list[controller.Controller] = []

    def run(sign: controller.SignFunction, **options: Any) -> controller.Controller:
        metrics = controller.Metrics()
        options.setdefault("wait_delay", 1.0)
        options.setdefault("backoff", controller.Backoff(base=0.02, cap=0.5))
        ctl = controller.Controller(
            make_api(metrics=metrics, qps=0),
            sign,
            controller.ControllerOptions(**options),
            metrics=metrics,
        )
        ctl.start()
        started.append(ctl)
        wait_for(lambda: ctl.ready, 30, "watches established")
        return ctl

    yield run
    for ctl in started:
        ctl.stop(5)


def _annotation(kube: FakeKube, plural: str, name: str) -> dict[str, str]:
    for run in kube.runs(plural):
        if run["metadata"]["name"] == name:
            return dict(run["metadata"].get("annotations") or {})
    raise KeyError(name)


def _all_signed(kube: FakeKube, expected: int) -> bool:
    return (
        kube.count_annotated("taskruns", controller.SIGNED, "true")
        + kube.count_annotated("pipelineruns", controller.SIGNED, "true")
    ) == expected


def test_runs_created_under_chaos_are_signed_exactly_once(
    kube: FakeKube, start: Callable[..., controller.Controller]
) -> None:
    kube.chaos.error_rate = 0.03
    kube.chaos.throttle_rate = 0.01
    kube.chaos.cut_watch_after = 2.0
    signer = CountingSigner()
    ctl = start(signer, workers=8)
    expected = TASK_RUNS + PIPELINE_RUNS * 4
    for i in range(TASK_RUNS):
        kube.create("taskruns", task_run(f"team-{i % 20}", f"build-{i}"))
        if i == TASK_RUNS // 2:
            kube.compact()  # every open watch resumes into a 410 Gone and re-lists
    for p in range(PIPELINE_RUNS):
        ns, children = f"team-{p % 20}", [f"pr-{p}-task-{c}" for c in range(3)]
        for child in children:
            kube.create(
                "taskruns", task_run(ns, child, labels={"tekton.dev/pipelineRun": f"pr-{p}"})
            )
        kube.create("pipelineruns", pipeline_run(ns, f"pr-{p}", children))
    wait_for(lambda: _all_signed(kube, expected), 600, f"{expected} runs signed")
    assert len(signer.calls) == expected
    assert max(signer.calls.values()) == 1, "a run was signed twice"
    position = {name: i for i, name in enumerate(signer.order)}
    for p in range(PIPELINE_RUNS):
        ns = f"team-{p % 20}"
        assert all(
            position[f"{ns}/pr-{p}-task-{c}"] < position[f"{ns}/pr-{p}"] for c in range(3)
        ), "a PipelineRun was signed before its children"
        assert sorted(signer.children_seen[f"pr-{p}"]) == [f"pr-{p}-task-{c}" for c in range(3)]
    calls = ctl.metrics.calls()
    assert calls[("patch", "taskruns")] >= TASK_RUNS
    assert ctl.metrics.relists._value.get() >= 2  # the compaction forced re-lists


def test_a_fresh_run_overtakes_an_old_backlog(
    kube: FakeKube, start: Callable[..., controller.Controller]
) -> None:
    for i in range(BACKLOG):
        kube.create("taskruns", task_run(f"old-{i % 50}", f"old-{i}", completed=OLD))
    signer = CountingSigner(delay=0.002)
    start(signer, workers=4, backlog_limit=200, backlog_share=4)
    wait_for(lambda: len(signer.order) >= 50, 60, "the backlog being worked on")
    kube.create("taskruns", task_run("live", "fresh-run"))
    created_at = len(signer.order)
    wait_for(lambda: "live/fresh-run" in signer.order, 60, "the fresh run signed")
    waited = signer.order.index("live/fresh-run") - created_at
    assert waited <= 20, f"{waited} backlog runs were signed before the fresh one"
    assert len(signer.order) < BACKLOG, "the fresh run did not wait for the backlog"
    wait_for(lambda: len(signer.order) == BACKLOG + 1, 300, "the whole backlog signed")
    assert max(signer.calls.values()) == 1


def test_skip_annotation_ignore_before_and_unfinished_runs(
    kube: FakeKube, start: Callable[..., controller.Controller]
) -> None:
    signer = CountingSigner()
    cutoff = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    start(signer, workers=2, policy=controller.Policy(ignore_before=cutoff))
    kube.create("taskruns", task_run("a", "opted-out", annotations={controller.SKIP: "true"}))
    kube.create("taskruns", task_run("a", "too-old", completed=OLD))
    kube.create("taskruns", task_run("a", "running", finished=False))
    kube.create("taskruns", task_run("a", "wanted"))
    wait_for(lambda: "a/wanted" in signer.order, 30, "the wanted run signed")
    running = next(r for r in kube.runs("taskruns") if r["metadata"]["name"] == "running")
    running["status"]["conditions"][0]["status"] = "True"
    running["status"]["completionTime"] = "2026-12-01T00:00:00Z"
    kube.patch("taskruns", "a", "running", {"status": running["status"]})
    wait_for(lambda: "a/running" in signer.order, 30, "the run signed once finished")
    assert sorted(signer.order) == ["a/running", "a/wanted"]
    assert controller.SIGNED not in _annotation(kube, "taskruns", "opted-out")


def test_retries_counted_as_chains_then_failed(
    kube: FakeKube, start: Callable[..., controller.Controller]
) -> None:
    attempts: list[str] = []

    def broken(run: Any, children: Any) -> Any:
        attempts.append(run["metadata"]["name"])
        raise RuntimeError("the signing key is missing")

    start(broken, workers=1)
    kube.create("taskruns", task_run("a", "doomed"))
    wait_for(
        lambda: _annotation(kube, "taskruns", "doomed").get(controller.SIGNED) == "failed",
        60,
        "signed: failed",
    )
    notes = _annotation(kube, "taskruns", "doomed")
    assert notes[controller.RETRIES] == "3"
    assert "the signing key is missing" in notes[controller.SIGN_STATUS]
    assert attempts == ["doomed"] * 5


def test_opt_in_finalizer_is_removed_after_signing_and_never_blocks_deletion(
    kube: FakeKube, start: Callable[..., controller.Controller]
) -> None:
    signer = CountingSigner()
    start(signer, workers=2, policy=controller.Policy(finalizer=True))
    kube.create("taskruns", task_run("a", "slow", finished=False))
    kube.create("taskruns", task_run("a", "abandoned", finished=False))

    def finalizers(name: str) -> list[str] | None:
        for run in kube.runs("taskruns"):
            if run["metadata"]["name"] == name:
                return list(run["metadata"].get("finalizers") or [])
        return None

    wait_for(lambda: finalizers("slow") == [controller.FINALIZER], 30, "finalizer added")
    wait_for(lambda: finalizers("abandoned") == [controller.FINALIZER], 30, "finalizer added")
    kube.delete("taskruns", "a", "abandoned")  # deleted before it finished: let it go
    wait_for(lambda: finalizers("abandoned") is None, 30, "the abandoned run deleted")
    run = next(r for r in kube.runs("taskruns") if r["metadata"]["name"] == "slow")
    run["status"]["conditions"][0]["status"] = "True"
    kube.patch("taskruns", "a", "slow", {"status": run["status"]})
    wait_for(lambda: "a/slow" in signer.order, 30, "signed")
    wait_for(lambda: finalizers("slow") == [], 30, "finalizer removed after signing")
    assert _annotation(kube, "taskruns", "slow")[controller.SIGNED] == "true"
    assert "a/abandoned" not in signer.order


def test_namespace_and_label_filters(
    kube: FakeKube, start: Callable[..., controller.Controller]
) -> None:
    signer = CountingSigner()
    start(signer, workers=1, namespaces=("mine",), label_selector="team=blue")
    kube.create("taskruns", task_run("other", "x", labels={"team": "blue"}))
    kube.create("taskruns", task_run("mine", "red", labels={"team": "red"}))
    kube.create("taskruns", task_run("mine", "blue", labels={"team": "blue"}))
    wait_for(lambda: "mine/blue" in signer.order, 30, "the matching run signed")
    kube.create("taskruns", task_run("mine", "blue-2", labels={"team": "blue"}))
    wait_for(lambda: "mine/blue-2" in signer.order, 30, "the next matching run signed")
    assert sorted(signer.order) == ["mine/blue", "mine/blue-2"]


def test_v1beta1_runs_are_read_too(
    kube: FakeKube, make_api: Callable[..., controller.KubeApi]
) -> None:
    signer = CountingSigner()
    ctl = controller.Controller(make_api(version="v1beta1"), signer)
    ctl.start()
    try:
        kube.create("taskruns", task_run("a", "beta"))
        wait_for(lambda: "a/beta" in signer.order, 30, "signed through v1beta1")
    finally:
        ctl.stop(5)


def test_serve_exposes_health_readiness_and_metrics(
    kube: FakeKube, make_api: Callable[..., controller.KubeApi]
) -> None:
    stop = threading.Event()
    seen: dict[str, Any] = {}
    signer = CountingSigner()
    metrics = controller.Metrics()
    shards = controller.ShardOptions(namespace="ctl", identity="solo", shard_count=2, duration=3)

    def ready(ctl: controller.Controller, ops: controller.OpsServer) -> None:
        seen["port"] = ops.port
        seen["ctl"] = ctl

    thread = threading.Thread(
        target=controller.serve,
        args=(make_api(metrics=metrics), signer, controller.ControllerOptions(shard_count=2)),
        kwargs={
            "shards": shards,
            "metrics": metrics,
            "ops_port": 0,
            "stop": stop,
            "on_ready": ready,
        },
    )
    thread.start()
    try:
        wait_for(lambda: "port" in seen, 30, "the ops server")
        base = f"http://127.0.0.1:{seen['port']}"
        wait_for(lambda: seen["ctl"].ready, 30, "ready")
        kube.create("taskruns", task_run("a", "observed"))
        wait_for(lambda: "a/observed" in signer.order, 30, "signed")
        assert urllib.request.urlopen(f"{base}/healthz").status == 200
        assert urllib.request.urlopen(f"{base}/readyz").status == 200
        signed = 'konflux_supply_controller_runs_signed_total{kind="taskruns"} 1.0'

        def scrape() -> str:
            return str(urllib.request.urlopen(f"{base}/metrics").read().decode())

        wait_for(lambda: signed in scrape(), 30, "the signed counter")
        text = scrape()
        assert "konflux_supply_controller_sign_seconds_bucket" in text
        assert (
            'konflux_supply_controller_api_calls_total{code="200",resource="taskruns",verb="get"}'
            in text
        )
        assert "konflux_supply_controller_queue_depth" in text
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    holders = [
        lease["spec"].get("holderIdentity")
        for lease in kube.runs("leases")
        if "-shard-" in lease["metadata"]["name"]
    ]
    assert holders
    assert not any(holders), "the shard Leases were released on shutdown"
