"""The one place an attachment layer is stored: a triangulated tag, or an OCI 1.1 referrer."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from konflux_supply.errors import InputError
from konflux_supply.models.oci import Descriptor, RawManifest
from konflux_supply.oci import Kind, Layer, Reference, Registry, resolve
from konflux_supply.oci.cosign import append_layer, triangulate, write_sbom
from konflux_supply.oci.referrers import attach_bundle_referrer, attach_referrer
from konflux_supply.publish.options import PublishOptions

__all__ = ["Published", "pinned", "resolved", "store", "store_bundle"]


@dataclass(frozen=True)
class Published:
    """Where an attachment went: the tag (or ``name@digest`` of the referrer), the layer
    descriptor, whether it was new (``False``: an equivalent one was already there), and the
    attachment manifest now stored."""

    location: str
    layer: Descriptor
    written: bool
    manifest: RawManifest


def pinned(subject: Reference) -> str:
    """The digest of ``subject``, or :class:`InputError` when it has none."""
    if not subject.digest:
        raise InputError(f"{subject} has no digest: resolve it first", field="image")
    return subject.digest


def resolved(registry: Registry, subject: Reference, *, require: bool = True) -> Reference:
    """``subject`` pinned to a digest (a tag is resolved once); a digest the registry does
    not hold is :class:`InputError` ("image not found"), before anything is written, unless
    ``require`` is false (:attr:`PublishOptions.require_image`)."""
    if subject.digest and not require:
        return subject
    return resolve(registry, subject)[0]


def store(
    registry: Registry,
    subject: Reference,
    kind: Kind,
    layer: Layer,
    options: PublishOptions,
    *,
    duplicate: Callable[[Descriptor], bool] | None = None,
) -> Published:
    """Store ``layer`` for ``subject`` as ``options`` say: appended to the ``.sig``/``.att``
    image, replacing the ``.sbom`` image, or as a referrer."""
    if options.referrers:
        target = options.repository or subject
        if target.registry != subject.registry or target.layout != subject.layout:
            raise InputError("referrers must live on the image's registry", field="repository")
        descriptor = registry.head_manifest(subject.repository, pinned(subject))
        if descriptor is None:
            raise InputError(f"image not found: {subject}", field="image")
        at = target.with_digest(pinned(subject))
        manifest = attach_referrer(registry, at, descriptor, kind, layer, policy=options.policy)
        return Published(f"{target.name}@{manifest.digest}", layer.descriptor(), True, manifest)
    tag = triangulate(subject, kind, repository=options.repository)
    if kind is Kind.SBOM:
        manifest = write_sbom(
            registry,
            subject,
            layer,
            repository=options.repository,
            docker_media_types=options.docker_media_types,
        )
        return Published(str(tag), layer.descriptor(), True, manifest)
    outcome = append_layer(
        registry,
        subject,
        kind,
        layer,
        policy=options.policy,
        repository=options.repository,
        duplicate=duplicate,
        docker_media_types=options.docker_media_types,
    )
    return Published(str(tag), layer.descriptor(), outcome.written, outcome.manifest)


def store_bundle(
    registry: Registry,
    subject: Reference,
    bundle: bytes,
    predicate_type: str,
    options: PublishOptions,
    *,
    now: datetime.datetime | None = None,
) -> Published:
    """Store a DSSE Sigstore bundle (v0.3) as a referrer of ``subject``: how cosign stores
    attestations as OCI 1.1 referrers (no cosign reads an ``att.v1`` referrer)."""
    target = options.repository or subject
    if target.registry != subject.registry or target.layout != subject.layout:
        raise InputError("referrers must live on the image's registry", field="repository")
    descriptor = registry.head_manifest(subject.repository, pinned(subject))
    if descriptor is None:
        raise InputError(f"image not found: {subject}", field="image")
    moment = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    manifest = attach_bundle_referrer(
        registry,
        target.with_digest(pinned(subject)),
        descriptor,
        bundle,
        predicate_type=predicate_type,
        created=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        policy=options.policy,
    )
    layer = manifest.manifest.layers[0]
    return Published(f"{target.name}@{manifest.digest}", layer, True, manifest)
