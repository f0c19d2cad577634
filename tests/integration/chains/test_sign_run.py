"""chains.sign_run against the real local registry (Debian docker-registry) and the fault proxy.

* every Chains fixture run (``../shared/peers/chains``, derived/cases.json) signed with a local
  key: ``.sig``/``.att`` that our verify and ``skopeo`` read, tekton annotations that verify,
  and the signed provenance equal to Chains' own;
* a push that fails is a partial success that never says ``signed: "true"``; after the fault
  clears, a retry pushes only what was missing (counted at the proxy);
* signing twice leaves one layer per signature (read back from the registry).
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import chains, oci, signing, verify
from konflux_supply.errors import InputError
from konflux_supply.oci import Kind, Reference, Registry
from konflux_supply.signing import dsse
from tests.integration.conftest import RegistryService, require_binary
from tests.integration.fault_proxy import FaultProxy
from tests.unit.chains._helpers import key_signer, patched, push_image, task_run

pytestmark = pytest.mark.integration

FORMATS = {"in-toto", "slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4"}
#: The fixtures' images are not in the test registry (their digests are the peers'): Chains
#: signs them anyway (SignedUnknown), and they are verified without reading the image.
UNHELD = verify.VerifyOptions(require_image=False)


def _cases(peers: Path) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(
        (peers / "chains" / "derived" / "cases.json").read_text()
    )
    return [case for case in cases if case["format"] in FORMATS]


def _oci_subject(subject: dict[str, Any]) -> Reference | None:
    hexpart = subject.get("digest", {}).get("sha256")
    if not hexpart:
        return None
    try:
        ref = oci.parse_reference(f"{subject['name']}@sha256:{hexpart}")
    except InputError:
        return None
    return None if ref.layout else ref


def _skopeo_raw(registry: RegistryService, repository: str, tag: str) -> dict[str, Any]:
    skopeo = require_binary("skopeo")
    done = subprocess.run(
        [
            skopeo,
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{registry.host}/{repository}:{tag}",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def test_every_chains_fixture_run_signs_and_verifies(
    registry: RegistryService, peers: Path
) -> None:
    client, _ = oci.open_registry(registry.ref("chains/x"), options=registry.options)
    signer = key_signer()
    verifier = signing.verifier_from_pem(signer.public_key_pem())
    policy = verify.Keys([verifier])
    cases = _cases(peers)
    assert len(cases) >= 20
    checked_skopeo = False
    for case in cases:
        run = json.loads((peers / "chains" / case["input"]).read_text())
        children = [
            json.loads((peers / "chains" / c).read_text()) for c in case.get("childTaskRuns", [])
        ]
        data = {
            "artifacts.taskrun.format": case["format"],
            "artifacts.pipelinerun.format": case["format"],
            "artifacts.taskrun.storage": "oci,tekton",
            "artifacts.pipelinerun.storage": "oci,tekton",
            "artifacts.oci.storage": "oci,tekton",
            "builder.id": case["builderId"],
            "artifacts.pipelinerun.enable-deep-inspection": str(case["deepInspection"]).lower(),
        }
        if case["buildType"]:
            data["builddefinition.buildtype"] = case["buildType"]
        config = chains.Config.from_data(data)
        outcome = chains.sign_run(run, config, children=children, registry=client, signer=signer)
        name = case["name"]
        if outcome.skipped_run is not None:
            # Chains signs only finished runs (the remote-resolver fixtures are still running)
            assert outcome.skipped_run == "run is not finished", name
            assert name.endswith("remote-resolver"), name
            assert not outcome.signed
            continue
        provenance = outcome.artifacts[0]
        assert provenance.payload is not None, (name, provenance.summary())
        statement = json.loads(provenance.payload)
        expected = json.loads((peers / "chains" / case["output"]).read_text())
        assert statement == expected, name
        # tekton storage: decodes to the payload, and the envelope verifies over it
        key = provenance.key
        annotations = outcome.annotations
        payload = base64.b64decode(annotations[f"chains.tekton.dev/payload-{key}"])
        assert payload == provenance.payload
        envelope = base64.b64decode(annotations[f"chains.tekton.dev/signature-{key}"])
        assert dsse.verify(envelope, [verifier]) == payload
        # oci storage: one .att per image subject, verified by our verify-attestation
        subjects = statement.get("subject", [])
        images = [_oci_subject(s) for s in subjects]
        for image in images:
            if image is None:
                continue
            verified = verify.verify_attestations(client, image, policy, options=UNHELD)
            assert any(a.statement == payload for a in verified.attestations), name
        assert outcome.signed == (bool(subjects) and all(images)), (name, outcome.status_map())
        for artifact in outcome.artifacts[1:]:
            assert artifact.state == "stored", (name, artifact.summary())
            image = oci.parse_reference(artifact.key)
            found = verify.verify_signatures(client, image, policy, options=UNHELD)
            claims = found.signatures[0].claims
            assert claims.docker_manifest_digest == image.digest
            short = (image.digest or "")[7:19]
            raw = base64.b64decode(annotations[f"chains.tekton.dev/signature-{short}"])
            verifier.verify(
                raw, base64.b64decode(annotations[f"chains.tekton.dev/payload-{short}"])
            )
            if not checked_skopeo:
                tag = f"sha256-{(image.digest or '')[7:]}"
                sig = _skopeo_raw(registry, image.repository, f"{tag}.sig")
                assert [layer["mediaType"] for layer in sig["layers"]] == [
                    "application/vnd.dev.cosign.simplesigning.v1+json"
                ]
                att = _skopeo_raw(registry, image.repository, f"{tag}.att")
                assert {layer["mediaType"] for layer in att["layers"]} == {
                    "application/vnd.dsse.envelope.v1+json"
                }
                checked_skopeo = True
    assert checked_skopeo


def _layers(client: Registry, image: Reference, kind: Kind) -> list[str]:
    return [layer.descriptor.digest for layer in oci.read_attachments(client, image, kind).layers]


def test_twice_leaves_one_layer_per_signature(registry: RegistryService) -> None:
    client, _ = oci.open_registry(registry.ref("chains/twice"), options=registry.options)
    name = registry.ref("chains/twice")
    digest = push_image(client, name)
    run = task_run(image=name, digest=digest, name="twice", uid="uid-twice")
    config = chains.Config.from_data(
        {"artifacts.taskrun.storage": "oci", "artifacts.oci.storage": "oci"}
    )
    signer = key_signer()
    first = chains.sign_run(run, config, registry=client, signer=signer)
    second = chains.sign_run(run, config, registry=client, signer=signer)
    assert first.signed
    assert second.signed
    assert second.written == 0
    image = oci.parse_reference(f"{name}@{digest}")
    assert len(_layers(client, image, Kind.SIGNATURE)) == 1
    assert len(_layers(client, image, Kind.ATTESTATION)) == 1


def _pushes(proxy: FaultProxy) -> list[str]:
    with proxy.plan.lock:
        return [
            path
            for method, path, fault in proxy.plan.seen
            if method in ("PUT", "POST", "PATCH") and fault == "pass"
        ]


def test_failed_push_is_partial_and_the_retry_pushes_only_what_is_missing(
    registry: RegistryService, fault_proxy: FaultProxy
) -> None:
    direct, _ = oci.open_registry(registry.ref("chains/faulty"), options=registry.options)
    name = registry.ref("chains/faulty")
    digest = push_image(direct, name)
    via, _ = oci.open_registry(f"{fault_proxy.host}/chains/faulty", options=registry.options)
    run = task_run(image=name, digest=digest, name="faulty", uid="uid-faulty")
    config = chains.Config.from_data(
        {"artifacts.taskrun.storage": "oci,tekton", "artifacts.oci.storage": "oci"}
    )
    signer = key_signer()
    fault_proxy.plan.add("status", method="PUT", path=r"/manifests/sha256-.*\.att", times=None)
    failed = chains.sign_run(run, config, registry=via, signer=signer)
    assert not failed.signed
    provenance, image_status = failed.artifacts
    assert provenance.state == "signed"
    assert "HTTP 500" in (provenance.cause or "")
    assert image_status.state == "stored"
    patch = failed.annotations_to_patch()
    assert patch.get("chains.tekton.dev/signed") is None
    assert patch["chains.tekton.dev/retries"] == "0"
    status = json.loads(str(patch["konflux-supply.dev/sign-status"]))
    assert status[f"oci/{name}@{digest}"] == "stored"
    assert status["taskrun/taskrun-uid-faulty"].startswith("signed: ")
    # the fault clears; the retry (on the patched run) pushes the .att and nothing else
    fault_proxy.plan.clear()
    retried = chains.sign_run(patched(run, failed), config, registry=via, signer=signer)
    assert retried.signed, retried.status_map()
    pushes = _pushes(fault_proxy)
    manifests = [p for p in pushes if "/manifests/" in p]
    assert len(manifests) == 1
    assert manifests[0].endswith(".att")
    assert not any(".sig" in p for p in pushes)
    assert retried.annotations_to_patch() == {
        "chains.tekton.dev/signed": "true",
        "konflux-supply.dev/sign-status": None,
    }
    image = oci.parse_reference(f"{name}@{digest}")
    assert len(_layers(direct, image, Kind.SIGNATURE)) == 1
    assert len(_layers(direct, image, Kind.ATTESTATION)) == 1
    # the envelope pushed on retry is the one already in the tekton annotations
    envelope = base64.b64decode(
        failed.annotations["chains.tekton.dev/signature-taskrun-uid-faulty"]
    )
    layer = oci.read_attachments(direct, image, Kind.ATTESTATION).layers[0]
    assert dsse.parse(layer.data or b"").signatures == dsse.parse(envelope).signatures


NEVER_TRUE = [
    ("missing signer", {"artifacts.taskrun.storage": "oci"}, "no valid private key"),
    ("unknown format", None, "unknown format"),
    ("no image", {"artifacts.taskrun.storage": "oci"}, "no subject"),
]


@pytest.mark.parametrize(("case", "data", "cause"), NEVER_TRUE)
def test_never_signed_true(
    registry: RegistryService, tmp_path: Path, case: str, data: dict[str, str] | None, cause: str
) -> None:
    client, _ = oci.open_registry(registry.ref("chains/never"), options=registry.options)
    name = registry.ref("chains/never")
    digest = push_image(client, name, tag=case.replace(" ", "-"))
    run = task_run(image=None if case == "no image" else name, digest=digest, uid=f"uid-{case[:4]}")
    if data is None:
        config = chains.Config(
            taskrun=chains.ArtifactConfig("slsa/v0.1", frozenset({"oci", "tekton"}))
        )
    else:
        config = chains.Config.from_data(data)
    signer: Any = chains.Signers(secrets_dir=tmp_path) if case == "missing signer" else key_signer()
    outcome = chains.sign_run(run, config, registry=client, signer=signer)
    assert not outcome.signed
    patch = outcome.annotations_to_patch()
    assert patch.get("chains.tekton.dev/signed") != "true"
    assert cause in str(patch["konflux-supply.dev/sign-status"])
    assert cause in (outcome.artifacts[0].cause or "")
