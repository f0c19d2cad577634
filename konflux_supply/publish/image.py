"""Sign, attest and store for an image, the way the cosign CLI does.

* :func:`sign_image` — a simple-signing payload (reference/cosign.md §2.3) signed with the
  key, stored as a ``.sig`` layer with the base64 signature in
  ``dev.cosignproject.cosign/signature``. Re-signing is idempotent as in cosign's
  ``DupeDetector``: a layer with the same payload whose signature verifies under the same
  key is not added again.
* :func:`attest_image` — cosign's in-toto v0.1 Statement for the image, signed as DSSE and
  stored as a ``.att`` layer with an empty signature annotation and the ``predicateType``
  annotation the cosign CLI writes.
* :func:`attest_statement` — a statement made elsewhere (Chains provenance), signed here or
  already signed (a DSSE envelope), stored as a ``.att`` layer the same way.

Where each goes (tag or OCI 1.1 referrer, ``COSIGN_REPOSITORY``, Docker media types, the
lossless-append policy) is one :class:`~konflux_supply.publish.PublishOptions`. As referrers,
signatures are cosign's ``sig.v1`` images and attestations Sigstore bundles (v0.3), which is
how cosign stores attestations as referrers (an already signed envelope, with no signer to
name the key, stays an ``att.v1`` referrer).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Callable
from typing import Any

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope
from konflux_supply.models.oci import Descriptor
from konflux_supply.oci import Kind, Layer, Reference, Registry
from konflux_supply.oci.cosign import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    DSSE_ENVELOPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
)
from konflux_supply.publish._store import Published, pinned, resolved, store, store_bundle
from konflux_supply.publish.options import PublishOptions
from konflux_supply.signing import Signer, dsse, simple_signing, verifier_from_pem
from konflux_supply.signing.blob import predicate_type_uri, predicate_value, statement_bytes
from konflux_supply.signing.bundle import dsse_bundle

__all__ = [
    "attach_signature",
    "attest_image",
    "attest_statement",
    "attestation_layer",
    "image_statement",
    "sign_image",
    "signature_layer",
]


def signature_layer(
    subject: Reference,
    signer: Signer,
    *,
    annotations: dict[str, Any] | None = None,
    identity: str | None = None,
) -> Layer:
    """The ``.sig`` layer cosign would write: payload, and the signature annotation."""
    digest = pinned(subject)
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


def _same_key_duplicate(layer: Layer, signer: Signer) -> Callable[[Descriptor], bool]:
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


def sign_image(
    registry: Registry,
    subject: Reference,
    signer: Signer,
    *,
    options: PublishOptions | None = None,
    annotations: dict[str, Any] | None = None,
    identity: str | None = None,
) -> Published:
    """``cosign sign --key``: sign ``subject`` (a tag is resolved once) and store it.

    ``annotations`` become the payload's signed ``optional`` claims (``-a k=v``);
    ``identity`` the ``docker-reference`` signed for (default: the image's repository;
    required for an image in an OCI layout).
    """
    opts = options or PublishOptions()
    subject = resolved(registry, subject, require=opts.require_image)
    layer = signature_layer(subject, signer, annotations=annotations, identity=identity)
    duplicate = _same_key_duplicate(layer, signer)
    return store(registry, subject, Kind.SIGNATURE, layer, opts, duplicate=duplicate)


def attach_signature(
    registry: Registry,
    subject: Reference,
    payload: bytes,
    signature: bytes,
    *,
    options: PublishOptions | None = None,
    certificate: bytes | None = None,
    chain: bytes | None = None,
    bundle: str | None = None,
) -> Published:
    """``cosign attach signature``: store a simple-signing ``payload`` signed elsewhere.

    The payload must be for ``subject``'s digest (else :class:`InputError`, nothing written).
    ``certificate``/``chain`` (PEM) become the cosign annotations when given (``b""`` writes
    them empty, as Tekton Chains does for key-based signers); ``bundle`` is cosign's Rekor
    bundle annotation (``dev.sigstore.cosign/bundle``, see ``LogEntry.cosign_bundle``). The
    signature is not checked here: the caller made it (a verifier reads it back).
    """
    opts = options or PublishOptions()
    subject = resolved(registry, subject, require=opts.require_image)
    claims = simple_signing.parse(payload, source="payload")
    if claims.docker_manifest_digest != pinned(subject):
        raise InputError(
            f"the payload is for {claims.docker_manifest_digest}, not {pinned(subject)}",
            field="payload",
        )
    if not signature:
        raise InputError("the signature is empty", field="signature")
    annotations = {SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()}
    if certificate is not None:
        annotations[CERTIFICATE_ANNOTATION] = certificate.decode()
    if chain is not None:
        annotations[CHAIN_ANNOTATION] = chain.decode()
    if bundle is not None:
        annotations[BUNDLE_ANNOTATION] = bundle
    layer = Layer(SIMPLE_SIGNING, bytes(payload), annotations)
    return store(registry, subject, Kind.SIGNATURE, layer, opts)


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
    algorithm, hexpart = pinned(subject).split(":", 1)
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
    options: PublishOptions | None = None,
    now: datetime.datetime | None = None,
) -> Published:
    """``cosign attest --key --predicate FILE --type TYPE``: sign a statement, store it.

    ``predicate_type`` is a cosign ``--type`` name (``slsaprovenance``, ``cyclonedx``, …) or
    a URI; ``now`` stamps a ``custom`` predicate (default: the current time).
    """
    opts = options or PublishOptions()
    subject = resolved(registry, subject, require=opts.require_image)
    statement = image_statement(subject, predicate, predicate_type, now=now)
    envelope = dsse.sign(statement, signer, IN_TOTO_PAYLOAD_TYPE)
    if opts.referrers:  # cosign writes attestation referrers as Sigstore bundles
        bundle = dsse_bundle(envelope, signer)
        return store_bundle(
            registry, subject, bundle, predicate_type_uri(predicate_type), opts, now=now
        )
    layer = attestation_layer(envelope, predicate_type_uri(predicate_type))
    return store(registry, subject, Kind.ATTESTATION, layer, opts)


def _statement_type(payload: bytes, digest: str) -> str:
    """The ``predicateType`` of an in-toto statement about ``digest``, or :class:`InputError`."""
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InputError("the statement is not JSON", field="statement") from None
    if not isinstance(statement, dict):
        raise InputError("the statement is not a JSON object", field="statement")
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise InputError("the statement has no predicateType", field="statement.predicateType")
    subjects = statement.get("subject")
    hexpart = digest.split(":", 1)[1]
    found = (
        [
            s.get("digest", {}).get("sha256")
            for s in subjects
            if isinstance(s, dict) and isinstance(s.get("digest"), dict)
        ]
        if isinstance(subjects, list)
        else []
    )
    if not any(isinstance(d, str) and d.lower() == hexpart for d in found):
        raise InputError(
            f"no subject of the statement has sha256 {hexpart} (this image)",
            field="statement.subject",
        )
    return predicate_type


def attest_statement(
    registry: Registry,
    subject: Reference,
    statement: bytes | Envelope,
    signer: Signer | None = None,
    *,
    options: PublishOptions | None = None,
    bundle: str | None = None,
) -> Published:
    """Store an in-toto statement about ``subject`` as a ``.att`` layer (or referrer).

    ``statement`` is the exact statement bytes (signed here with ``signer``, as DSSE) or an
    already signed :class:`~konflux_supply.models.dsse.Envelope` (``signer`` is then not
    needed; the envelope is stored as it is). Either way the statement must name the image's
    digest among its subjects and carry a ``predicateType``, which becomes the layer's
    ``predicateType`` annotation; otherwise :class:`InputError` and nothing is written.
    ``bundle``: cosign's Rekor bundle annotation for the ``.att`` layer (not for referrers).
    """
    opts = options or PublishOptions()
    subject = resolved(registry, subject, require=opts.require_image)
    if isinstance(statement, Envelope):
        if statement.payload_type != IN_TOTO_PAYLOAD_TYPE:
            raise InputError(
                f"the envelope's payloadType is {statement.payload_type!r}, not "
                f"{IN_TOTO_PAYLOAD_TYPE}",
                field="statement.payloadType",
            )
        payload = statement.payload_bytes
    elif isinstance(statement, bytes | bytearray):
        if signer is None:
            raise InputError("an unsigned statement needs a signer", field="signer")
        payload = bytes(statement)
    else:
        raise InputError("the statement must be bytes or an Envelope", field="statement")
    predicate_type = _statement_type(payload, pinned(subject))
    if isinstance(statement, Envelope):
        envelope = statement
    else:
        assert signer is not None
        envelope = dsse.sign(payload, signer, IN_TOTO_PAYLOAD_TYPE)
    if opts.referrers and signer is not None:  # as cosign: a Sigstore bundle referrer
        return store_bundle(registry, subject, dsse_bundle(envelope, signer), predicate_type, opts)
    layer = attestation_layer(envelope, predicate_type)
    if bundle is not None:
        layer = Layer(
            layer.media_type, layer.data, {**layer.annotations, BUNDLE_ANNOTATION: bundle}
        )
    return store(registry, subject, Kind.ATTESTATION, layer, opts)
