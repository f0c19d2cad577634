"""cosign's storage layout: ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` tags.

The signature image is what cosign builds from go-containerregistry's empty image
(reference/cosign.md §2.2): an OCI manifest (or Docker v2s2 with ``docker_media_types``),
config ``{"architecture":"","created":…,"history":[…],"os":"","rootfs":{…},"config":{}}`` with
one ``diff_ids``/``history`` entry per layer, one layer per signature or attestation.
``.sig`` layers are simple-signing payloads with the base64 signature in the
``dev.cosignproject.cosign/signature`` annotation; ``.att`` layers are DSSE envelopes with an
empty signature annotation and (as the cosign CLI writes) a ``predicateType`` annotation;
``.sbom`` is a single-layer image that is replaced, not appended to.

Reading checks the layer count and each layer's size before fetching anything, fetches only
layers of the expected media types, and keeps a per-layer error instead of a verdict: the
caller decides (an error is never "unsigned").
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from konflux_supply.errors import InputError, KonfluxSupplyError, RegistryError
from konflux_supply.models.canonical import dumps_go
from konflux_supply.models.oci import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_MANIFEST,
    Descriptor,
    ImageManifest,
    RawManifest,
    digest_of,
)
from konflux_supply.oci.append import AppendOutcome, AppendPolicy, append_to_tag
from konflux_supply.oci.reference import Reference
from konflux_supply.oci.registry import Registry, SizeLimitExceeded

__all__ = [
    "BUNDLE_ANNOTATION",
    "CERTIFICATE_ANNOTATION",
    "CHAIN_ANNOTATION",
    "DSSE_ENVELOPE",
    "PREDICATE_TYPE_ANNOTATION",
    "RFC3161_ANNOTATION",
    "SBOM_MEDIA_TYPES",
    "SIGNATURE_ANNOTATION",
    "SIMPLE_SIGNING",
    "ZERO_TIME",
    "AttachedLayer",
    "Attachments",
    "Kind",
    "Layer",
    "append_layer",
    "build_signature_image",
    "read_attachments",
    "resolve",
    "triangulate",
    "write_sbom",
]

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
RFC3161_ANNOTATION = "dev.sigstore.cosign/rfc3161timestamp"
PREDICATE_TYPE_ANNOTATION = "predicateType"
ZERO_TIME = "0001-01-01T00:00:00Z"
#: ``cosign attach sbom --type … --input-format …`` media types.
SBOM_MEDIA_TYPES = {
    ("spdx", "text"): "text/spdx",
    ("spdx", "json"): "text/spdx+json",
    ("cyclonedx", "xml"): "application/vnd.cyclonedx+xml",
    ("cyclonedx", "json"): "application/vnd.cyclonedx+json",
    ("syft", "json"): "application/vnd.syft+json",
}


class Kind(enum.Enum):
    """Which attachment: the tag suffix and the layer media types expected there."""

    SIGNATURE = "sig"
    ATTESTATION = "att"
    SBOM = "sbom"

    @property
    def layer_media_types(self) -> frozenset[str] | None:
        """Media types fetched for this kind (``None``: any)."""
        if self is Kind.SIGNATURE:
            return frozenset({SIMPLE_SIGNING})
        if self is Kind.ATTESTATION:
            return frozenset({DSSE_ENVELOPE})
        return None

    @classmethod
    def parse(cls, text: str) -> Kind:
        """``signature``/``sig``, ``attestation``/``att``, ``sbom``."""
        names = {"signature": cls.SIGNATURE, "attestation": cls.ATTESTATION}
        try:
            return names.get(text) or cls(text)
        except ValueError:
            raise InputError(
                f"unknown attachment type {text!r} (signature, attestation, sbom)", field="type"
            ) from None


def triangulate(
    subject: Reference, kind: Kind, *, repository: Reference | None = None
) -> Reference:
    """The tag cosign uses for ``kind`` of ``subject`` (which must carry a digest).

    ``repository`` relocates it (cosign's ``COSIGN_REPOSITORY``).
    """
    if not subject.digest:
        raise InputError(f"{subject} has no digest: resolve it first", field="image")
    algorithm, hexpart = subject.digest.split(":", 1)
    base = repository or subject
    return base.with_tag(f"{algorithm}-{hexpart}.{kind.value}")


def _stored_at(subject: Reference, kind: Kind, repository: Reference | None) -> Reference:
    """:func:`triangulate`, for reading or writing through ``subject``'s registry client.

    An override on another registry (or a layout) would be read or written at the same
    repository path on the image's registry: refused instead of misplaced.
    """
    if repository is not None and (
        repository.registry != subject.registry or repository.layout != subject.layout
    ):
        raise InputError(
            f"the attachment repository {repository.name} is on another registry than "
            f"{subject.name}: not supported",
            field="repository",
            hint="use a COSIGN_REPOSITORY on the image's registry",
        )
    return triangulate(subject, kind, repository=repository)


def resolve(registry: Registry, reference: Reference) -> tuple[Reference, RawManifest]:
    """Resolve a tag to a digest once (GET, digest-checked); the manifest comes along.

    A reference by digest is fetched too: signing, attesting or verifying an image the
    registry does not hold must never look like success. :class:`InputError` if the image
    does not exist (a wrong reference is the caller's), naming a layout directory that is
    not there.
    """
    identifier = reference.digest or reference.tag or ""
    manifest = registry.get_manifest(reference.repository, identifier)
    if manifest is None:
        if reference.layout and not os.path.isdir(reference.repository):
            raise InputError(
                f"image not found: {reference} (no directory {reference.repository})",
                field="image",
            )
        raise InputError(f"image not found: {reference}", field="image")
    return reference.with_digest(manifest.digest), manifest


@dataclass(frozen=True)
class Layer:
    """A layer to attach: media type, exact bytes, annotations."""

    media_type: str
    data: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    def descriptor(self) -> Descriptor:
        return Descriptor.for_bytes(self.data, self.media_type, annotations=dict(self.annotations))


@dataclass(frozen=True)
class AttachedLayer:
    """One layer read from an attachment image: its descriptor and bytes, or why not."""

    descriptor: Descriptor
    data: bytes | None
    error: KonfluxSupplyError | None = None

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.descriptor.annotations or {}

    @classmethod
    def fetch(
        cls, registry: Registry, repository: str, descriptor: Descriptor, limit: int
    ) -> AttachedLayer:
        """The layer's bytes, or the registry error standing in for them: one unreadable layer
        must neither hide the others nor pass for absent."""
        try:
            return cls(descriptor, registry.get_blob(repository, descriptor, limit=limit))
        except RegistryError as error:
            return cls(descriptor, None, error)


@dataclass(frozen=True)
class Attachments:
    """What a ``.sig``/``.att``/``.sbom`` tag holds (``manifest`` is ``None`` when absent)."""

    tag: Reference
    manifest: RawManifest | None
    layers: tuple[AttachedLayer, ...]
    skipped: tuple[Descriptor, ...] = ()

    @property
    def exists(self) -> bool:
        return self.manifest is not None


def build_signature_image(
    layers: Iterable[Descriptor],
    *,
    created: str = ZERO_TIME,
    docker_media_types: bool = False,
    config_media_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
    subject: Descriptor | None = None,
    artifact_type: str | None = None,
) -> tuple[RawManifest, bytes]:
    """The signature image cosign would write for these layers: (manifest, config bytes)."""
    descriptors = list(layers)
    diff_ids = [d.digest for d in descriptors]
    config: dict[str, object] = {"architecture": "", "created": created}
    if descriptors:
        config["history"] = [{"created": ZERO_TIME} for _ in descriptors]
    config["os"] = ""
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids or None}
    config["config"] = {}
    config_bytes = dumps_go(config)
    manifest = ImageManifest(
        schema_version=2,
        media_type=DOCKER_MANIFEST if docker_media_types else OCI_MANIFEST,
        config=Descriptor.for_bytes(
            config_bytes,
            config_media_type or (DOCKER_CONFIG if docker_media_types else OCI_CONFIG),
        ),
        layers=descriptors,
        annotations=dict(annotations) if annotations else None,
        subject=subject,
        artifact_type=artifact_type,
    )
    return RawManifest.of(manifest), config_bytes


def read_attachments(
    registry: Registry,
    subject: Reference,
    kind: Kind,
    *,
    repository: Reference | None = None,
    fetch: bool = True,
    max_count: int | None = None,
) -> Attachments:
    """Read the attachment image of ``kind`` for ``subject`` (a digest reference).

    A missing tag gives an empty result; any other failure raises :class:`RegistryError`.
    More than ``limits.max_layers`` layers (or ``max_count``, e.g. ``limits.max_signatures``
    when verifying) raises :class:`SizeLimitExceeded` before any layer is fetched. Layers of an
    unexpected media type are listed in ``skipped`` and never fetched; a layer that cannot be
    fetched carries its error.
    """
    tag = _stored_at(subject, kind, repository)
    limits = registry.limits
    manifest = registry.get_manifest(tag.repository, tag.tag or "")
    if manifest is None:
        return Attachments(tag, None, ())
    if manifest.is_index:
        raise RegistryError(f"{tag} is an image index, not a {kind.value} image")
    descriptors = manifest.manifest.layers
    if len(descriptors) > limits.max_layers:
        raise SizeLimitExceeded(
            f"{tag} has {len(descriptors)} layers, more than the limit of {limits.max_layers}"
        )
    if max_count is not None and len(descriptors) > max_count:
        raise SizeLimitExceeded(
            f"{tag} has {len(descriptors)} {kind.name.lower()} layers, more than the limit "
            f"of {max_count}"
        )
    wanted = kind.layer_media_types
    layers: list[AttachedLayer] = []
    skipped: list[Descriptor] = []
    for descriptor in descriptors:
        if wanted is not None and descriptor.media_type not in wanted:
            skipped.append(descriptor)
            continue
        if not fetch:
            layers.append(AttachedLayer(descriptor, None))
            continue
        layers.append(
            AttachedLayer.fetch(registry, tag.repository, descriptor, limits.max_attachment_bytes)
        )
    return Attachments(tag, manifest, tuple(layers), tuple(skipped))


def _same_layer(a: Descriptor, b: Descriptor) -> bool:
    return (
        a.digest == b.digest
        and a.media_type == b.media_type
        and (a.annotations or {}) == (b.annotations or {})
    )


def append_layer(
    registry: Registry,
    subject: Reference,
    kind: Kind,
    layer: Layer,
    *,
    policy: AppendPolicy,
    repository: Reference | None = None,
    duplicate: Callable[[Descriptor], bool] | None = None,
    docker_media_types: bool = False,
) -> AppendOutcome:
    """Append ``layer`` to the ``.sig``/``.att`` image of ``subject``, losslessly.

    Identical layers (same digest, media type and annotations) are never added twice;
    ``duplicate(existing)`` may widen that (cosign's dedupe: same payload, signature that
    verifies under the same key). The config blob is rebuilt for the new layer list.
    """
    if kind is Kind.SBOM:
        raise InputError("SBOMs are replaced, not appended: use write_sbom()")
    tag = _stored_at(subject, kind, repository)
    caps = registry.limits
    new = layer.descriptor()
    registry.put_blob(tag.repository, layer.data, digest=new.digest)
    uploaded_configs: set[str] = set()

    def present(current: RawManifest | None) -> bool:
        if current is None or current.is_index:
            return False
        for existing in current.manifest.layers:
            if _same_layer(existing, new) or (duplicate is not None and duplicate(existing)):
                return True
        return False

    def build(current: RawManifest | None) -> RawManifest:
        layers: list[Descriptor] = []
        docker = docker_media_types
        if current is not None:
            if current.is_index:
                raise RegistryError(f"{tag} is an image index, not a {kind.value} image")
            layers = list(current.manifest.layers)
            docker = current.media_type == DOCKER_MANIFEST
        if len(layers) + 1 > caps.max_layers:
            raise SizeLimitExceeded(f"{tag} already has {len(layers)} layers")
        manifest, config = build_signature_image([*layers, new], docker_media_types=docker)
        config_digest = manifest.manifest.config.digest
        if config_digest not in uploaded_configs:
            registry.put_blob(tag.repository, config, digest=config_digest)
            uploaded_configs.add(config_digest)
        return manifest

    return append_to_tag(
        registry, tag.repository, tag.tag or "", build=build, present=present, policy=policy
    )


def write_sbom(
    registry: Registry,
    subject: Reference,
    layer: Layer,
    *,
    repository: Reference | None = None,
    docker_media_types: bool = False,
) -> RawManifest:
    """Replace the ``.sbom`` image of ``subject`` with a single-layer image (as cosign)."""
    tag = _stored_at(subject, Kind.SBOM, repository)
    descriptor = layer.descriptor()
    registry.put_blob(tag.repository, layer.data, digest=descriptor.digest)
    manifest, config = build_signature_image([descriptor], docker_media_types=docker_media_types)
    registry.put_blob(tag.repository, config, digest=digest_of(config))
    registry.put_manifest(tag.repository, tag.tag or "", manifest)
    return manifest
