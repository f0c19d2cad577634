"""OCI 1.1 referrers: listing (API, else the ``sha256-<hex>`` fallback tag), pushing, bundles.

* :func:`list_referrers` asks the referrers API and falls back to the tag schema when the
  registry has none (distribution 2.8 answers 404). A failed listing raises — it is never
  read as "no referrers".
* :func:`push_referrer` PUTs a manifest with ``subject`` by digest. When the registry does
  not maintain the referrers list itself (no ``OCI-Subject`` header, no API), the fallback
  index is updated with the same lossless append as ``.sig`` tags, sorted by digest as
  go-containerregistry does.
* :func:`attach_referrer` stores a cosign signature/attestation/SBOM image as a referrer
  (cosign's ``--registry-referrers-mode=oci-1-1``): one manifest per attachment, so no
  read-modify-write of shared state where the registry has the API.
* :func:`attach_bundle_referrer` stores a Sigstore bundle (v0.3) as its own referrer, the way
  cosign writes attestations to referrers (``cosign attest --new-bundle-format``).
* :func:`read_bundles` reads Sigstore bundle (v0.3+) referrers, as cosign v3 writes them.
  Descriptor ``artifactType`` is not trusted alone: each candidate manifest is fetched and
  must hold exactly one bundle layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from konflux_supply.errors import InputError, KonfluxSupplyError, RegistryError
from konflux_supply.models.oci import (
    OCI_EMPTY,
    OCI_EMPTY_DATA,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageIndex,
    ImageManifest,
    RawManifest,
)
from konflux_supply.oci.append import AppendPolicy, append_to_tag
from konflux_supply.oci.cosign import AttachedLayer, Kind, Layer, build_signature_image
from konflux_supply.oci.options import Limits
from konflux_supply.oci.reference import Reference
from konflux_supply.oci.registry import PutResult, Registry, SizeLimitExceeded

__all__ = [
    "BUNDLE_MEDIA_TYPE_PREFIX",
    "COSIGN_ARTIFACT_TYPES",
    "SIGSTORE_BUNDLE_V03",
    "BundleReferrer",
    "ReferrerImage",
    "Referrers",
    "attach_bundle_referrer",
    "attach_referrer",
    "fallback_tag",
    "list_referrers",
    "push_referrer",
    "read_bundles",
    "read_referrer_images",
]

SIGSTORE_BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle"
COSIGN_ARTIFACT_TYPES = {
    Kind.SIGNATURE: "application/vnd.dev.cosign.artifact.sig.v1+json",
    Kind.ATTESTATION: "application/vnd.dev.cosign.artifact.att.v1+json",
    Kind.SBOM: "application/vnd.dev.cosign.artifact.sbom.v1+json",
}
_BUNDLE_VERSION = re.compile(
    r"^application/vnd\.dev\.sigstore\.bundle(?:\.v(\d+)\.(\d+)\+json|\+json;\s*version=(\d+)\.(\d+))$"
)


def fallback_tag(digest: str) -> str:
    """The referrers tag schema name: ``sha256:<hex>`` → ``sha256-<hex>``."""
    return digest.replace(":", "-", 1)


@dataclass(frozen=True)
class Referrers:
    """A referrers listing and where it came from (``"api"`` or ``"tag"``)."""

    descriptors: tuple[Descriptor, ...]
    source: str


def _subject_digest(subject: Reference) -> str:
    if not subject.digest:
        raise InputError(f"{subject} has no digest: resolve it first", field="image")
    return subject.digest


def list_referrers(
    registry: Registry,
    subject: Reference,
    *,
    artifact_type: str | None = None,
) -> Referrers:
    """Referrers of ``subject`` (a digest reference), filtered by ``artifact_type``; at most
    the registry's ``limits.max_referrers``."""
    caps = registry.limits
    digest = _subject_digest(subject)
    index = registry.referrers(subject.repository, digest, artifact_type=artifact_type)
    source = "api"
    if index is None:
        source = "tag"
        raw = registry.get_manifest(subject.repository, fallback_tag(digest))
        if raw is None:
            return Referrers((), source)
        if not raw.is_index:
            raise RegistryError(
                f"the referrers fallback tag {fallback_tag(digest)} is not an image index"
            )
        index = raw.index
    descriptors = list(index.manifests)
    if artifact_type:
        descriptors = [d for d in descriptors if d.artifact_type == artifact_type]
    if len(descriptors) > caps.max_referrers:
        raise SizeLimitExceeded(f"{subject} has more than {caps.max_referrers} referrers")
    return Referrers(tuple(descriptors), source)


