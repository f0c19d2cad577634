"""crane (go-containerregistry, the OCI library under cosign) reads every manifest we write."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.integration.conftest import RegistryService
from tests.interop._helpers import OURS_REGISTRY, OURS_WRITE, Crane, Result, ok

pytestmark = [pytest.mark.interop, pytest.mark.integration]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _check_image(crane: Crane, reference: str) -> dict[str, object]:
    """crane reads the manifest, its config and its layers; all digests and sizes hold."""
    raw = crane.run("manifest", reference).stdout
    manifest = json.loads(raw)
    assert isinstance(manifest, dict)
    assert crane.text("digest", reference).strip() == _sha256(raw)
    config = crane.run("config", reference).stdout
    assert _sha256(config) == manifest["config"]["digest"]
    assert len(config) == manifest["config"]["size"]
    repository = reference.split("@")[0] if "@" in reference else reference.rsplit(":", 1)[0]
    blobs = []
    for layer in manifest["layers"]:
        blob = crane.run("blob", f"{repository}@{layer['digest']}").stdout
        assert _sha256(blob) == layer["digest"]
        assert len(blob) == layer["size"]
        blobs.append(blob)
    if len(blobs) == 1:  # crane exports a one-layer artifact as the layer itself
        assert crane.run("export", reference, "-").stdout == blobs[0]
    return manifest


def test_crane_reads_our_signature_attestation_and_sbom_images(
    ours: Callable[..., Result],
    crane: Crane,
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    tmp_path: Path,
) -> None:
    ok(ours("generate-key-pair", "-o", str(tmp_path / "k")), "generate-key-pair")
    key = str(tmp_path / "k.key")
    image = new_image(registry, "crane-reads")
    predicate = tmp_path / "p.json"
    predicate.write_text('{"ok": true}')
    sbom = FIXTURES / "sbom" / "image.spdx.json"
    ok(ours("sign", "--key", key, "-a", "a=b", *OURS_WRITE, image), "sign")
    ok(ours("attest", "--key", key, "--predicate", str(predicate), *OURS_WRITE, image), "attest")
    ok(ours("attach", "sbom", "--sbom", str(sbom), *OURS_WRITE, image), "attach sbom")

    seen = {}
    for kind in ("signature", "attestation", "sbom"):
        tag = ok(ours("triangulate", "--type", kind, *OURS_REGISTRY, image), "").out.strip()
        seen[kind] = _check_image(crane, tag)
    assert len(seen["signature"]["layers"]) == 1  # type: ignore[arg-type]
    # a second signature: two layers, still read (crane cannot export non-tar layers it
    # would have to flatten, on cosign's images as on ours)
    ok(ours("sign", "--key", key, "-a", "a=c", *OURS_WRITE, image), "sign")
    tag = ok(ours("triangulate", *OURS_REGISTRY, image), "").out.strip()
    assert len(_check_image(crane, tag)["layers"]) == 2  # type: ignore[arg-type]
    repository = image.split("@")[0]
    tags = crane.text("ls", repository).split()
    digest_tag = image.split("@")[1].replace(":", "-")
    assert sorted(tags) == sorted(
        ["v1", f"{digest_tag}.sig", f"{digest_tag}.att", f"{digest_tag}.sbom"]
    )


def test_crane_reads_our_referrers_and_copies(
    ours: Callable[..., Result],
    crane: Crane,
    registry: RegistryService,
    referrers_registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    tmp_path: Path,
) -> None:
    ok(ours("generate-key-pair", "-o", str(tmp_path / "k")), "generate-key-pair")
    key = str(tmp_path / "k.key")
    mode = ("--registry-referrers-mode", "oci-1-1")
    for service in (registry, referrers_registry):
        image = new_image(service, "crane-referrers")
        ok(ours("sign", "--key", key, *mode, *OURS_WRITE, image), "sign")
        ok(
            ours("attach", "sbom", "--sbom", str(FIXTURES / "sbom" / "image-scan.cdx.json"),
                 *mode, *OURS_WRITE, image),
            "attach sbom",
        )  # fmt: skip
        repository, digest = image.split("@")
        if service is registry:  # distribution 2.8: the fallback tag is an index crane reads
            index = json.loads(
                crane.run("manifest", f"{repository}:{digest.replace(':', '-')}").stdout
            )
            listed = index["manifests"]
        else:
            host, name = repository.split("/", 1)
            with urllib.request.urlopen(f"http://{host}/v2/{name}/referrers/{digest}") as answer:
                listed = json.loads(answer.read())["manifests"]
        assert len(listed) == 2
        for descriptor in listed:
            manifest = _check_image(crane, f"{repository}@{descriptor['digest']}")
            assert manifest["subject"]["digest"] == digest  # type: ignore[index]

        # a copy made by us is read by crane like the original
        copy = service.ref("interop/crane-copied:v1")
        ok(ours("copy", *OURS_WRITE, image, copy), "copy")
        assert crane.text("digest", copy).strip() == digest
