"""cosign's tag layout on an in-memory registry and on an OCI layout directory."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST, Descriptor
from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Layer,
    Limits,
    Reference,
    RegistryOptions,
    SizeLimitExceeded,
    ThreadLocks,
    append_layer,
    read_attachments,
    triangulate,
)
from konflux_supply.oci._layout import LayoutRegistry
from konflux_supply.oci.append import append_to_tag
from konflux_supply.oci.cosign import (
    DSSE_ENVELOPE,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    build_signature_image,
    write_sbom,
)
from tests.unit.oci.memory import MemoryRegistry

DIGEST = "sha256:" + "ab" * 32
SUBJECT = Reference("registry.example", "ns/app", tag="v1", digest=DIGEST)
POLICY = AppendPolicy(lock=ThreadLocks())


def sig_layer(n: int) -> Layer:
    payload = json.dumps({"n": n}).encode()
    return Layer(SIMPLE_SIGNING, payload, {SIGNATURE_ANNOTATION: f"sig{n}"})


def test_triangulate() -> None:
    hexpart = "ab" * 32
    assert (
        str(triangulate(SUBJECT, Kind.SIGNATURE)) == f"registry.example/ns/app:sha256-{hexpart}.sig"
    )
    assert triangulate(SUBJECT, Kind.ATTESTATION).tag == f"sha256-{hexpart}.att"
    assert triangulate(SUBJECT, Kind.SBOM).tag == f"sha256-{hexpart}.sbom"
    other = Reference("mirror.example", "sigs", tag="latest")
    moved = triangulate(SUBJECT, Kind.SIGNATURE, repository=other)
    assert moved.registry == "mirror.example"
    assert moved.repository == "sigs"
    with pytest.raises(InputError, match="resolve it first"):
        triangulate(Reference("r.io", "a", tag="v1"), Kind.SIGNATURE)
    assert Kind.parse("signature") is Kind.SIGNATURE
    assert Kind.parse("att") is Kind.ATTESTATION
    with pytest.raises(InputError):
        Kind.parse("digest-ish")


def test_signature_image_shape() -> None:
    layer = sig_layer(1).descriptor()
    manifest, config = build_signature_image([layer])
    assert config == (
        b'{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":'
        b'"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["'
        + layer.digest.encode()
        + b'"]},"config":{}}'
    )
    doc = manifest.manifest
    assert manifest.media_type == OCI_MANIFEST
    assert doc.config.media_type == OCI_CONFIG
    assert manifest.data.startswith(b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode())
    docker, _ = build_signature_image([layer], docker_media_types=True)
    assert docker.media_type == DOCKER_MANIFEST


def test_append_read_and_dedupe_on_memory_registry() -> None:
    registry = MemoryRegistry()
    for n in range(3):
        outcome = append_layer(registry, SUBJECT, Kind.SIGNATURE, sig_layer(n), policy=POLICY)
        assert outcome.written
    again = append_layer(registry, SUBJECT, Kind.SIGNATURE, sig_layer(1), policy=POLICY)
    assert not again.written
    read = read_attachments(registry, SUBJECT, Kind.SIGNATURE)
    assert read.exists
    assert [layer.data for layer in read.layers] == [sig_layer(n).data for n in range(3)]
    assert [layer.annotations[SIGNATURE_ANNOTATION] for layer in read.layers] == [
        "sig0",
        "sig1",
        "sig2",
    ]
    config = json.loads(registry.blobs[read.manifest.manifest.config.digest])  # type: ignore[union-attr]
    assert len(config["rootfs"]["diff_ids"]) == 3
    assert len(config["history"]) == 3
    same_payload = Layer(SIMPLE_SIGNING, sig_layer(0).data, {SIGNATURE_ANNOTATION: "other"})
    custom = append_layer(
        registry,
        SUBJECT,
        Kind.SIGNATURE,
        same_payload,
        policy=POLICY,
        duplicate=lambda existing: existing.digest == same_payload.descriptor().digest,
    )
    assert not custom.written


def test_missing_tag_reads_as_empty_and_other_errors_raise() -> None:
    registry = MemoryRegistry()
    read = read_attachments(registry, SUBJECT, Kind.ATTESTATION)
    assert not read.exists
    assert read.layers == ()


def test_read_skips_unexpected_media_types_and_checks_limits(tmp_path: Path) -> None:
    registry = MemoryRegistry()
    append_layer(registry, SUBJECT, Kind.ATTESTATION, Layer(DSSE_ENVELOPE, b"{}"), policy=POLICY)
    stray = Layer("application/octet-stream", b"x" * 10)
    manifest, config = build_signature_image(
        [Layer(DSSE_ENVELOPE, b"{}").descriptor(), stray.descriptor()]
    )
    registry.put_blob("", config)
    registry.put_manifest("", triangulate(SUBJECT, Kind.ATTESTATION).tag or "", manifest)
    read = read_attachments(registry, SUBJECT, Kind.ATTESTATION)
    assert len(read.layers) == 1
    assert [d.media_type for d in read.skipped] == ["application/octet-stream"]
    registry.limits = Limits(max_layers=1)
    with pytest.raises(SizeLimitExceeded, match="more than the limit of 1"):
        read_attachments(registry, SUBJECT, Kind.ATTESTATION)


def test_oversized_layer_is_an_error_on_that_layer_only(tmp_path: Path) -> None:
    caps = RegistryOptions(limits=Limits(max_attachment_bytes=1000))
    registry = LayoutRegistry(tmp_path / "layout", caps)
    append_layer(registry, SUBJECT, Kind.SIGNATURE, sig_layer(1), policy=POLICY)
    big = Layer(SIMPLE_SIGNING, b"y" * 5000, {SIGNATURE_ANNOTATION: "x"})
    append_layer(registry, SUBJECT, Kind.SIGNATURE, big, policy=POLICY)
    read = read_attachments(registry, SUBJECT, Kind.SIGNATURE)
    assert read.layers[0].data is not None
    assert read.layers[0].error is None
    assert read.layers[1].data is None
    assert isinstance(read.layers[1].error, SizeLimitExceeded)


def test_sbom_is_replaced_not_appended(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")
    write_sbom(registry, SUBJECT, Layer("application/vnd.cyclonedx+json", b'{"a":1}'))
    write_sbom(registry, SUBJECT, Layer("application/vnd.cyclonedx+json", b'{"a":2}'))
    read = read_attachments(registry, SUBJECT, Kind.SBOM)
    assert [layer.data for layer in read.layers] == [b'{"a":2}']
    assert read.layers[0].descriptor.annotations is None
    with pytest.raises(InputError):
        append_layer(registry, SUBJECT, Kind.SBOM, sig_layer(1), policy=POLICY)


def test_index_on_the_sig_tag_is_rejected() -> None:
    registry = MemoryRegistry()
    from konflux_supply.models.oci import ImageIndex, RawManifest

    index = RawManifest.of(ImageIndex(schema_version=2, manifests=[]))
    registry.put_manifest("", triangulate(SUBJECT, Kind.SIGNATURE).tag or "", index)
    with pytest.raises(RegistryError, match="image index"):
        read_attachments(registry, SUBJECT, Kind.SIGNATURE)
    with pytest.raises(RegistryError, match="image index"):
        append_layer(registry, SUBJECT, Kind.SIGNATURE, sig_layer(1), policy=POLICY)


def _hammer(registry: MemoryRegistry, policy: AppendPolicy, writers: int) -> int:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            append_layer(registry, SUBJECT, Kind.SIGNATURE, sig_layer(n), policy=policy)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    read = read_attachments(registry, SUBJECT, Kind.SIGNATURE)
    return len({layer.descriptor.digest for layer in read.layers})


def test_writers_sharing_a_lock_lose_nothing() -> None:
    registry = MemoryRegistry(latency=0.002)
    assert _hammer(registry, AppendPolicy(lock=ThreadLocks()), 30) == 30


def test_lockless_writers_converge_with_a_settle_interval() -> None:
    registry = MemoryRegistry(latency=0.002)
    assert _hammer(registry, AppendPolicy(lock=None, settle=0.1, max_wait=60), 12) == 12


def test_append_gives_up_with_a_clear_error() -> None:
    class Forgetful(MemoryRegistry):
        def put_manifest(self, repository, reference, manifest, *, retry=True):  # type: ignore[no-untyped-def]
            return super().put_manifest(repository, "elsewhere", manifest)

    clock = iter(range(0, 10_000, 10))
    with pytest.raises(RegistryError, match="could not make an append"):
        append_to_tag(
            Forgetful(),
            "r",
            "t",
            build=lambda current: build_signature_image([sig_layer(1).descriptor()])[0],
            present=lambda current: current is not None,
            policy=AppendPolicy(max_wait=100),
            clock=lambda: float(next(clock)),
            sleep=lambda _: None,
        )


def test_layout_descriptor_validation(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "l")
    with pytest.raises(InputError):
        registry.get_blob(
            "",
            Descriptor(media_type="m", size=1, digest="sha256:" + "0" * 64).model_copy(
                update={"digest": "../../etc"}
            ),
            limit=10,
        )