def push_referrer(
    registry: Registry,
    subject: Reference,
    manifest: RawManifest,
    *,
    policy: AppendPolicy,
) -> PutResult:
    """PUT a manifest that has ``subject`` by digest; keep the fallback index up to date."""
    digest = _subject_digest(subject)
    doc = manifest.document
    if doc.subject is None or doc.subject.digest != digest:
        raise InputError(f"the manifest's subject is not {digest}", field="subject")
    result = registry.put_manifest(subject.repository, manifest.digest, manifest)
    if result.subject_processed:
        return result
    if registry.referrers(subject.repository, digest) is not None:
        return result  # the registry has the API: it maintains the list
    entry = manifest.descriptor(annotations=doc.annotations)
    tag = fallback_tag(digest)

    def present(current: RawManifest | None) -> bool:
        return (
            current is not None
            and current.is_index
            and any(d.digest == manifest.digest for d in current.index.manifests)
        )

    def build(current: RawManifest | None) -> RawManifest:
        manifests: list[Descriptor] = []
        if current is not None:
            if not current.is_index or current.media_type != OCI_INDEX:
                raise RegistryError(f"the referrers fallback tag {tag} is not an OCI image index")
            manifests = list(current.index.manifests)
        manifests = sorted([*manifests, entry], key=lambda d: d.digest)
        return RawManifest.of(
            ImageIndex(schema_version=2, media_type=OCI_INDEX, manifests=manifests)
        )

    append_to_tag(registry, subject.repository, tag, build=build, present=present, policy=policy)
    return result


def attach_referrer(
    registry: Registry,
    subject: Reference,
    subject_descriptor: Descriptor,
    kind: Kind,
    layer: Layer,
    *,
    policy: AppendPolicy,
    annotations: Mapping[str, str] | None = None,
) -> RawManifest:
    """Store one attachment as its own referrer manifest (cosign ``oci-1-1`` mode)."""
    artifact_type = COSIGN_ARTIFACT_TYPES[kind]
    descriptor = layer.descriptor()
    registry.put_blob(subject.repository, layer.data, digest=descriptor.digest)
    manifest, config = build_signature_image(
        [descriptor],
        config_media_type=artifact_type,
        annotations=annotations,
        subject=_plain(subject_descriptor),
        artifact_type=artifact_type,
    )
    registry.put_blob(subject.repository, config, digest=manifest.manifest.config.digest)
    push_referrer(registry, subject, manifest, policy=policy)
    return manifest


#: Manifest annotations cosign puts on a bundle referrer.
BUNDLE_CONTENT_ANNOTATION = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_TYPE_ANNOTATION = "dev.sigstore.bundle.predicateType"
CREATED_ANNOTATION = "org.opencontainers.image.created"


def attach_bundle_referrer(
    registry: Registry,
    subject: Reference,
    subject_descriptor: Descriptor,
    bundle: bytes,
    *,
    predicate_type: str,
    created: str,
    policy: AppendPolicy,
) -> RawManifest:
    """Store a DSSE Sigstore bundle (v0.3) as a referrer of ``subject``, as cosign does.

    The manifest is the one cosign writes for ``attest --new-bundle-format``: the empty config,
    one bundle layer, ``artifactType`` the bundle media type, and the annotations
    ``dev.sigstore.bundle.content: dsse-envelope``, ``dev.sigstore.bundle.predicateType`` and
    ``org.opencontainers.image.created`` (``created``, RFC 3339).
    """
    layer = Descriptor.for_bytes(bundle, SIGSTORE_BUNDLE_V03)
    registry.put_blob(subject.repository, bundle, digest=layer.digest)
    config = Descriptor.for_bytes(OCI_EMPTY_DATA, OCI_EMPTY)
    registry.put_blob(subject.repository, OCI_EMPTY_DATA, digest=config.digest)
    manifest = RawManifest.of(
        ImageManifest(
            schema_version=2,
            media_type=OCI_MANIFEST,
            config=config,
            layers=[layer],
            annotations={
                BUNDLE_CONTENT_ANNOTATION: "dsse-envelope",
                BUNDLE_PREDICATE_TYPE_ANNOTATION: predicate_type,
                CREATED_ANNOTATION: created,
            },
            subject=_plain(subject_descriptor),
            artifact_type=SIGSTORE_BUNDLE_V03,
        )
    )
    push_referrer(registry, subject, manifest, policy=policy)
    return manifest


