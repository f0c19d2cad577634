"""chains.sign_run on an OCI layout (no sockets): honest status, annotations, idempotence."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konflux_supply import chains, oci, signing, verify
from konflux_supply.chains import Config
from konflux_supply.errors import InputError
from konflux_supply.oci import Kind, Registry
from konflux_supply.signing import dsse
from tests.unit.chains._helpers import (
    UID,
    decode,
    from_data,
    image_digest,
    key_signer,
    patched,
    push_image,
    push_named_image,
    task_run,
    write_cosign_secrets,
)

ANNOTATION = re.compile(
    r"chains\.tekton\.dev/(payload|signature|cert|chain)-"
    r"(taskrun-[0-9a-f-]+|pipelinerun-[0-9a-f-]+|[0-9a-f]{12})"
)
SIGNER = key_signer()
BOTH = {
    "artifacts.taskrun.storage": "oci,tekton",
    "artifacts.oci.storage": "oci,tekton",
}


@pytest.fixture
def layout(tmp_path: Path) -> Registry:
    """A layout holding the images the runs of these tests built (signing needs them)."""
    registry, _ = oci.open_registry(f"oci:{tmp_path / 'layout'}")
    for name in ["build-app", *(f"build-{index}" for index in range(8))]:
        push_named_image(registry, "registry.example/team/app", name)
    return registry


def _layers(registry: Registry, image: str, kind: Kind) -> int:
    found = oci.read_attachments(registry, oci.parse_reference(image), kind)
    return len(found.layers)


def test_default_config_stores_nothing_else(layout: Registry) -> None:
    outcome = chains.sign_run(task_run(), Config(), registry=layout, signer=key_signer())
    assert outcome.signed
    [provenance, image] = outcome.artifacts
    assert [s.backend for s in provenance.stores] == ["tekton"]
    assert [s.backend for s in image.stores] == ["oci"]
    assert not any(k.endswith(image_digest("build-app")[7:19]) for k in outcome.annotations)


def test_tekton_storage_annotations_verify(layout: Registry) -> None:
    signer = key_signer()
    run = task_run()
    config = from_data({"artifacts.oci.storage": "tekton,oci"})
    outcome = chains.sign_run(run, config, registry=layout, signer=signer)
    assert outcome.signed
    assert [a.state for a in outcome.artifacts] == ["stored", "stored"]
    patch = outcome.annotations_to_patch()
    assert patch["chains.tekton.dev/signed"] == "true"
    assert "chains.tekton.dev/retries" not in patch
    storage = {k: v for k, v in patch.items() if k.startswith("chains.tekton.dev/") and "-" in k}
    storage.pop("chains.tekton.dev/signed", None)
    assert storage
    assert all(ANNOTATION.fullmatch(key) for key in storage), sorted(storage)
    verifier = signing.verifier_from_pem(signer.public_key_pem())
    # the run's provenance: a DSSE envelope (Chains' keyid) over the base64 payload
    payload = decode(storage, f"chains.tekton.dev/payload-taskrun-{UID}")
    envelope = dsse.parse(decode(storage, f"chains.tekton.dev/signature-taskrun-{UID}"))
    assert dsse.verify(envelope, [verifier], payload_type="application/vnd.in-toto+json") == payload
    assert envelope.signatures[0].keyid == signing.keyid(signer)
    assert storage[f"chains.tekton.dev/cert-taskrun-{UID}"] == ""
    assert storage[f"chains.tekton.dev/chain-taskrun-{UID}"] == ""
    # the image: raw signature over the simple-signing payload, key = 12 hex of the digest
    short = image_digest("build-app").removeprefix("sha256:")[:12]
    image_payload = decode(storage, f"chains.tekton.dev/payload-{short}")
    verifier.verify(decode(storage, f"chains.tekton.dev/signature-{short}"), image_payload)
    assert signing.simple_signing.parse(image_payload).docker_reference == (
        "registry.example/team/app"
    )
    # default oci storage for images: the .sig is in the registry too
    image = f"registry.example/team/app@{image_digest('build-app')}"
    assert _layers(layout, image, Kind.SIGNATURE) == 1


def test_second_run_writes_nothing(layout: Registry) -> None:
    signer = key_signer()
    config = from_data(BOTH)
    run = task_run()
    first = chains.sign_run(run, config, registry=layout, signer=signer)
    assert first.signed
    assert first.written == 4
    again = chains.sign_run(patched(run, first), config, registry=layout, signer=signer)
    assert again.signed
    assert again.written == 0
    assert again.annotations_to_patch() == {"chains.tekton.dev/signed": "true"}
    image = f"registry.example/team/app@{image_digest('build-app')}"
    assert _layers(layout, image, Kind.SIGNATURE) == 1
    assert _layers(layout, image, Kind.ATTESTATION) == 1
    # same run without its annotations: the registry's copies are found and reused
    fresh = chains.sign_run(run, config, registry=layout, signer=signer)
    assert fresh.signed
    assert [s.written for a in fresh.artifacts for s in a.stores if s.backend == "oci"] == [
        False,
        False,
    ]
    assert _layers(layout, image, Kind.ATTESTATION) == 1
    policy = verify.Keys([signing.verifier_from_pem(signer.public_key_pem())])
    verified = verify.verify_attestations(layout, oci.parse_reference(image), policy)
    assert len(verified.attestations) == 1


def _never_true(outcome: chains.SignOutcome) -> dict[str, str | None]:
    assert not outcome.signed
    patch = outcome.annotations_to_patch()
    assert patch.get("chains.tekton.dev/signed") != "true"
    assert patch["konflux-supply.dev/sign-status"]
    return patch


def test_missing_signer_is_a_failure_not_a_success(layout: Registry, tmp_path: Path) -> None:
    signers = chains.Signers(secrets_dir=tmp_path / "empty")
    outcome = chains.sign_run(task_run(), Config(), registry=layout, signer=signers)
    assert {a.state for a in outcome.artifacts} == {"failed"}
    assert "no valid private key found" in (outcome.artifacts[0].cause or "")
    patch = _never_true(outcome)
    assert patch["chains.tekton.dev/retries"] == "0"


def test_kms_without_a_reference_fails(layout: Registry) -> None:
    config = from_data({"artifacts.taskrun.signer": "kms", "artifacts.oci.signer": "kms"})
    outcome = chains.sign_run(task_run(), config, registry=layout, signer=chains.Signers())
    assert "signers.kms.kmsref" in (outcome.artifacts[0].cause or "")
    _never_true(outcome)


def test_unknown_format_is_a_failure(layout: Registry) -> None:
    config = Config(taskrun=chains.ArtifactConfig("slsa/v2alpha2", frozenset({"tekton"})))
    outcome = chains.sign_run(task_run(), config, registry=layout, signer=key_signer())
    assert outcome.artifacts[0].summary() == "failed: unknown format 'slsa/v2alpha2'"
    _never_true(outcome)


def test_run_without_image_stored_in_oci_is_not_signed(layout: Registry) -> None:
    config = from_data({"artifacts.taskrun.storage": "oci"})
    outcome = chains.sign_run(task_run(image=None), config, registry=layout, signer=key_signer())
    first = outcome.artifacts[0]
    assert first.state == "failed"
    assert "no subject" in (first.cause or "")
    patch = _never_true(outcome)
    assert "taskrun/taskrun-" in str(patch["konflux-supply.dev/sign-status"])


def test_failed_runs_are_skipped_unless_configured(layout: Registry) -> None:
    run = task_run(succeeded="False")
    skipped = chains.sign_run(run, Config(), registry=layout, signer=key_signer())
    assert skipped.skipped_run == "run failed"
    assert skipped.artifacts == ()
    patch = _never_true(skipped)
    assert "skipped: run failed" in str(patch["konflux-supply.dev/sign-status"])
    assert "chains.tekton.dev/retries" not in patch
    config = from_data({"sign-failed-runs": "true"})
    signed = chains.sign_run(run, config, registry=layout, signer=key_signer())
    assert signed.signed
    assert signed.run_result == "failed"
    assert signed.to_json()["runResult"] == "failed"


def test_unfinished_run_is_skipped(layout: Registry) -> None:
    run = task_run(succeeded="Unknown")
    del run["status"]["completionTime"]
    outcome = chains.sign_run(run, Config(), registry=layout, signer=key_signer())
    assert outcome.skipped_run == "run is not finished"
    assert not outcome.signed


@pytest.mark.parametrize(
    ("previous", "signed", "retries"),
    [(None, None, "0"), ("0", None, "1"), ("2", None, "3"), ("3", "failed", None)],
)
def test_retries_counted_as_chains(
    layout: Registry, tmp_path: Path, previous: str | None, signed: str | None, retries: str | None
) -> None:
    annotations = {} if previous is None else {"chains.tekton.dev/retries": previous}
    run = task_run(annotations=annotations)
    outcome = chains.sign_run(
        run, Config(), registry=layout, signer=chains.Signers(secrets_dir=tmp_path)
    )
    patch = outcome.annotations_to_patch()
    assert patch.get("chains.tekton.dev/signed") == signed
    assert patch.get("chains.tekton.dev/retries") == retries


def test_status_annotation_removed_once_signed(layout: Registry) -> None:
    run = task_run(annotations={"konflux-supply.dev/sign-status": '{"x":"failed"}'})
    outcome = chains.sign_run(run, Config(), registry=layout, signer=key_signer())
    patch = outcome.annotations_to_patch()
    assert patch["chains.tekton.dev/signed"] == "true"
    assert patch["konflux-supply.dev/sign-status"] is None


def test_signers_are_built_once_and_shared_by_threads(layout: Registry, tmp_path: Path) -> None:
    public = write_cosign_secrets(tmp_path / "secrets")
    signers = chains.Signers(secrets_dir=tmp_path / "secrets")
    outcomes: list[chains.SignOutcome] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        run = task_run(name=f"build-{index}", uid=f"uid-{index}")
        outcome = chains.sign_run(run, Config(), registry=layout, signer=signers)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert signers.builds == 1
    assert len(outcomes) == 8
    assert all(o.signed for o in outcomes)
    verifier = signing.verifier_from_pem(public)
    for outcome in outcomes:
        envelope = outcome.artifacts[0].signature
        assert envelope is not None
        dsse.verify(envelope, [verifier])


def test_x509_pem_is_preferred(layout: Registry, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    secrets = tmp_path / "secrets"
    write_cosign_secrets(secrets)
    (secrets / "x509.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = chains.load_from_secrets(secrets)
    assert signer.public_key_pem() == signing.public_key_pem(key.public_key())


def test_cosign_key_without_password_file(tmp_path: Path) -> None:
    write_cosign_secrets(tmp_path)
    (tmp_path / "cosign.password").unlink()
    with pytest.raises(InputError, match=r"cosign\.password"):
        chains.load_from_secrets(tmp_path)


def test_sigstore_bundle_mode_writes_referrers(layout: Registry) -> None:
    signer = key_signer()
    config = from_data(
        {
            "artifacts.taskrun.storage": "oci",
            "storage.oci.encoding-format": "sigstore-bundle",
        }
    )
    digest = push_image(layout, "registry.example/team/app")
    run = task_run(digest=digest)
    image = oci.parse_reference(f"registry.example/team/app@{digest}")
    first = chains.sign_run(run, config, registry=layout, signer=signer)
    assert first.signed, first.to_json()
    assert _layers(layout, str(image), Kind.SIGNATURE) == 0
    assert len(oci.read_bundles(layout, image)) == 2
    policy = verify.Keys(
        [signing.verifier_from_pem(signer.public_key_pem())],
        transparency_log=verify.UNSAFE_IGNORE_TLOG,
    )
    options = verify.VerifyOptions(bundles=True)
    assert verify.verify_signatures(layout, image, policy, options=options).signatures
    assert verify.verify_attestations(layout, image, policy, options=options).attestations
    again = chains.sign_run(run, config, registry=layout, signer=signer)
    assert again.signed
    assert again.written == 0
    assert len(oci.read_bundles(layout, image)) == 2


def test_bad_input_raises_input_error() -> None:
    with pytest.raises(InputError):
        chains.sign_run([], Config())  # type: ignore[arg-type]
    with pytest.raises(InputError):
        chains.sign_run(task_run(), {})  # type: ignore[arg-type]


def test_our_status_annotation_does_not_change_the_provenance(layout: Registry) -> None:
    signer = key_signer()
    plain = chains.sign_run(task_run(), Config(), registry=layout, signer=signer)
    marked = task_run(annotations={"konflux-supply.dev/sign-status": '{"a":"failed: x"}'})
    again = chains.sign_run(marked, Config(), registry=layout, signer=signer)
    assert plain.artifacts[0].payload == again.artifacts[0].payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "kind": st.sampled_from(["TaskRun", "PipelineRun", "Pod"]) | json_values,
            "metadata": json_values,
            "spec": json_values,
            "status": st.fixed_dictionaries(
                {"conditions": st.just([{"type": "Succeeded", "status": "True"}])},
                optional={
                    "results": json_values,
                    "steps": json_values,
                    "completionTime": json_values,
                },
            )
            | json_values,
        },
    )
)
def test_any_run_gives_an_outcome_never_an_untyped_error(
    layout: Registry, run: dict[str, object]
) -> None:
    outcome = chains.sign_run(run, Config(), registry=layout, signer=SIGNER)
    assert isinstance(outcome.to_json(), dict)
    if outcome.signed:
        assert all(a.state in ("stored", "skipped") for a in outcome.artifacts)
