from __future__ import annotations

from collections.abc import Callable

from konflux_supply import controller
from tests.integration.controller._fake_api import FakeKube, pipeline_run, task_run
from tests.integration.controller._helpers import CountingSigner, wait_for


def test_smoke(kube: FakeKube, make_api: Callable[..., controller.KubeApi]) -> None:
    for i in range(20):
        kube.create("taskruns", task_run("ns-a", f"tr-{i}"))
    metrics = controller.Metrics()
    signer = CountingSigner()
    ctl = controller.Controller(
        make_api(metrics=metrics), signer, controller.ControllerOptions(workers=2), metrics=metrics
    )
    ctl.start()
    try:
        for i in range(3):
            kube.create(
                "taskruns", task_run("ns-b", f"c-{i}", labels={"tekton.dev/pipelineRun": "p"})
            )
        kube.create("pipelineruns", pipeline_run("ns-b", "p", ["c-0", "c-1", "c-2"]))
        wait_for(lambda: len(signer.calls) == 24, 30, "24 signed")
    finally:
        ctl.stop()
    assert set(signer.calls.values()) == {1}
    assert sorted(signer.children_seen["p"]) == ["c-0", "c-1", "c-2"]
    assert all(
        r["metadata"]["annotations"][controller.SIGNED] == "true" for r in kube.runs("taskruns")
    )
