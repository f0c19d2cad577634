"""The controller with the real ``chains.sign_run`` against a local docker-registry: under
chaos, every image ends with exactly one ``.sig`` layer and one ``.att`` layer per run that
built it, appends serialised through Lease-backed locks."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import chains, controller, oci, signing
from konflux_supply.oci import Kind
from tests.integration.conftest import RegistryService
from tests.integration.controller._fake_api import FakeKube, pipeline_run, task_run
from tests.integration.controller._helpers import wait_for
from tests.integration.oci.helpers import push_image

IMAGES = int(os.environ.get("KONFLUX_SUPPLY_CONTROLLER_IMAGES", "6"))


def _layers(registry: oci.Registry, image: str, kind: Kind) -> int:
    return len(oci.read_attachments(registry, oci.parse_reference(image), kind).layers)


def test_real_sign_run_one_sig_per_image_under_chaos(
    kube: FakeKube, make_api: Callable[..., controller.KubeApi], registry: RegistryService
) -> None:
    pool = oci.RegistryPool(registry.options)
    direct, _ = pool.open(registry.ref("ctl/app-0"))
    images = []
    for i in range(IMAGES):
        ref = push_image(direct, registry.ref(f"ctl/app-{i}:v1"), content=f"layer {i}".encode())
        images.append((registry.ref(f"ctl/app-{i}"), ref.digest or ""))
    config = chains.Config.from_data(
        {
            "artifacts.taskrun.format": "in-toto",
            "artifacts.taskrun.storage": "oci",
            "artifacts.oci.storage": "oci",
            "artifacts.pipelinerun.storage": "tekton",
        }
    )
    api = make_api(qps=0)
    lock = controller.LeaseAppendLock(api, "controller", "replica-0")
    sign = controller.ChainsSigner(
        config,
        registry=pool,
        signer=signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1())),
        append_lock=lock,
    )
    calls: list[str] = []
    guard = threading.Lock()

    def counted(run: Any, children: Any) -> chains.SignOutcome:
        with guard:
            calls.append(run["metadata"]["name"])
        return sign(run, children)

    kube.chaos.error_rate = 0.03
    kube.chaos.cut_watch_after = 2.0
    ctl = controller.Controller(
        api,
        counted,
        controller.ControllerOptions(
            workers=4, wait_delay=1.0, backoff=controller.Backoff(0.02, 0.5)
        ),
    )
    ctl.start()
    try:
        builders: dict[int, int] = dict.fromkeys(range(IMAGES), 0)
        names = []
        # two runs in different namespaces built the same image: concurrent .att appends
        for i in range(2 * IMAGES):
            image = i % IMAGES
            builders[image] += 1
            kube.create("taskruns", task_run(f"team-{i}", f"build-{i}", image=images[image]))
            names.append(f"build-{i}")
        children = ["pr-task-0", "pr-task-1"]
        for c, child in enumerate(children):
            kube.create(
                "taskruns",
                task_run(
                    "team-pr", child, image=images[c], labels={"tekton.dev/pipelineRun": "pr"}
                ),
            )
            builders[c] += 1
        kube.create("pipelineruns", pipeline_run("team-pr", "pr", children))
        expected = 2 * IMAGES + len(children) + 1

        def done() -> bool:
            runs = kube.runs("taskruns") + kube.runs("pipelineruns")
            return (
                sum(
                    1
                    for r in runs
                    if (r["metadata"].get("annotations") or {}).get(controller.SIGNED)
                )
                == expected
            )

        wait_for(done, 240, f"{expected} runs signed with sign_run")
    finally:
        ctl.stop(10)
    for run in kube.runs("taskruns") + kube.runs("pipelineruns"):
        assert run["metadata"]["annotations"][controller.SIGNED] == "true", run["metadata"]
    for i, (image, digest) in enumerate(images):
        pinned = f"{image}@{digest}"
        assert _layers(direct, pinned, Kind.SIGNATURE) == 1, pinned
        assert _layers(direct, pinned, Kind.ATTESTATION) == builders[i], pinned
    assert len(calls) == expected  # exactly once each
    assert not [
        lease
        for lease in kube.runs("leases")
        if lease["metadata"]["name"].startswith("konflux-supply-append")
    ]
    pool.close()
