"""copy_image between layouts and in-memory registries: trees, attachments, referrers, merges."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import signing
from konflux_supply.models.oci import OCI_INDEX, ImageIndex, RawManifest
from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Layer,
    Reference,
    ThreadLocks,
    copy_image,
    list_referrers,
    read_attachments,
)
from konflux_supply.oci._layout import LayoutRegistry
from konflux_supply.oci.append import append_to_tag
from konflux_supply.oci.cosign import build_signature_image
from konflux_supply.publish import PublishOptions, attest_image, sign_image
from konflux_supply.verify import (
    AllOf,
    Keys,
    PredicateType,
    VerifyOptions,
    verify_attestations,
    verify_signatures,
)
from tests.unit.oci.memory import MemoryRegistry

POLICY = AppendPolicy(lock=ThreadLocks())
KEY = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
PUB = signing.verifier_from_pem(KEY.public_key_pem())


def _image(registry: LayoutRegistry | MemoryRegistry, content: bytes) -> RawManifest:
    layer = Layer("application/vnd.oci.image.layer.v1.tar", content)
    registry.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    registry.put_blob("", config)
    registry.put_manifest("", manifest.digest, manifest)
    return manifest


def test_index_with_children_attachments_and_referrers(tmp_path: Path) -> None:
    src = LayoutRegistry(tmp_path / "src")
    children = [_image(src, b"amd64"), _image(src, b"arm64")]
    index = RawManifest.of(
        ImageIndex(
            schema_version=2,
            media_type=OCI_INDEX,
            manifests=[child.descriptor() for child in children],
        )
    )
    src.put_manifest("", "v1", index)
    top = Reference("", str(tmp_path / "src"), tag="v1", digest=index.digest, layout=True)
    identity = "registry.example/team/app"
    sign_image(src, top, KEY, options=PublishOptions(policy=POLICY), identity=identity)
    child_ref = top.with_digest(children[0].digest)
    sign_image(src, child_ref, KEY, options=PublishOptions(policy=POLICY), identity=identity)
    attest_image(src, top, KEY, b"hello", options=PublishOptions(policy=POLICY))
    sign_image(
        src,
        top,
        KEY,
        options=PublishOptions(policy=POLICY, referrers=True),
        identity=identity,
        annotations={"r": "1"},
    )

    dst = MemoryRegistry()
    outcome = copy_image(src, top, dst, Reference("registry.example", "team/app"), policy=POLICY)
    assert outcome.destination.tag == "v1"
    assert outcome.destination.digest == index.digest
    assert dst.tags["v1"] == index.digest
    assert {children[0].digest, children[1].digest, index.digest} <= set(outcome.manifests)
    pinned = Reference("registry.example", "team/app", digest=index.digest)
    tags_only = VerifyOptions(referrers=False)
    assert len(verify_signatures(dst, pinned, [PUB], options=tags_only).signatures) == 1
    assert (
        len(verify_signatures(dst, pinned.with_digest(children[0].digest), [PUB]).signatures) == 1
    )
    assert (
        len(
            verify_attestations(
                dst, pinned, AllOf(Keys([PUB]), PredicateType("custom"))
            ).attestations
        )
        == 1
    )
    assert len(list_referrers(dst, pinned).descriptors) == 1
    refs = verify_signatures(dst, pinned, [PUB])  # referrers are read by default
    assert len(refs.signatures) == 2


def test_copy_merges_into_existing_attachments(tmp_path: Path) -> None:
    src = MemoryRegistry()
    manifest = _image(src, b"content")
    ref = Reference("r.example", "a", digest=manifest.digest)
    sign_image(src, ref, KEY, options=PublishOptions(policy=POLICY), annotations={"from": "src"})
    dst = LayoutRegistry(tmp_path / "dst")
    copy_image(src, ref, dst, Reference("", str(tmp_path / "dst"), layout=True), policy=POLICY)
    dst_ref = Reference("", str(tmp_path / "dst"), digest=manifest.digest, layout=True)
    sign_image(
        dst,
        dst_ref,
        KEY,
        options=PublishOptions(policy=POLICY),
        identity="r.example/a",
        annotations={"from": "dst"},
    )
    sign_image(src, ref, KEY, options=PublishOptions(policy=POLICY), annotations={"from": "src2"})
    copy_image(src, ref, dst, Reference("", str(tmp_path / "dst"), layout=True), policy=POLICY)
    read = read_attachments(dst, dst_ref, Kind.SIGNATURE)
    assert len(read.layers) == 3  # src, dst, src2: nothing lost, nothing doubled
    assert dst.list_tags("") == [f"sha256-{manifest.digest.split(':')[1]}.sig"]


class RecordingLease:
    """A stand-in for a Kubernetes Lease: any object with ``hold(key, timeout)``."""

    def __init__(self) -> None:
        self.held: list[str] = []

    @contextlib.contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[None]:
        self.held.append(key)
        yield


def test_pluggable_lock() -> None:
    registry = MemoryRegistry()
    lease = RecordingLease()
    manifest, _ = build_signature_image([])
    append_to_tag(
        registry,
        "repo",
        "tag",
        build=lambda current: manifest,
        present=lambda current: current is not None,
        policy=AppendPolicy(lock=lease),
    )
    assert lease.held == ["memory/repo:tag"]
