"""Image signature and attestation verification (cosign ``verify`` / ``verify-attestation``).

Each function returns a :class:`VerifiedImage` holding only what verified, or raises:

* :class:`VerificationError` (exit 1) — there are no signatures, or none holds: bad
  signature, payload for another digest (a layer copied from another image's ``.sig``),
  missing ``-a`` annotation, attestation subject not this image, no attestation of the
  wanted predicate type. The message lists why each candidate failed.
* :class:`RegistryError` (exit 3) — the registry could not answer (the ``.sig``/``.att``
  manifest could not be read, or no candidate verified while some could not be fetched).
  It is never read as "unsigned".

A candidate is accepted on its content, never on descriptor metadata: the layer's
``predicateType`` annotation (absent in Chains' layers) is ignored and the verified
statement's ``predicateType`` decides. As in cosign, one verifying candidate is enough.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from konflux_supply.errors import (
    BackendUnavailable,
    InputError,
    KonfluxSupplyError,
    RegistryError,
    VerificationError,
)
from konflux_supply.models.canonical import dumps_go
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE
from konflux_supply.models.oci import Descriptor
from konflux_supply.oci import (
    AttachedLayer,
    Attachments,
    BundleReferrer,
    Kind,
    Limits,
    Reference,
    Registry,
    read_attachments,
    read_bundles,
    read_referrer_images,
    resolve,
)
from konflux_supply.oci.cosign import SIGNATURE_ANNOTATION
from konflux_supply.signing import Verifier, dsse, simple_signing
from konflux_supply.signing.blob import predicate_type_uri
from konflux_supply.signing.bundle import TrustedRoot, UnsafeIgnoreTlog, verify_key_bundle
from konflux_supply.signing.simple_signing import SimpleSigning

__all__ = [
    "COSIGN_SIGN_PREDICATE",
    "VerifiedAttestation",
    "VerifiedImage",
    "VerifiedSignature",
    "VerifyOptions",
    "verify_attestations",
    "verify_image",
    "verify_signatures",
]

#: The predicate type of cosign v3's signature bundles (``cosign sign --new-bundle-format``).
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


@dataclass(frozen=True)
class VerifyOptions:
    """Where to look and what to trust besides the keys.

    * ``limits`` — size/count caps (cosign's defaults).
    * ``repository`` — where attachments live (cosign's ``COSIGN_REPOSITORY``).
    * ``referrers`` — also consider cosign ``oci-1-1`` referrers (signature/attestation images
      pushed with ``subject``).
    * ``bundles`` — also consider Sigstore bundle (v0.3) referrers, checking their
      transparency-log entries against this trusted root, or not at all with
      ``UNSAFE_IGNORE_TLOG`` (``--insecure-ignore-tlog``). ``None``: bundles are not read.
    """

    limits: Limits = field(default_factory=Limits)
    repository: Reference | None = None
    referrers: bool = False
    bundles: TrustedRoot | UnsafeIgnoreTlog | None = None


@dataclass(frozen=True)
class VerifiedSignature:
    """A simple-signing payload whose signature verified and whose claims hold."""

    payload: bytes
    claims: SimpleSigning
    layer: Descriptor
    source: str

    def cosign_json(self) -> dict[str, Any]:
        """What ``cosign verify -o json`` prints for this signature (Go struct order)."""
        return {
            "critical": {
                "identity": {"docker-reference": self.claims.docker_reference},
                "image": {"docker-manifest-digest": self.claims.docker_manifest_digest},
                "type": self.claims.type,
            },
            "optional": self.claims.optional,
        }


@dataclass(frozen=True)
class VerifiedAttestation:
    """A DSSE attestation whose signature verified and whose subject is the image.

    ``envelope`` is what ``cosign verify-attestation`` prints: the layer as stored for
    ``.att``/referrer images, the DSSE envelope of a Sigstore bundle (cosign's rendering).
    """

    envelope: bytes
    statement: bytes
    predicate_type: str
    layer: Descriptor
    source: str

    def statement_json(self) -> Any:
        """The verified statement, parsed."""
        return json.loads(self.statement)


@dataclass(frozen=True)
class VerifiedImage:
    """An image (pinned to its digest) and what verified for it."""

    reference: Reference
    signatures: tuple[VerifiedSignature, ...] = ()
    attestations: tuple[VerifiedAttestation, ...] = ()

    @property
    def digest(self) -> str:
        assert self.reference.digest is not None
        return self.reference.digest

    def cosign_output(self) -> bytes:
        """``cosign verify`` stdout: a JSON list of the verified payloads (no newline)."""
        return dumps_go([signature.cosign_json() for signature in self.signatures])


_T = TypeVar("_T")


class _Outcomes:
    """Why each candidate failed; decides between "no" (1) and "no answer" (3)."""

    def __init__(self, what: str, reference: Reference) -> None:
        self.what = what
        self.reference = reference
        self.rejected: list[str] = []
        self.unavailable: list[KonfluxSupplyError] = []
        self.count = 0

    def run(self, label: str, check: Callable[[], _T]) -> _T | None:
        """Run one candidate's check: its result, or ``None`` with the reason recorded."""
        self.count += 1
        try:
            return check()
        except (VerificationError, InputError) as error:
            self.rejected.append(f"{label}: {error.summary()}")
        except (RegistryError, BackendUnavailable) as error:
            self.unavailable.append(error)
            self.rejected.append(f"{label}: {error.summary()}")
        return None

    def fail(self) -> KonfluxSupplyError:
        if self.unavailable:
            first = self.unavailable[0]
            error: KonfluxSupplyError
            message = (
                f"could not verify {self.what} of {self.reference}: "
                f"{len(self.unavailable)} of {self.count} could not be read or checked "
                f"({first.summary()})"
            )
            if isinstance(first, BackendUnavailable):
                error = BackendUnavailable(message, hint=first.hint)
            else:
                error = RegistryError(message, hint="retry; this is not a verdict")
            return error
        if not self.count:
            return VerificationError(f"no {self.what} found for {self.reference}")
        return VerificationError(f"no matching {self.what}: " + "; ".join(self.rejected))


def _pin(registry: Registry, image: Reference) -> Reference:
    if image.digest:
        return image
    return resolve(registry, image)[0]


def _verify_raw(verifiers: Sequence[Verifier], signature: bytes, data: bytes) -> None:
    if not signature:
        raise VerificationError("the signature is empty")
    for verifier in verifiers:
        try:
            verifier.verify(signature, data)
            return
        except VerificationError:
            continue
    raise VerificationError("the signature does not verify with the given key(s)")


def _annotations_hold(optional: Mapping[str, Any] | None, wanted: Mapping[str, str]) -> None:
    for key, value in wanted.items():
        got = (optional or {}).get(key)
        if got != value or not isinstance(got, str):
            raise VerificationError(
                f"annotation {key}={value} is not in the signed payload (found {got!r})"
            )


def _check_signature(
    layer: AttachedLayer,
    *,
    digest: str,
    verifiers: Sequence[Verifier],
    annotations: Mapping[str, str],
    source: str,
) -> VerifiedSignature:
    if layer.error is not None:
        raise layer.error
    assert layer.data is not None
    encoded = layer.annotations.get(SIGNATURE_ANNOTATION)
    if encoded is None:
        raise VerificationError(f"no {SIGNATURE_ANNOTATION} annotation")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("the signature annotation is not base64") from None
    _verify_raw(verifiers, signature, layer.data)
    try:
        claims = simple_signing.parse(layer.data)
    except InputError as error:
        raise VerificationError(f"not a simple-signing payload: {error.summary()}") from None
    if claims.docker_manifest_digest != digest:
        raise VerificationError(
            f"the payload is for {claims.docker_manifest_digest}, not this image ({digest})"
        )
    _annotations_hold(claims.optional, annotations)
    return VerifiedSignature(layer.data, claims, layer.descriptor, source)


def _referrers_at(image: Reference, options: VerifyOptions) -> Reference:
    """Where referrers of ``image`` are listed: the ``repository`` override, as they are
    written (``attach`` pushes them there too)."""
    if options.repository is None:
        return image
    return options.repository.with_digest(image.digest or "")


def _bundle_candidates(
    registry: Registry,
    image: Reference,
    verifiers: Sequence[Verifier],
    options: VerifyOptions,
    outcomes: _Outcomes,
    accept: Callable[[bytes, Descriptor, bytes], None],
) -> None:
    if options.bundles is None:
        return
    trust = options.bundles
    manifest = registry.get_manifest(image.repository, image.digest or "")
    if manifest is None:
        raise InputError(f"image not found: {image}", field="image")
    for found in read_bundles(registry, _referrers_at(image, options), limits=options.limits):
        outcomes.run(
            f"bundle {found.descriptor.digest}",
            partial(_check_bundle, found, verifiers, trust, manifest.data, accept),
        )


def _check_bundle(
    found: BundleReferrer,
    verifiers: Sequence[Verifier],
    trust: TrustedRoot | UnsafeIgnoreTlog,
    artifact: bytes,
    accept: Callable[[bytes, Descriptor, bytes], None],
) -> None:
    if found.error is not None:
        raise found.error
    assert found.data is not None
    assert found.manifest is not None
    errors: list[str] = []
    for verifier in verifiers:
        try:
            verified = verify_key_bundle(
                found.data, verifier, trusted_root=trust, artifact=artifact
            )
        except VerificationError as error:
            errors.append(error.summary())
            continue
        if verified.payload is None or verified.payload_type != IN_TOTO_PAYLOAD_TYPE:
            raise VerificationError("the bundle does not hold an in-toto statement")
        assert found.bundle is not None
        accept(verified.payload, found.manifest.manifest.layers[0], _cosign_envelope(found.bundle))
        return
    raise VerificationError("; ".join(errors) or "no key verifies the bundle")


def _std_b64(value: Any) -> str:
    raw = str(value or "")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError):
        return raw
    return base64.b64encode(decoded).decode("ascii")


def _cosign_envelope(bundle: Mapping[str, Any]) -> bytes:
    """A verified bundle's DSSE envelope as ``cosign verify-attestation`` prints it: Go's
    encoding of the protobuf type (``payload``, ``payloadType``, ``signatures`` of ``sig`` and
    ``keyid``; empty fields left out; bytes in standard base64)."""
    envelope = bundle.get("dsseEnvelope")
    envelope = envelope if isinstance(envelope, Mapping) else {}
    signatures = []
    for item in envelope.get("signatures") or []:
        entry = {"sig": _std_b64(item.get("sig"))} if isinstance(item, Mapping) else {}
        if isinstance(item, Mapping) and item.get("keyid"):
            entry["keyid"] = str(item["keyid"])
        signatures.append(entry)
    printed: dict[str, Any] = {}
    if envelope.get("payload"):
        printed["payload"] = _std_b64(envelope["payload"])
    if envelope.get("payloadType"):
        printed["payloadType"] = str(envelope["payloadType"])
    if signatures:
        printed["signatures"] = signatures
    return dumps_go(printed)


def verify_signatures(
    registry: Registry,
    image: Reference,
    verifiers: Sequence[Verifier],
    *,
    annotations: Mapping[str, str] | None = None,
    options: VerifyOptions | None = None,
) -> VerifiedImage:
    """``cosign verify --key``: the image's verified signatures, or raise."""
    if not verifiers:
        raise InputError("no verification keys were given", field="key")
    opts = options or VerifyOptions()
    pinned = _pin(registry, image)
    digest = pinned.digest or ""
    wanted = dict(annotations or {})
    outcomes = _Outcomes("signatures", pinned)
    check = partial(_check_signature, digest=digest, verifiers=verifiers, annotations=wanted)
    verified = _verified(registry, pinned, Kind.SIGNATURE, opts, outcomes, check)

    def bundle_statement(payload: bytes, layer: Descriptor, _envelope: bytes) -> None:
        statement = _statement(payload, digest)
        if statement.get("predicateType") != COSIGN_SIGN_PREDICATE:
            raise VerificationError(
                f"the bundle holds a {statement.get('predicateType')!r} statement, not a signature"
            )
        subject = next(
            s for s in statement["subject"] if _subject_digest(s) == digest.split(":", 1)[1]
        )
        optional = subject.get("annotations") if isinstance(subject, dict) else None
        _annotations_hold(optional if isinstance(optional, dict) else None, wanted)
        # As cosign 3 prints a bundle signature: the reference as given, the statement's type.
        typed = str(image) if image.tag or image.digest else f"{image.name}:latest"
        claims = SimpleSigning(typed, digest, COSIGN_SIGN_PREDICATE, optional, payload)
        verified.append(VerifiedSignature(payload, claims, layer, "bundle"))

    _bundle_candidates(registry, pinned, verifiers, opts, outcomes, bundle_statement)
    if not verified:
        raise outcomes.fail()
    return VerifiedImage(pinned, signatures=tuple(verified))


def _raise(error: KonfluxSupplyError) -> None:
    raise error


def _verified(
    registry: Registry,
    image: Reference,
    kind: Kind,
    options: VerifyOptions,
    outcomes: _Outcomes,
    check: Callable[..., _T],
) -> list[_T]:
    """Every tag and referrer candidate of ``kind`` that ``check`` accepts; the rest recorded."""
    attachments = read_attachments(
        registry,
        image,
        kind,
        limits=options.limits,
        repository=options.repository,
        max_count=options.limits.max_signatures,
    )
    verified: list[_T] = []
    for label, source, candidate in _candidates(registry, image, kind, attachments, options):
        if isinstance(candidate, KonfluxSupplyError):
            outcomes.run(label, partial(_raise, candidate))
            continue
        result = outcomes.run(label, partial(check, candidate, source=source))
        if result is not None:
            verified.append(result)
    return verified


def _candidates(
    registry: Registry,
    image: Reference,
    kind: Kind,
    attachments: Attachments,
    options: VerifyOptions,
) -> Iterator[tuple[str, str, AttachedLayer | KonfluxSupplyError]]:
    """(label, source, layer or the error standing in for it) for every candidate."""
    expected = "a signature" if kind is Kind.SIGNATURE else "a DSSE envelope"
    for skipped in attachments.skipped:
        yield (
            f"layer {skipped.digest}",
            "tag",
            VerificationError(f"media type {skipped.media_type} is not {expected}"),
        )
    for layer in attachments.layers:
        yield f"layer {layer.descriptor.digest}", "tag", layer
    if not options.referrers:
        return
    found_images = read_referrer_images(
        registry,
        _referrers_at(image, options),
        kind,
        limits=options.limits,
        max_count=options.limits.max_signatures,
    )
    for found in found_images:
        label = f"referrer {found.descriptor.digest}"
        if found.error is not None:
            yield label, "referrer", found.error
        for layer in found.layers:
            yield label, "referrer", layer


def _subject_digest(subject: Any) -> str | None:
    if not isinstance(subject, dict):
        return None
    digest = subject.get("digest")
    if not isinstance(digest, dict):
        return None
    value = digest.get("sha256")
    return value.lower() if isinstance(value, str) else None


def _statement(payload: bytes, digest: str) -> dict[str, Any]:
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise VerificationError("the signed payload is not JSON") from None
    if not isinstance(statement, dict):
        raise VerificationError("the signed statement is not a JSON object")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise VerificationError("the statement has no subjects")
    hexpart = digest.split(":", 1)[1]
    if not any(_subject_digest(subject) == hexpart for subject in subjects):
        raise VerificationError(f"no subject of the statement has sha256 {hexpart} (this image)")
    if not isinstance(statement.get("predicateType"), str):
        raise VerificationError("the statement has no predicateType")
    return statement


def _check_attestation(
    layer: AttachedLayer, *, digest: str, verifiers: Sequence[Verifier], source: str
) -> VerifiedAttestation:
    if layer.error is not None:
        raise layer.error
    assert layer.data is not None
    try:
        envelope = dsse.parse(layer.data)
    except InputError as error:
        raise VerificationError(f"not a DSSE envelope: {error.summary()}") from None
    payload = dsse.verify(envelope, list(verifiers), payload_type=IN_TOTO_PAYLOAD_TYPE)
    statement = _statement(payload, digest)
    return VerifiedAttestation(
        layer.data, payload, str(statement["predicateType"]), layer.descriptor, source
    )


def verify_attestations(
    registry: Registry,
    image: Reference,
    verifiers: Sequence[Verifier],
    *,
    predicate_type: str | None = "custom",
    options: VerifyOptions | None = None,
) -> VerifiedImage:
    """``cosign verify-attestation --key [--type T]``: the verified attestations of type T.

    ``predicate_type`` is a cosign ``--type`` name or URI (default ``custom``, as cosign);
    ``None`` keeps every verified attestation.
    """
    if not verifiers:
        raise InputError("no verification keys were given", field="key")
    wanted = predicate_type_uri(predicate_type) if predicate_type is not None else None
    opts = options or VerifyOptions()
    pinned = _pin(registry, image)
    digest = pinned.digest or ""
    outcomes = _Outcomes("attestations", pinned)
    check = partial(_check_attestation, digest=digest, verifiers=verifiers)
    verified = _verified(registry, pinned, Kind.ATTESTATION, opts, outcomes, check)

    def bundle_statement(payload: bytes, layer: Descriptor, envelope: bytes) -> None:
        statement = _statement(payload, digest)
        if statement["predicateType"] == COSIGN_SIGN_PREDICATE != wanted:
            # cosign v3's image signature: not an attestation unless that type is asked for.
            raise VerificationError("the bundle holds an image signature, not an attestation")
        verified.append(
            VerifiedAttestation(envelope, payload, str(statement["predicateType"]), layer, "bundle")
        )

    _bundle_candidates(registry, pinned, verifiers, opts, outcomes, bundle_statement)
    if not verified:
        raise outcomes.fail()
    if wanted is None:
        return VerifiedImage(pinned, attestations=tuple(verified))
    matching = tuple(a for a in verified if a.predicate_type == wanted)
    if not matching and outcomes.unavailable:
        raise outcomes.fail()  # an unread candidate may be the one of this type: no verdict
    if not matching:
        found_types = ", ".join(sorted({a.predicate_type for a in verified}))
        raise VerificationError(
            f"none of the attestations matched the predicate type: {predicate_type}, "
            f"found: {found_types}"
        )
    return VerifiedImage(pinned, attestations=matching)


def verify_image(
    registry: Registry,
    image: Reference,
    verifiers: Sequence[Verifier],
    *,
    annotations: Mapping[str, str] | None = None,
    predicate_type: str | None = None,
    options: VerifyOptions | None = None,
) -> VerifiedImage:
    """Signatures and attestations together (both must verify), as a release gate needs."""
    signed = verify_signatures(registry, image, verifiers, annotations=annotations, options=options)
    attested = verify_attestations(
        registry, signed.reference, verifiers, predicate_type=predicate_type, options=options
    )
    return VerifiedImage(signed.reference, signed.signatures, attested.attestations)
