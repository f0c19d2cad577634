"""The OCI layout registry, and referrers (API and fallback tag) on layouts and in memory."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import OCI_INDEX, OCI_MANIFEST, Descriptor, digest_of
from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Layer,
    Limits,
    Reference,
    RegistryPool,
    ThreadLocks,
    list_referrers,
    open_registry,
    read_bundles,
    read_referrer_images,
)
from konflux_supply.oci._layout import REF_NAME, LayoutRegistry
from konflux_supply.oci.cosign import SIGNATURE_ANNOTATION, SIMPLE_SIGNING, build_signature_image
from konflux_supply.oci.referrers import (
    SIGSTORE_BUNDLE_V03,
    attach_referrer,
    bundle_version,
    fallback_tag,
    push_referrer,
)
from tests.unit.oci.memory import MemoryRegistry

POLICY = AppendPolicy(lock=ThreadLocks())


def image(registry: LayoutRegistry | MemoryRegistry, tag: str, content: bytes) -> Reference:
    layer = Layer("application/vnd.oci.image.layer.v1.tar", content)
    registry.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    registry.put_blob("", config)
    registry.put_manifest("", tag, manifest)
    return Reference("", "x", tag=tag, digest=manifest.digest)


def test_layout_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "layout"
    registry, ref = open_registry(f"oci:{path}:v1")
    assert isinstance(registry, LayoutRegistry)
    assert ref.tag == "v1"
    assert registry.get_manifest("", "v1") is None
    subject = image(registry, "v1", b"content")  # type: ignore[arg-type]
    assert json.loads((path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((path / "index.json").read_text())
    assert index["mediaType"] == OCI_INDEX
    assert index["manifests"][0]["annotations"] == {REF_NAME: "v1"}
    got = registry.get_manifest("", "v1")
    assert got is not None
    assert got.digest == subject.digest
    assert registry.get_manifest("", subject.digest or "") == got
    assert registry.get_manifest("", "") == got  # the only manifest
    assert registry.list_tags("") == ["v1"]
    head = registry.head_manifest("", "v1")
    assert head is not None
    assert head.media_type == OCI_MANIFEST
    image(registry, "v1", b"replaced")  # type: ignore[arg-type]
    assert len(json.loads((path / "index.json").read_text())["manifests"]) == 1
    image(registry, "v2", b"second")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="holds 2 manifests"):
        registry.get_manifest("", "")
    registry.delete_manifest("", subject.digest or "")
    assert not list(path.glob(".*.tmp"))


def test_layout_detects_corruption_and_bad_paths(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")
    ref = image(registry, "v1", b"content")
    manifest = registry.get_manifest("", "v1")
    assert manifest is not None
    layer = manifest.manifest.layers[0]
    blob = tmp_path / "layout" / "blobs" / "sha256" / layer.digest.split(":")[1]
    blob.write_bytes(b"tampered")
    with pytest.raises(RegistryError, match="corrupt"):
        registry.get_blob("", layer, limit=1000)
    with pytest.raises(RegistryError, match="corrupt"):
        list(registry.iter_blob("", layer))
    manifest_blob = tmp_path / "layout" / "blobs" / "sha256" / (ref.digest or "").split(":")[1]
    manifest_blob.write_bytes(manifest_blob.read_bytes() + b" ")
    with pytest.raises(RegistryError, match="corrupt"):
        registry.get_manifest("", "v1")
    (tmp_path / "notdir").write_text("x")
    with pytest.raises(InputError):
        LayoutRegistry(tmp_path / "notdir").get_manifest("", "v1")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file").write_text("x")
    with pytest.raises(InputError, match="not an OCI image layout"):
        LayoutRegistry(tmp_path / "other").list_tags("")
    with pytest.raises(InputError, match="does not match"):
        registry.put_blob("", b"abc", digest="sha256:" + "0" * 64)


def test_layout_upload_leaves_nothing_behind_on_a_bad_source(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")
    digest = digest_of(b"expected")
    with pytest.raises(RegistryError):
        registry.upload("", digest, 8, lambda: [b"unexpect"])
    assert not registry.has_blob("", digest)
    assert not list((tmp_path / "layout" / "blobs" / "sha256").iterdir())
    registry.upload("", digest, 8, lambda: [b"expe", b"cted"])
    assert registry.has_blob("", digest)


def _layout_writer(path: str, worker: int, count: int) -> None:
    registry = LayoutRegistry(path)
    for n in range(count):
        image(registry, f"w{worker}-{n}", f"{worker}-{n}".encode())


def test_concurrent_layout_writers_in_processes_and_threads(tmp_path: Path) -> None:
    path = str(tmp_path / "layout")
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_layout_writer, args=(path, w, 10)) for w in range(3)]
    threads = [threading.Thread(target=_layout_writer, args=(path, 10 + w, 10)) for w in range(3)]
    for worker in (*processes, *threads):
        worker.start()
    for worker in (*processes, *threads):
        worker.join()
    assert all(p.exitcode == 0 for p in processes)
    assert len(LayoutRegistry(path).list_tags("")) == 60


def test_referrers_through_the_fallback_tag() -> None:
    registry = MemoryRegistry()
    subject = image(registry, "v1", b"content")
    descriptor = registry.head_manifest("", "v1")
    assert descriptor is not None
    for n in range(3):
        attach_referrer(
            registry,
            subject,
            descriptor,
            Kind.SIGNATURE,
            Layer(SIMPLE_SIGNING, f"payload{n}".encode(), {SIGNATURE_ANNOTATION: f"s{n}"}),
            policy=POLICY,
            annotations={"n": str(n)},
        )
    fallback = registry.get_manifest("", fallback_tag(subject.digest or ""))
    assert fallback is not None
    assert fallback.media_type == OCI_INDEX
    digests = [d.digest for d in fallback.index.manifests]
    assert digests == sorted(digests)
    assert len(digests) == 3
    assert {d.annotations["n"] for d in fallback.index.manifests if d.annotations} == {
        "0",
        "1",
        "2",
    }
    listing = list_referrers(registry, subject)
    assert listing.source == "tag"
    assert len(listing.descriptors) == 3
    images = read_referrer_images(registry, subject, Kind.SIGNATURE)
    assert sorted(i.layers[0].data for i in images) == [b"payload0", b"payload1", b"payload2"]
    assert read_referrer_images(registry, subject, Kind.ATTESTATION) == []


def test_referrers_api_needs_no_fallback_tag() -> None:
    registry = MemoryRegistry(referrers_api=True)
    subject = image(registry, "v1", b"content")
    descriptor = registry.head_manifest("", "v1")
    assert descriptor is not None
    attach_referrer(
        registry,
        subject,
        descriptor,
        Kind.ATTESTATION,
        Layer("application/vnd.dsse.envelope.v1+json", b"{}"),
        policy=POLICY,
    )
    assert registry.get_manifest("", fallback_tag(subject.digest or "")) is None
    listing = list_referrers(registry, subject)
    assert listing.source == "api"
    assert len(listing.descriptors) == 1
    assert len(read_referrer_images(registry, subject, Kind.ATTESTATION)) == 1


def test_layout_referrers_are_found_by_scanning(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")
    subject = image(registry, "v1", b"content")
    descriptor = registry.head_manifest("", "v1")
    assert descriptor is not None
    attach_referrer(
        registry, subject, descriptor, Kind.SBOM, Layer("text/spdx", b"sbom"), policy=POLICY
    )
    listing = list_referrers(registry, subject)
    assert listing.source == "api"
    assert len(listing.descriptors) == 1
    assert (
        listing.descriptors[0].artifact_type == "application/vnd.dev.cosign.artifact.sbom.v1+json"
    )
    assert registry.list_tags("") == ["v1"]  # the referrer is listed untagged


def _bundle_referrer(
    registry: MemoryRegistry,
    subject: Reference,
    descriptor: Descriptor,
    *,
    layer_type: str = SIGSTORE_BUNDLE_V03,
    bundle: bytes | None = None,
    extra_layer: bool = False,
) -> None:
    data = bundle or json.dumps({"mediaType": SIGSTORE_BUNDLE_V03, "dsseEnvelope": {}}).encode()
    layer = Layer(layer_type, data)
    registry.put_blob("", data)
    layers = [layer.descriptor()]
    if extra_layer:
        layers.append(Layer("x/y", b"z").descriptor())
        registry.put_blob("", b"z")
    manifest, config = build_signature_image(
        layers,
        config_media_type="application/vnd.oci.empty.v1+json",
        annotations={"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
        subject=Descriptor(
            media_type=descriptor.media_type, size=descriptor.size, digest=descriptor.digest
        ),
        artifact_type=SIGSTORE_BUNDLE_V03,
    )
    registry.put_blob("", config)
    push_referrer(registry, subject, manifest, policy=POLICY)


def test_bundles_are_read_and_checked() -> None:
    registry = MemoryRegistry(referrers_api=True)
    subject = image(registry, "v1", b"content")
    descriptor = registry.head_manifest("", "v1")
    assert descriptor is not None
    _bundle_referrer(registry, subject, descriptor)
    _bundle_referrer(
        registry,
        subject,
        descriptor,
        layer_type="application/vnd.dev.sigstore.bundle+json;version=0.2",
        bundle=b'{"mediaType":"x"}',
    )
    _bundle_referrer(registry, subject, descriptor, bundle=b"not json")
    _bundle_referrer(registry, subject, descriptor, extra_layer=True)
    bundles = read_bundles(registry, subject)
    good = [b for b in bundles if b.error is None]
    assert len(good) == 1
    assert good[0].bundle is not None
    assert good[0].predicate_type == "https://sigstore.dev/cosign/sign/v1"
    messages = sorted(str(b.error) for b in bundles if b.error)
    assert any("older than v0.3" in m for m in messages)
    assert any("not JSON" in m for m in messages)
    assert any("exactly one layer" in m for m in messages)


@pytest.mark.parametrize(
    ("media_type", "version"),
    [
        ("application/vnd.dev.sigstore.bundle.v0.3+json", (0, 3)),
        ("application/vnd.dev.sigstore.bundle+json;version=0.1", (0, 1)),
        ("application/vnd.dev.sigstore.bundle+json; version=0.2", (0, 2)),
        ("application/vnd.dev.sigstore.bundle.v1.0+json", (1, 0)),
        ("application/json", None),
    ],
)
def test_bundle_versions(media_type: str, version: tuple[int, int] | None) -> None:
    assert bundle_version(media_type) == version


def test_push_referrer_requires_a_matching_subject() -> None:
    registry = MemoryRegistry()
    subject = image(registry, "v1", b"content")
    manifest, _ = build_signature_image([])
    with pytest.raises(InputError, match="subject"):
        push_referrer(registry, subject, manifest, policy=POLICY)


def test_referrer_limits() -> None:
    registry = MemoryRegistry(referrers_api=True)
    subject = image(registry, "v1", b"content")
    descriptor = registry.head_manifest("", "v1")
    assert descriptor is not None
    for n in range(3):
        attach_referrer(
            registry,
            subject,
            descriptor,
            Kind.SIGNATURE,
            Layer(SIMPLE_SIGNING, bytes([n])),
            policy=POLICY,
        )
    registry.limits = Limits(max_referrers=2)
    with pytest.raises(RegistryError, match="more than 2 referrers"):
        list_referrers(registry, subject)


def test_pool_shares_registries(tmp_path: Path) -> None:
    with RegistryPool() as pool:
        a, _ = pool.open("quay.io/a/b:v1")
        b, _ = pool.open("quay.io/c:v2")
        c, _ = pool.open("ghcr.io/c:v2")
        d, _ = pool.open(f"oci:{tmp_path}:v1")
        assert a is b
        assert a is not c
        assert d is not a
