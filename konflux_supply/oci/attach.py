"""Sign, attest and attach to an image in a registry, the way the cosign CLI stores them.

* :func:`sign_image` — a simple-signing payload (reference/cosign.md §2.3) signed with the
  key, stored as a ``.sig`` layer with the base64 signature in
  ``dev.cosignproject.cosign/signature``. Re-signing is idempotent as in cosign's
  ``DupeDetector``: a layer with the same payload whose signature verifies under the same
  key is not added again.
* :func:`attest_image` — cosign's in-toto v0.1 Statement for the image, signed as DSSE and
  stored as a ``.att`` layer with an empty signature annotation and the ``predicateType``
  annotation the cosign CLI writes.
* :func:`attach_sbom` — cosign's (deprecated) ``attach sbom``: a single-layer ``.sbom`` image.

Each can instead store the attachment as an OCI 1.1 referrer (``referrers=True``; cosign's
``--registry-referrers-mode=oci-1-1``): signatures and SBOMs as cosign's ``sig.v1``/``sbom.v1``
artifacts, attestations as Sigstore bundle (v0.3) referrers, which is how cosign stores
attestations as referrers (no cosign reads an ``att.v1`` referrer). Appends are lossless
(:mod:`.append`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from typing import Any

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope
from konflux_supply.models.oci import Descriptor, RawManifest
from konflux_supply.oci.append import AppendPolicy
from konflux_supply.oci.cosign import (
    DSSE_ENVELOPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    Kind,
    Layer,
    append_layer,
    resolve,
    triangulate,
    write_sbom,
)
from konflux_supply.oci.reference import Reference
from konflux_supply.oci.referrers import attach_bundle_referrer, attach_referrer
from konflux_supply.oci.registry import Registry
from konflux_supply.signing import Signer, dsse, simple_signing, verifier_from_pem
from konflux_supply.signing.blob import predicate_type_uri, predicate_value, statement_bytes
from konflux_supply.signing.bundle import dsse_bundle

__all__ = [
    "Attached",
    "attach_sbom",
    "attest_image",
    "attestation_layer",
    "image_statement",
    "sign_image",
    "signature_layer",
]


@dataclass(frozen=True)
class Attached:
    """Where an attachment went: the tag (or referrer digest), and whether it was new."""

    location: str
    layer: Descriptor
    written: bool
    manifest: RawManifest


def _pinned(subject: Reference) -> str:
    if not subject.digest:
        raise InputError(f"{subject} has no digest: resolve it first", field="image")
    return subject.digest


def _resolved(registry: Registry, subject: Reference) -> Reference:
    return subject if subject.digest else resolve(registry, subject)[0]


def signature_layer(
    subject: Reference,
    signer: Signer,
    *,
    annotations: dict[str, Any] | None = None,
    identity: str | None = None,
) -> Layer:
    """The ``.sig`` layer cosign would write: payload, and the signature annotation."""
    digest = _pinned(subject)
    if identity is None and subject.layout:
        raise InputError(
            "an image in an OCI layout has no registry identity: pass the repository it will "
            "be published as (--sign-container-identity)",
            field="identity",
        )
    payload = simple_signing.payload(identity or subject.name, digest, annotations)
    signature = signer.sign(payload)
    return Layer(
        SIMPLE_SIGNING, payload, {SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()}
    )


def _same_key_duplicate(layer: Layer, signer: Signer) -> Any:
    new = layer.descriptor()
    verifier = verifier_from_pem(signer.public_key_pem())

    def duplicate(existing: Descriptor) -> bool:
        if existing.digest != new.digest or existing.media_type != new.media_type:
            return False
        theirs = dict(existing.annotations or {})
        ours = dict(new.annotations or {})
        signature = theirs.pop(SIGNATURE_ANNOTATION, "")
        ours.pop(SIGNATURE_ANNOTATION, None)
        if any(theirs.get(key) != value for key, value in ours.items()):
            return False
        try:
            verifier.verify(base64.b64decode(signature, validate=True), layer.data)
        except (VerificationError, binascii.Error, ValueError):
            return False
        return True

    return duplicate


def _store(
    registry: Registry,
    subject: Reference,
    kind: Kind,
    layer: Layer,
    *,
    policy: AppendPolicy,
    repository: Reference | None,
    referrers: bool,
    docker_media_types: bool,
    duplicate: Any = None,
) -> Attached:
    if referrers:
        target = repository or subject
        if target.registry != subject.registry or target.layout != subject.layout:
            raise InputError("referrers must live on the image's registry", field="repository")
        descriptor = registry.head_manifest(subject.repository, _pinned(subject))
        if descriptor is None:
            raise InputError(f"image not found: {subject}", field="image")
        pinned = target.with_digest(_pinned(subject))
        manifest = attach_referrer(registry, pinned, descriptor, kind, layer, policy=policy)
        return Attached(f"{target.name}@{manifest.digest}", layer.descriptor(), True, manifest)
    outcome = append_layer(
        registry,
        subject,
        kind,
        layer,
        policy=policy,
        repository=repository,
        duplicate=duplicate,
        docker_media_types=docker_media_types,
    )
    tag = triangulate(subject, kind, repository=repository)
    return Attached(str(tag), layer.descriptor(), outcome.written, outcome.manifest)


def sign_image(
    registry: Registry,
    subject: Reference,
    signer: Signer,
    *,
    policy: AppendPolicy,
    annotations: dict[str, Any] | None = None,
    identity: str | None = None,
    repository: Reference | None = None,
    referrers: bool = False,
    docker_media_types: bool = False,
) -> Attached:
    """``cosign sign --key``: sign ``subject`` (a tag is resolved once) and store it."""
    subject = _resolved(registry, subject)
    layer = signature_layer(subject, signer, annotations=annotations, identity=identity)
    return _store(
        registry,
        subject,
        Kind.SIGNATURE,
        layer,
        policy=policy,
        repository=repository,
        referrers=referrers,
        docker_media_types=docker_media_types,
        duplicate=_same_key_duplicate(layer, signer),
    )


def image_statement(
    subject: Reference,
    predicate: bytes,
    predicate_type: str = "custom",
    *,
    now: datetime.datetime | None = None,
) -> bytes:
    """cosign's in-toto v0.1 Statement for an image (``attestation.GenerateStatement``).

    The subject is ``{"name": <registry/repository>, "digest": {"sha256": <hex>}}``;
    ``custom`` wraps the predicate as ``{"Data": <text>, "Timestamp": <RFC 3339>}``,
    ``spdx`` keeps it as a string, every other type must be a JSON object.
    """
    algorithm, hexpart = _pinned(subject).split(":", 1)
    statement_subject = [{"name": subject.name, "digest": {algorithm: hexpart}}]
    value = predicate_value(predicate, predicate_type, now=now)
    return statement_bytes(statement_subject, predicate_type_uri(predicate_type), value)


def attestation_layer(envelope: Envelope, predicate_type: str) -> Layer:
    """The ``.att`` layer the cosign CLI writes for an envelope."""
    return Layer(
        DSSE_ENVELOPE,
        envelope.to_json(),
        {SIGNATURE_ANNOTATION: "", PREDICATE_TYPE_ANNOTATION: predicate_type},
    )


def attest_image(
    registry: Registry,
    subject: Reference,
    signer: Signer,
    predicate: bytes,
    predicate_type: str = "custom",
    *,
    policy: AppendPolicy,
    now: datetime.datetime | None = None,
    repository: Reference | None = None,
    referrers: bool = False,
    docker_media_types: bool = False,
) -> Attached:
    """``cosign attest --key --predicate FILE --type TYPE``: sign a statement, store it."""
    subject = _resolved(registry, subject)
    statement = image_statement(subject, predicate, predicate_type, now=now)
    envelope = dsse.sign(statement, signer, IN_TOTO_PAYLOAD_TYPE)
    layer = attestation_layer(envelope, predicate_type_uri(predicate_type))
    if referrers:  # cosign writes attestation referrers as Sigstore bundles
        return _store_bundle(
            registry, subject, envelope, signer, predicate_type_uri(predicate_type), now, policy,
            repository,
        )  # fmt: skip
    return _store(
        registry,
        subject,
        Kind.ATTESTATION,
        layer,
        policy=policy,
        repository=repository,
        referrers=referrers,
        docker_media_types=docker_media_types,
    )


def _store_bundle(
    registry: Registry,
    subject: Reference,
    envelope: Envelope,
    signer: Signer,
    predicate_type: str,
    now: datetime.datetime | None,
    policy: AppendPolicy,
    repository: Reference | None,
) -> Attached:
    target = repository or subject
    if target.registry != subject.registry or target.layout != subject.layout:
        raise InputError("referrers must live on the image's registry", field="repository")
    descriptor = registry.head_manifest(subject.repository, _pinned(subject))
    if descriptor is None:
        raise InputError(f"image not found: {subject}", field="image")
    moment = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    bundle = dsse_bundle(envelope, signer)
    manifest = attach_bundle_referrer(
        registry,
        target.with_digest(_pinned(subject)),
        descriptor,
        bundle,
        predicate_type=predicate_type,
        created=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        policy=policy,
    )
    layer = manifest.manifest.layers[0]
    return Attached(f"{target.name}@{manifest.digest}", layer, True, manifest)


def attach_sbom(
    registry: Registry,
    subject: Reference,
    sbom: bytes,
    media_type: str,
    *,
    policy: AppendPolicy,
    repository: Reference | None = None,
    referrers: bool = False,
    docker_media_types: bool = False,
) -> Attached:
    """``cosign attach sbom``: replace the ``.sbom`` image (or add a referrer)."""
    subject = _resolved(registry, subject)
    layer = Layer(media_type, sbom)
    if referrers:
        return _store(
            registry,
            subject,
            Kind.SBOM,
            layer,
            policy=policy,
            repository=repository,
            referrers=True,
            docker_media_types=docker_media_types,
        )
    manifest = write_sbom(
        registry, subject, layer, repository=repository, docker_media_types=docker_media_types
    )
    tag = triangulate(subject, Kind.SBOM, repository=repository)
    return Attached(str(tag), layer.descriptor(), True, manifest)
