"""chains.sign_run with ``transparency.enabled`` against the real local registry and our fake
Rekor (tests/integration/fake_rekor.py):

* every signature and attestation is logged, stored with cosign's Rekor bundle, and verifies
  with our verify *and* the transparency-log check under the log's key;
* a log that is unreachable or answers wrongly leaves the artifact ``failed`` with the cause,
  nothing stored, never ``signed: "true"``; once it answers, the retry completes;
* re-runs upload nothing; a retry after a failed push reads the entry back (409) instead of
  making a second one; ``manual`` logs only runs that ask for it.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import pytest

from konflux_supply import chains, oci, publish, signing, verify
from konflux_supply.errors import InputError, VerificationError
from konflux_supply.oci import Kind, Reference, Registry
from konflux_supply.oci.cosign import BUNDLE_ANNOTATION
from konflux_supply.publish import RekorClient
from tests.integration.chains.conftest import FAST
from tests.integration.conftest import RegistryService, free_port
from tests.integration.fake_rekor import FakeRekor
from tests.integration.fault_proxy import FaultProxy
from tests.unit.chains._helpers import key_signer, patched, push_image, task_run

pytestmark = pytest.mark.integration

TRANSPARENCY = "chains.tekton.dev/transparency"


def _config(rekor: FakeRekor, **extra: str) -> chains.Config:
    data = {
        "artifacts.taskrun.storage": "oci,tekton",
        "artifacts.oci.storage": "oci",
        "transparency.enabled": "true",
        "transparency.url": rekor.url,
        "transparency.public-key": rekor.public_pem.decode(),
        **extra,
    }
    return chains.Config.from_data(data)


def _setup(
    registry: RegistryService, repo: str, **run: Any
) -> tuple[Registry, Reference, dict[str, Any]]:
    client, _ = oci.open_registry(registry.ref(repo), options=registry.options)
    name = registry.ref(repo)
    digest = push_image(client, name)
    uid = f"uid-{repo.replace('/', '-')}"
    return (
        client,
        oci.parse_reference(f"{name}@{digest}"),
        task_run(image=name, digest=digest, name=repo.split("/")[-1], uid=uid, **run),
    )


def _layers(client: Registry, image: Reference, kind: Kind) -> list[Any]:
    return list(oci.read_attachments(client, image, kind).layers)


def _logged_policy(rekor: FakeRekor, signer: signing.KeySigner) -> verify.Keys:
    root = verify.TrustedRoot.from_json(rekor.trusted_root())
    return verify.Keys([signing.verifier_from_pem(signer.public_key_pem())], transparency_log=root)


LOGGED = verify.VerifyOptions(layer_tlog=True)


def _kinds(rekor: FakeRekor) -> list[str]:
    return [json.loads(base64.b64decode(entry["body"]))["kind"] for _, entry in rekor.entries]


def test_logged_stored_with_bundles_and_verified(
    registry: RegistryService, rekor: FakeRekor, rekor_client: RekorClient
) -> None:
    client, image, run = _setup(registry, "tlog/ok")
    signer = key_signer()
    outcome = chains.sign_run(
        run, _config(rekor), registry=client, signer=signer, transparency=rekor_client
    )
    assert outcome.signed, outcome.status_map()
    provenance, image_status = outcome.artifacts
    assert _kinds(rekor) == ["dsse", "hashedrekord"]
    assert provenance.transparency == f"{rekor.url}/api/v1/log/entries?logIndex=0"
    assert image_status.transparency == f"{rekor.url}/api/v1/log/entries?logIndex=1"
    # Chains keeps the last upload's URL on the run
    assert outcome.transparency == image_status.transparency
    patch = outcome.annotations_to_patch()
    assert patch[TRANSPARENCY] == image_status.transparency
    assert patch["chains.tekton.dev/signed"] == "true"
    assert [s.backend for s in image_status.stores] == ["oci", "rekor"]
    assert image_status.stores[-1].written
    # the URL Chains writes is where the log serves the entry
    with urllib.request.urlopen(image_status.transparency, timeout=10) as answer:
        served = json.loads(answer.read())
    assert next(iter(served.values()))["logIndex"] == 1
    # the layers carry cosign's legacy Rekor bundle, in Go's field order
    (sig,) = _layers(client, image, Kind.SIGNATURE)
    bundle = json.loads(sig.annotations[BUNDLE_ANNOTATION])
    assert list(bundle) == ["SignedEntryTimestamp", "Payload"]
    assert list(bundle["Payload"]) == ["body", "integratedTime", "logIndex", "logID"]
    assert bundle["Payload"]["logID"] == rekor.log_id.hex()
    (att,) = _layers(client, image, Kind.ATTESTATION)
    assert json.loads(att.annotations[BUNDLE_ANNOTATION])["Payload"]["logIndex"] == 0
    # our verify, with the transparency-log check under the log's key
    policy = _logged_policy(rekor, signer)
    assert verify.verify_signatures(client, image, policy, options=LOGGED).signatures
    attested = verify.verify_attestations(client, image, policy, options=LOGGED)
    assert attested.attestations[0].statement == provenance.payload
    # … and not under another log's key
    other = FakeRekor()
    other.url = rekor.url
    wrong = verify.Keys(
        policy.verifiers, transparency_log=verify.TrustedRoot.from_json(other.trusted_root())
    )
    with pytest.raises(VerificationError, match="not by the trusted log key"):
        verify.verify_signatures(client, image, wrong, options=LOGGED)


def test_rerun_uploads_and_writes_nothing(
    registry: RegistryService, rekor: FakeRekor, rekor_client: RekorClient
) -> None:
    client, image, run = _setup(registry, "tlog/twice")
    signer = key_signer()
    config = _config(rekor)
    first = chains.sign_run(run, config, registry=client, signer=signer, transparency=rekor_client)
    assert first.signed
    posts = rekor.posts
    second = chains.sign_run(
        patched(run, first), config, registry=client, signer=signer, transparency=rekor_client
    )
    assert second.signed
    assert rekor.posts == posts  # the .sig's bundle verified; the .att's too: no upload
    assert second.written == 0
    assert second.transparency == first.transparency
    assert TRANSPARENCY not in second.annotations_to_patch()
    assert len(_layers(client, image, Kind.SIGNATURE)) == 1
    assert len(_layers(client, image, Kind.ATTESTATION)) == 1


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("500", "HTTP 500"),
        ("garbage", "not a log entry"),
        ("wrong-body", "does not describe"),
        ("bad-set", "invalid inclusion promise"),
        ("other-log", "not by the trusted log key"),
    ],
)
def test_a_failing_log_fails_the_artifact_and_stores_nothing(
    registry: RegistryService, rekor: FakeRekor, rekor_client: RekorClient, mode: str, cause: str
) -> None:
    client, image, run = _setup(registry, f"tlog/fail-{mode}")
    signer = key_signer()
    config = _config(rekor)
    rekor.mode = mode
    failed = chains.sign_run(run, config, registry=client, signer=signer, transparency=rekor_client)
    assert not failed.signed
    for artifact in failed.artifacts:
        assert artifact.state == "failed", artifact.summary()
        assert cause in (artifact.cause or ""), artifact.cause
        assert "not logged, so not stored" in (artifact.cause or "")
        assert artifact.transparency is None
    patch = failed.annotations_to_patch()
    assert patch.get("chains.tekton.dev/signed") != "true"
    assert patch["chains.tekton.dev/retries"] == "0"
    assert TRANSPARENCY not in patch
    assert not any(k.startswith("chains.tekton.dev/signature-") for k in patch)
    assert _layers(client, image, Kind.SIGNATURE) == []
    assert _layers(client, image, Kind.ATTESTATION) == []
    # the log answers again: the retry logs and stores everything
    rekor.mode = None
    retried = chains.sign_run(
        patched(run, failed), config, registry=client, signer=signer, transparency=rekor_client
    )
    assert retried.signed, retried.status_map()
    policy = _logged_policy(rekor, signer)
    assert verify.verify_signatures(client, image, policy, options=LOGGED).signatures


def test_an_unreachable_log_fails_the_artifact(registry: RegistryService, rekor: FakeRekor) -> None:
    client, image, run = _setup(registry, "tlog/unreachable")
    closed = f"http://127.0.0.1:{free_port()}"
    config = _config(rekor, **{"transparency.url": closed})
    with RekorClient(closed, public_key=rekor.public_pem, retry=FAST) as log:
        outcome = chains.sign_run(
            run, config, registry=client, signer=key_signer(), transparency=log
        )
    assert not outcome.signed
    assert all(a.state == "failed" for a in outcome.artifacts)
    assert all(closed in (a.cause or "") for a in outcome.artifacts)
    assert "ConnectionError" in (outcome.artifacts[0].cause or "")
    assert _layers(client, image, Kind.SIGNATURE) == []


def test_config_client_and_trusted_served_key(registry: RegistryService, rekor: FakeRekor) -> None:
    """Without an injected client, sign_run makes one from the config (the served key
    trusted on loopback)."""
    client, image, run = _setup(registry, "tlog/served")
    config = chains.Config.from_data(
        {
            "artifacts.taskrun.storage": "tekton",
            "artifacts.oci.storage": "oci",
            "transparency.enabled": "true",
            "transparency.url": rekor.url + "/",
            "transparency.trust-served-key": "true",
        }
    )
    signer = key_signer()
    outcome = chains.sign_run(run, config, registry=client, signer=signer)
    assert outcome.signed, outcome.status_map()
    assert outcome.transparency == f"{rekor.url}/api/v1/log/entries?logIndex=1"
    policy = _logged_policy(rekor, signer)
    assert verify.verify_signatures(client, image, policy, options=LOGGED).signatures


def test_retry_after_a_failed_push_reads_the_entry_back(
    registry: RegistryService, fault_proxy: FaultProxy, rekor: FakeRekor, rekor_client: RekorClient
) -> None:
    direct, image, run = _setup(registry, "tlog/faulty")
    via, _ = oci.open_registry(f"{fault_proxy.host}/tlog/faulty", options=registry.options)
    signer = key_signer()
    config = _config(rekor)
    fault_proxy.plan.add("status", method="PUT", path=r"/manifests/sha256-.*\.att", times=None)
    failed = chains.sign_run(run, config, registry=via, signer=signer, transparency=rekor_client)
    provenance, image_status = failed.artifacts
    assert provenance.state == "signed"  # logged and in the tekton annotations; .att push failed
    assert provenance.transparency is not None
    assert image_status.state == "stored"
    assert len(rekor.entries) == 2
    fault_proxy.plan.clear()
    posts = rekor.posts
    retried = chains.sign_run(
        patched(run, failed), config, registry=via, signer=signer, transparency=rekor_client
    )
    assert retried.signed, retried.status_map()
    # the envelope kept in the annotations was logged already: one POST, answered 409
    assert rekor.posts == posts + 1
    assert len(rekor.entries) == 2
    rekor_store = retried.artifacts[0].stores[-1]
    assert rekor_store.backend == "rekor"
    assert not rekor_store.written
    policy = _logged_policy(rekor, signer)
    assert verify.verify_attestations(direct, image, policy, options=LOGGED).attestations


def test_manual_logs_only_runs_that_ask(
    registry: RegistryService, rekor: FakeRekor, rekor_client: RekorClient
) -> None:
    config = _config(rekor, **{"transparency.enabled": "manual"})
    client, image, run = _setup(registry, "tlog/manual-no")
    outcome = chains.sign_run(
        run, config, registry=client, signer=key_signer(), transparency=rekor_client
    )
    assert outcome.signed
    assert outcome.transparency is None
    assert rekor.posts == 0
    assert BUNDLE_ANNOTATION not in _layers(client, image, Kind.SIGNATURE)[0].annotations
    asked = {"chains.tekton.dev/transparency-upload": "true"}
    client, image, run = _setup(registry, "tlog/manual-yes", annotations=asked)
    outcome = chains.sign_run(
        run, config, registry=client, signer=key_signer(), transparency=rekor_client
    )
    assert outcome.signed
    assert outcome.transparency is not None
    assert BUNDLE_ANNOTATION in _layers(client, image, Kind.SIGNATURE)[0].annotations


def test_a_signature_stored_unlogged_is_logged_when_transparency_is_turned_on(
    registry: RegistryService, rekor: FakeRekor, rekor_client: RekorClient
) -> None:
    client, image, run = _setup(registry, "tlog/later")
    signer = key_signer()
    plain = chains.Config.from_data(
        {"artifacts.taskrun.storage": "oci", "artifacts.oci.storage": "oci"}
    )
    assert chains.sign_run(run, plain, registry=client, signer=signer).signed
    policy = _logged_policy(rekor, signer)
    with pytest.raises(VerificationError, match="no transparency-log bundle"):
        verify.verify_signatures(client, image, policy, options=LOGGED)
    outcome = chains.sign_run(
        run, _config(rekor), registry=client, signer=signer, transparency=rekor_client
    )
    assert outcome.signed, outcome.status_map()
    # the same signature, now logged, in a second layer that carries the bundle
    layers = _layers(client, image, Kind.SIGNATURE)
    assert len(layers) == 2
    assert layers[0].data == layers[1].data
    assert BUNDLE_ANNOTATION not in layers[0].annotations
    assert BUNDLE_ANNOTATION in layers[1].annotations
    assert verify.verify_signatures(client, image, policy, options=LOGGED).signatures
    # the attestation too: the envelope already stored is the one logged (no new signature)
    attestations = _layers(client, image, Kind.ATTESTATION)
    assert len(attestations) == 2
    assert attestations[0].data == attestations[1].data
    assert verify.verify_attestations(client, image, policy, options=LOGGED).attestations


def test_publish_attach_signature_with_a_bundle_verifies(
    registry: RegistryService, rekor: FakeRekor, rekor_client: RekorClient
) -> None:
    client, image, _ = _setup(registry, "tlog/publish")
    signer = key_signer()
    payload = signing.simple_signing.payload(image.name, image.digest or "")
    signature = signer.sign(payload)
    entry = rekor_client.log_signature(payload, signature, signer.public_key_pem())
    publish.attach_signature(client, image, payload, signature, bundle=entry.cosign_bundle())
    policy = _logged_policy(rekor, signer)
    assert verify.verify_signatures(client, image, policy, options=LOGGED).signatures


def test_layer_tlog_needs_a_log_choice(
    registry: RegistryService, rekor: FakeRekor, rekor_client: RekorClient
) -> None:
    client, image, run = _setup(registry, "tlog/choice")
    signer = key_signer()
    plain = chains.Config.from_data(
        {"artifacts.taskrun.storage": "oci", "artifacts.oci.storage": "oci"}
    )
    assert chains.sign_run(run, plain, registry=client, signer=signer).signed
    verifier = signing.verifier_from_pem(signer.public_key_pem())
    with pytest.raises(InputError) as caught:
        verify.verify_signatures(client, image, verify.Keys([verifier]), options=LOGGED)
    assert caught.value.field == "transparency_log"
    ignored = verify.Keys([verifier], transparency_log=verify.UNSAFE_IGNORE_TLOG)
    assert verify.verify_signatures(client, image, ignored, options=LOGGED).signatures
    # without layer_tlog, a trusted root does not ask key-signed layers for a log entry
    policy = _logged_policy(rekor, signer)
    assert verify.verify_signatures(client, image, policy).signatures