def _plain(descriptor: Descriptor) -> Descriptor:
    return Descriptor(
        media_type=descriptor.media_type, size=descriptor.size, digest=descriptor.digest
    )


@dataclass(frozen=True)
class ReferrerImage:
    """A referrer manifest and its layers (bytes, or the error that kept them from us)."""

    manifest: RawManifest | None
    descriptor: Descriptor
    layers: tuple[AttachedLayer, ...]
    error: KonfluxSupplyError | None = None


def read_referrer_images(
    registry: Registry,
    subject: Reference,
    kind: Kind,
    *,
    max_count: int | None = None,
) -> list[ReferrerImage]:
    """Every cosign ``oci-1-1`` referrer of ``kind`` for ``subject``, sorted by digest.

    More than ``max_count`` layers of ``kind`` over all referrers (e.g.
    ``limits.max_signatures`` when verifying) raises :class:`SizeLimitExceeded` before any
    layer is fetched.
    """
    caps = registry.limits
    listing = list_referrers(registry, subject, artifact_type=COSIGN_ARTIFACT_TYPES[kind])
    wanted = kind.layer_media_types
    found: list[tuple[Descriptor, RawManifest | RegistryError]] = []
    for descriptor in sorted(listing.descriptors, key=lambda d: d.digest):
        try:
            found.append((descriptor, _referrer_manifest(registry, subject, descriptor)))
        except RegistryError as error:
            found.append((descriptor, error))
    count = sum(
        1
        for _, raw in found
        if isinstance(raw, RawManifest)
        for layer in raw.manifest.layers[: caps.max_layers]
        if wanted is None or layer.media_type in wanted
    )
    if max_count is not None and count > max_count:
        raise SizeLimitExceeded(
            f"{subject} has {count} {kind.name.lower()} layers in referrers, more than the "
            f"limit of {max_count}"
        )
    images: list[ReferrerImage] = []
    for descriptor, raw in found:
        if isinstance(raw, RegistryError):
            images.append(ReferrerImage(None, descriptor, (), raw))
            continue
        layers = []
        for layer in raw.manifest.layers[: caps.max_layers]:
            if wanted is not None and layer.media_type not in wanted:
                continue
            layers.append(
                AttachedLayer.fetch(registry, subject.repository, layer, caps.max_attachment_bytes)
            )
        images.append(ReferrerImage(raw, descriptor, tuple(layers)))
    return images


def _referrer_manifest(
    registry: Registry, subject: Reference, descriptor: Descriptor
) -> RawManifest:
    raw = registry.get_manifest(subject.repository, descriptor.digest)
    if raw is None:
        raise RegistryError(f"referrer {descriptor.digest} is listed but missing")
    if raw.is_index:
        raise RegistryError(f"referrer {descriptor.digest} is an index, not an image manifest")
    doc = raw.manifest
    if doc.subject is None or doc.subject.digest != subject.digest:
        raise RegistryError(f"referrer {descriptor.digest} does not name {subject.digest}")
    return raw


@dataclass(frozen=True)
class BundleReferrer:
    """A Sigstore bundle referrer: the bundle bytes and JSON, or the error reading it."""

    descriptor: Descriptor
    manifest: RawManifest | None
    data: bytes | None
    bundle: Mapping[str, Any] | None
    error: KonfluxSupplyError | None = None

    @property
    def predicate_type(self) -> str | None:
        """The ``dev.sigstore.bundle.predicateType`` annotation (a hint, not verified)."""
        if self.manifest is None:
            return None
        annotations = self.manifest.document.annotations or {}
        return annotations.get("dev.sigstore.bundle.predicateType")


