"""``sign-run --from-cluster NS/NAME --annotate`` against a fake Kubernetes API server and the
local registry: the PipelineRun and its child TaskRuns are read by name, signed, stored, and
the honest status is merge-patched back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import oci, signing, verify
from konflux_supply.cli import main
from tests.integration.chains.fake_kube import FakeKube
from tests.integration.conftest import RegistryService
from tests.unit.chains._helpers import push_image, task_run, write_cosign_secrets

pytestmark = pytest.mark.integration

CONFIG = {
    "artifacts.pipelinerun.format": "slsa/v2alpha4",
    "artifacts.pipelinerun.storage": "oci,tekton",
    "artifacts.pipelinerun.enable-deep-inspection": "true",
    "artifacts.taskrun.storage": "oci",
}


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeKube]:
    fake = FakeKube().start()
    (tmp_path / "kubeconfig").write_text(fake.kubeconfig())
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    try:
        yield fake
    finally:
        fake.stop()


def _pipeline_run(image: str, digest: str) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": "app-build", "namespace": "team", "uid": "pr-uid-1"},
        "spec": {"pipelineRef": {"name": "build"}},
        "status": {
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
            "startTime": "2026-12-01T10:00:00Z",
            "completionTime": "2026-12-01T10:02:00Z",
            "pipelineSpec": {"tasks": [{"name": "build", "taskRef": {"name": "buildah"}}]},
            "childReferences": [
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "TaskRun",
                    "name": "app-build-build",
                    "pipelineTaskName": "build",
                }
            ],
            "results": [
                {"name": "IMAGE_URL", "value": image},
                {"name": "IMAGE_DIGEST", "value": digest},
            ],
        },
    }


def test_from_cluster_reads_children_signs_and_annotates(
    kube: FakeKube,
    registry: RegistryService,
    tmp_path: Path,
    cli_environment: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, _ = oci.open_registry(registry.ref("chains/cluster"), options=registry.options)
    image = registry.ref("chains/cluster")
    digest = push_image(client, image)
    child = task_run(image=image, digest=digest, name="app-build-build", uid="tr-uid-1")
    child["metadata"]["labels"] = {
        "tekton.dev/pipelineTask": "build",
        "tekton.dev/pipelineRun": "app-build",
    }
    kube.objects[("pipelineruns", "team", "app-build")] = _pipeline_run(image, digest)
    kube.objects[("taskruns", "team", "app-build-build")] = child
    public = write_cosign_secrets(tmp_path / "secrets")
    config_dir = tmp_path / "chains-config"
    config_dir.mkdir()
    for key, value in CONFIG.items():
        (config_dir / key).write_text(value)
    (config_dir / "..data").mkdir()  # what a mounted ConfigMap also holds
    code = main(
        [
            "sign-run",
            "--config",
            str(config_dir),
            "--signing-secrets",
            str(tmp_path / "secrets"),
            "--from-cluster",
            "team/app-build",
            "--annotate",
            "--allow-http-registry",
            "--results-dir",
            str(tmp_path),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    outcome = json.loads(captured.out)
    assert outcome["signed"] is True
    assert (
        "GET",
        "/apis/tekton.dev/v1/namespaces/team/taskruns/app-build-build",
        None,
    ) in kube.requests
    [(path, _body)] = kube.patches
    assert path.endswith("/pipelineruns/app-build")
    assert any(ct == "application/merge-patch+json" for m, _, ct in kube.requests if m == "PATCH")
    annotations = kube.objects[("pipelineruns", "team", "app-build")]["metadata"]["annotations"]
    assert annotations["chains.tekton.dev/signed"] == "true"
    assert "chains.tekton.dev/payload-pipelinerun-pr-uid-1" in annotations
    # deep inspection put the child's image among the subjects: its .att verifies
    policy = verify.Keys([signing.verifier_from_pem(public)])
    verified = verify.verify_attestations(client, oci.parse_reference(f"{image}@{digest}"), policy)
    statement = verified.attestations[0].statement_json()
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert (tmp_path / "SIGNED").read_text() == "true"


def test_from_cluster_missing_run_is_bad_input(
    kube: FakeKube, tmp_path: Path, cli_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    code = main(
        ["sign-run", "--config", str(tmp_path / "config.yaml"), "--from-cluster", "team/nope"]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "TaskRun team/nope not found" in captured.err
    assert captured.out == ""
