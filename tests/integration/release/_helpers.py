"""Images for the release gate's end-to-end tests: built, signed and attested with our own
``provenance``, ``signing`` and ``publish`` on the local registry."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import oci, provenance, publish, signing
from konflux_supply.models.oci import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageIndex,
    ImageManifest,
    RawManifest,
)
from konflux_supply.publish import PublishOptions

REPO = Path(__file__).resolve().parents[3]
RUNS = REPO / "fixtures" / "provenance" / "runs"
LAYER = "application/vnd.oci.image.layer.v1.tar"
#: No settle interval: every writer of these tests shares this host.
FAST_PUBLISH = PublishOptions(policy=oci.AppendPolicy(settle=0.0))


def new_signer() -> signing.Signer:
    return signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))


def tar_layer(files: dict[str, bytes]) -> bytes:
    """An uncompressed tar archive of ``files``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def push_image(
    registry: oci.Registry,
    host: str,
    repository: str,
    tag: str,
    salt: str,
    *,
    labels: dict[str, str] | None = None,
    layer: bytes | None = None,
    annotations: dict[str, str] | None = None,
) -> str:
    """A small image (one layer, a config with labels); its ``host/repo@sha256:…``."""
    layer = layer if layer is not None else f"layer of {repository}:{tag} {salt}".encode()
    registry.put_blob(repository, layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"name": repository, "salt": salt, **(labels or {})}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()
    registry.put_blob(repository, config)
    manifest = RawManifest.of(
        ImageManifest(
            schema_version=2,
            media_type=OCI_MANIFEST,
            config=Descriptor.for_bytes(config, OCI_CONFIG),
            layers=[Descriptor.for_bytes(layer, LAYER)],
            annotations=annotations,
        )
    )
    registry.put_manifest(repository, tag, manifest)
    return f"{host}/{repository}@{manifest.digest}"


def provenance_for(image: str) -> bytes:
    """Chains-shaped SLSA v0.2 provenance from our generator, about ``image``."""
    run = yaml.safe_load((RUNS / "pipelinerun-build.yaml").read_text())
    children = [
        yaml.safe_load((RUNS / name).read_text())
        for name in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
    ]
    statement: dict[str, Any] = json.loads(
        provenance.generate(run, format="in-toto", children=children).to_json()
    )
    name, _, digest = image.partition("@")
    statement["subject"] = [{"name": name, "digest": {"sha256": digest.split(":", 1)[1]}}]
    return json.dumps(statement).encode()


def publish_image(
    registry: oci.Registry,
    host: str,
    repository: str,
    *,
    signer: signing.Signer,
    tag: str = "v1",
    salt: str = "",
    sign: bool = True,
    attest_with: signing.Signer | None = None,
    **image: Any,
) -> str:
    """Push, sign (``sign``) and attest (with ``attest_with``, default ``signer``); ``image``
    goes to :func:`push_image` (labels, layer, annotations)."""
    pushed = push_image(registry, host, repository, tag, salt or os.urandom(4).hex(), **image)
    return _sign_and_attest(registry, pushed, signer, sign=sign, attest_with=attest_with)


def _sign_and_attest(
    registry: oci.Registry,
    image: str,
    signer: signing.Signer,
    *,
    sign: bool,
    attest_with: signing.Signer | None,
) -> str:
    ref = oci.parse_reference(image)
    if sign:
        publish.sign_image(registry, ref, signer, options=FAST_PUBLISH)
    publish.attest_statement(
        registry, ref, provenance_for(image), attest_with or signer, options=FAST_PUBLISH
    )
    return image


def minimal_policy(public_pem: str, **source: Any) -> dict[str, Any]:
    """The @minimal example ECP with absolute paths and an inline key."""
    entry: dict[str, Any] = {
        "name": "release",
        "policy": [str(REPO / "policies" / "lib"), str(REPO / "policies" / "release")],
        "data": [str(REPO / "policies" / "examples" / "minimal" / "data")],
        "config": {"include": ["@minimal"]},
    }
    entry.update(source)
    return {"publicKey": public_pem, "sources": [entry]}


def publish_index(
    registry: oci.Registry, host: str, repository: str, *, signer: signing.Signer
) -> tuple[str, list[str]]:
    """An image index over two signed and attested images (amd64, and one without a
    platform), itself signed and attested; ``(index ref, [child refs])``."""
    children = [
        publish_image(registry, host, repository, signer=signer, tag=f"arch{n}") for n in range(2)
    ]
    descriptors = []
    for n, child in enumerate(children):
        digest = child.partition("@")[2]
        raw = registry.get_manifest(repository, digest)
        assert raw is not None
        platform = {"architecture": "amd64", "os": "linux"} if n == 0 else None
        descriptors.append(
            Descriptor(
                media_type=OCI_MANIFEST, size=len(raw.data), digest=digest, platform=platform
            )
        )
    index = RawManifest.of(
        ImageIndex(schema_version=2, media_type=OCI_INDEX, manifests=descriptors)
    )
    registry.put_manifest(repository, "multi", index)
    ref = f"{host}/{repository}@{index.digest}"
    _sign_and_attest(registry, ref, signer, sign=True, attest_with=None)
    return ref, children
