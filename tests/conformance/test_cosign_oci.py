"""Real cosign OCI artefacts (peer corpus, read-only): byte layout, registry round trips.

* ``public-trace/cosign-v1.13.1-dockerhub/`` — the ``.sig`` manifest, config and payload
  cosign v1.13.1 pushed (sigstore MANIFEST §3), pushed to the local registry and read back.
* ``cosign/pkg/cosign/testdata/oci-attestation.sigstore.json`` + ``derived/ggcr-empty-image``
  — a cosign v3 bundle and its subject image, stored as an OCI 1.1 referrer and read back.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from konflux_supply.models.oci import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Descriptor,
    digest_of,
    parse_manifest,
)
from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Layer,
    open_registry,
    parse_reference,
    read_attachments,
    read_bundles,
    triangulate,
)
from konflux_supply.oci.cosign import SIGNATURE_ANNOTATION, SIMPLE_SIGNING, build_signature_image
from konflux_supply.oci.referrers import SIGSTORE_BUNDLE_V03, push_referrer
from konflux_supply.signing import simple_signing
from konflux_supply.verify import VerifiedImage, VerifiedSignature
from tests.integration.conftest import (  # noqa: F401 - session fixtures used below
    RegistryService,
    referrers_registry,
    registry,
    require_binary,
)

pytestmark = pytest.mark.conformance

TRACE = "sigstore/public-trace/cosign-v1.13.1-dockerhub"
IMAGE_DIGEST = "sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d"


def _trace(peers: Path) -> dict[str, bytes]:
    folder = peers / TRACE
    return {
        name: (folder / f"{name}.json").read_bytes()
        for name in ("manifest", "config", "payload", "verify-output")
    }


def test_trace_bytes_parse_and_reproduce(peers: Path) -> None:
    trace = _trace(peers)
    manifest = parse_manifest(trace["manifest"], OCI_MANIFEST)
    assert (
        manifest.digest == "sha256:7ebe8964225fa4619b53aa35416ef0246c037e36ddf81776b21b15e1dda2262b"
    )
    assert manifest.manifest.to_bytes() == trace["manifest"]
    (layer,) = manifest.manifest.layers
    assert layer.media_type == SIMPLE_SIGNING
    assert layer.digest == digest_of(trace["payload"])
    assert manifest.manifest.config.digest == digest_of(trace["config"])
    # Our signature-image builder makes the same bytes from the same layer (and time).
    created = json.loads(trace["config"])["created"]
    rebuilt, config = build_signature_image([layer], created=created)
    assert config == trace["config"]
    assert rebuilt.data == trace["manifest"]
    # The payload is what simple-signing makes for the Docker Hub repository and digest.
    assert simple_signing.payload("chihjenhuang/cosign1", IMAGE_DIGEST) == trace["payload"]


def test_verify_output_matches_cosign(peers: Path) -> None:
    trace = _trace(peers)
    claims = simple_signing.parse(trace["payload"])
    layer = Descriptor.for_bytes(trace["payload"], SIMPLE_SIGNING)
    verified = VerifiedImage(
        parse_reference(f"chihjenhuang/cosign1@{IMAGE_DIGEST}"),
        signatures=(VerifiedSignature(trace["payload"], claims, layer, "tag"),),
    )
    assert verified.cosign_output() == trace["verify-output"]  # cosign adds a newline


def test_trace_image_round_trips_through_the_registry(
    peers: Path,
    registry: RegistryService,  # noqa: F811
) -> None:
    trace = _trace(peers)
    subject = parse_reference(registry.ref(f"chihjenhuang/cosign1@{IMAGE_DIGEST}"))
    client, _ = open_registry(str(subject), options=registry.options)
    tag = triangulate(subject, Kind.SIGNATURE)
    assert tag.tag == "sha256-4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d.sig"
    client.put_blob(subject.repository, trace["config"])
    client.put_blob(subject.repository, trace["payload"])
    client.put_manifest(
        subject.repository, tag.tag or "", parse_manifest(trace["manifest"], OCI_MANIFEST)
    )
    read = read_attachments(client, subject, Kind.SIGNATURE)
    assert read.manifest is not None
    assert read.manifest.data == trace["manifest"]
    (layer,) = read.layers
    assert layer.data == trace["payload"]
    assert layer.annotations[SIGNATURE_ANNOTATION].startswith("MEYCIQCPH7NJ")
    config = client.get_blob(subject.repository, read.manifest.manifest.config, limit=1024)
    assert config == trace["config"]
    raw = subprocess.run(
        [require_binary("skopeo"), "inspect", "--tls-verify=false", "--raw", f"docker://{tag}"],
        capture_output=True,
        check=True,
    ).stdout
    assert raw == trace["manifest"]


@pytest.mark.parametrize("service", ["registry", "referrers_registry"])
def test_cosign_v3_bundle_referrer_is_read(
    peers: Path, service: str, request: pytest.FixtureRequest
) -> None:
    target: RegistryService = request.getfixturevalue(service)
    empty = peers / "sigstore/derived/ggcr-empty-image"
    manifest_bytes = (empty / "manifest.json").read_bytes()
    image_manifest = parse_manifest(manifest_bytes, DOCKER_MANIFEST)
    bundle = (
        peers / "sigstore/cosign/pkg/cosign/testdata/oci-attestation.sigstore.json"
    ).read_bytes()
    client, _ = open_registry(target.ref("konflux/bundle:v1"), options=target.options)
    subject = parse_reference(target.ref(f"konflux/bundle@{image_manifest.digest}"))
    client.put_blob(subject.repository, (empty / "config.json").read_bytes())
    client.put_manifest(subject.repository, "v1", image_manifest)
    client.put_blob(subject.repository, bundle)
    referrer, config = build_signature_image(
        [Layer(SIGSTORE_BUNDLE_V03, bundle).descriptor()],
        config_media_type="application/vnd.oci.empty.v1+json",
        annotations={
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": "https://cosign.sigstore.dev/attestation/v1",
        },
        subject=Descriptor(
            media_type=DOCKER_MANIFEST, size=len(manifest_bytes), digest=image_manifest.digest
        ),
        artifact_type=SIGSTORE_BUNDLE_V03,
    )
    client.put_blob(subject.repository, config)
    push_referrer(client, subject, referrer, policy=AppendPolicy())
    (found,) = read_bundles(client, subject)
    assert found.error is None
    assert found.data == bundle
    assert found.bundle is not None
    assert found.bundle["mediaType"] == SIGSTORE_BUNDLE_V03
    assert found.predicate_type == "https://cosign.sigstore.dev/attestation/v1"