def bundle_version(media_type: str) -> tuple[int, int] | None:
    """``(0, 3)`` for ``…bundle.v0.3+json`` or ``…bundle+json;version=0.3``."""
    match = _BUNDLE_VERSION.fullmatch(media_type.strip())
    if not match:
        return None
    major, minor = match.group(1) or match.group(3), match.group(2) or match.group(4)
    return int(major), int(minor)


def read_bundles(registry: Registry, subject: Reference) -> list[BundleReferrer]:
    """Sigstore bundle v0.3+ referrers of ``subject``, sorted by digest.

    Candidates are referrers whose descriptor says a bundle artifact type, or the empty
    type / none at all (some writers produced those); each is checked on its content. More
    than ``limits.max_signatures`` candidates raise :class:`SizeLimitExceeded` before any is
    fetched.
    """
    caps = registry.limits
    listing = list_referrers(registry, subject)
    candidates = [d for d in listing.descriptors if _maybe_bundle(d)]
    if len(candidates) > caps.max_signatures:
        raise SizeLimitExceeded(
            f"{subject} has {len(candidates)} bundle referrers, more than the limit of "
            f"{caps.max_signatures}"
        )
    out: list[BundleReferrer] = []
    for descriptor in sorted(candidates, key=lambda d: d.digest):
        hint = descriptor.artifact_type or ""
        try:
            raw = _referrer_manifest(registry, subject, descriptor)
        except RegistryError as error:
            out.append(BundleReferrer(descriptor, None, None, None, error))
            continue
        layers = raw.manifest.layers
        bundle_layers = [d for d in layers if d.media_type.startswith(BUNDLE_MEDIA_TYPE_PREFIX)]
        if not bundle_layers and hint != "" and hint.startswith(BUNDLE_MEDIA_TYPE_PREFIX):
            out.append(
                BundleReferrer(
                    descriptor,
                    raw,
                    None,
                    None,
                    RegistryError("bundle referrer has no bundle layer"),
                )
            )
            continue
        if not bundle_layers:
            continue
        if len(layers) != 1:
            problem = RegistryError(f"bundle referrer {raw.digest} must have exactly one layer")
            out.append(BundleReferrer(descriptor, raw, None, None, problem))
            continue
        out.append(_read_bundle(registry, subject, descriptor, raw, layers[0], caps))
    return out


def _maybe_bundle(descriptor: Descriptor) -> bool:
    hint = descriptor.artifact_type or ""
    if hint and not hint.startswith(BUNDLE_MEDIA_TYPE_PREFIX) and hint != OCI_EMPTY:
        return False
    return descriptor.media_type == OCI_MANIFEST


def _read_bundle(
    registry: Registry,
    subject: Reference,
    descriptor: Descriptor,
    raw: RawManifest,
    layer: Descriptor,
    caps: Limits,
) -> BundleReferrer:
    version = bundle_version(layer.media_type)
    try:
        if version is None or version < (0, 3):
            raise RegistryError(f"bundle media type {layer.media_type!r} is older than v0.3")
        data = registry.get_blob(subject.repository, layer, limit=caps.max_attachment_bytes)
        try:
            bundle = json.loads(data)
        except ValueError as error:
            raise RegistryError(f"bundle {layer.digest} is not JSON: {error}") from None
        except RecursionError:
            raise RegistryError(f"bundle {layer.digest} is nested too deeply") from None
        if not isinstance(bundle, dict):
            raise RegistryError(f"bundle {layer.digest} is not a JSON object")
        declared = bundle.get("mediaType")
        if not isinstance(declared, str) or (bundle_version(declared) or (0, 0)) < (0, 3):
            raise RegistryError(f"bundle {layer.digest} declares mediaType {declared!r}")
    except RegistryError as error:
        return BundleReferrer(descriptor, raw, None, None, error)
    return BundleReferrer(descriptor, raw, data, bundle)
