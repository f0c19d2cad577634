"""Image signature and attestation verification (cosign ``verify`` / ``verify-attestation``).

Each function takes a trust policy (:mod:`.policy`; a list of verifiers means
``Keys(verifiers)``) and :class:`VerifyOptions` (where to look), and returns a
:class:`VerifiedImage` holding only what verified, or raises:

* :class:`VerificationError` (exit 1) — there are no signatures, or none holds: bad
  signature, payload for another digest (a layer copied from another image's ``.sig``),
  missing required annotation, attestation subject not this image, no attestation of the
  wanted predicate type. The message lists why each candidate failed.
* :class:`RegistryError` (exit 3) — the registry could not answer (the ``.sig``/``.att``
  manifest could not be read, or no candidate verified while some could not be fetched).
  It is never read as "unsigned".

Tag layers, referrer layers and Sigstore bundles are all candidates of one type
(:class:`~._candidates.Candidate`). A candidate is accepted on its content, never on
descriptor metadata: the layer's ``predicateType`` annotation (absent in Chains' layers) is
ignored and the verified statement's ``predicateType`` decides. As in cosign, one verifying
candidate is enough.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.models.canonical import dumps_go
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE
from konflux_supply.models.oci import Descriptor
from konflux_supply.models.predicates import PREDICATE_COSIGN_SIGN
from konflux_supply.oci import Kind, Reference, Registry, list_referrers, resolve
from konflux_supply.oci.cosign import SIGNATURE_ANNOTATION
from konflux_supply.oci.referrers import BUNDLE_MEDIA_TYPE_PREFIX
from konflux_supply.signing import Verifier, dsse, simple_signing
from konflux_supply.signing.bundle import TrustedRoot, verify_key_bundle, verify_keyless_bundle
from konflux_supply.signing.simple_signing import SimpleSigning
from konflux_supply.verify._candidates import Candidate, Outcomes, candidates
from konflux_supply.verify._tlog import check_envelope_logged, check_signature_logged, layer_root
from konflux_supply.verify.policy import Identity, Keys, Policy, Trust, trust_of

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
COSIGN_SIGN_PREDICATE = PREDICATE_COSIGN_SIGN


@dataclass(frozen=True)
class VerifyOptions:
    """Where to look (what to trust is the policy; size caps are the registry's own,
    :attr:`konflux_supply.oci.RegistryOptions.limits`).

    * ``repository`` — where attachments live (cosign's ``COSIGN_REPOSITORY``).
    * ``referrers`` — also consider cosign ``oci-1-1`` referrers (signature/attestation images
      pushed with ``subject``); on by default, so that what ``sign`` wrote in either
      ``--registry-referrers-mode`` verifies (as cosign 2.5+ finds both). A referrers listing
      that cannot be read is recorded like an unreadable candidate: no verdict unless another
      candidate verifies.
    * ``require_image`` — the image must exist (one GET, by digest too): a digest the
      registry does not hold is :class:`InputError` "image not found" (exit 2), never a pass
      and never "unsigned" (ADR 0079). ``False`` reads the attachments of a digest without
      it (cosign's ``SignedUnknown``: e.g. attachments copied without their image).
    * ``bundles`` — also consider Sigstore bundle (v0.3) referrers; how their
      transparency-log entries are judged is the policy's choice
      (:attr:`~konflux_supply.verify.Keys.transparency_log`, or an
      :class:`~konflux_supply.verify.Identity`'s trusted root).
    * ``layer_tlog`` — ``.sig``/``.att`` layers count only with a Rekor bundle verifying under
      the policy's ``transparency_log`` for that very signature (cosign without
      ``--insecure-ignore-tlog``); off by default: Chains' ``.sig`` layers carry none.
    """

    repository: Reference | None = None
    referrers: bool = True
    bundles: bool = False
    require_image: bool = True
    layer_tlog: bool = False


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
        """The verified statement parsed from its JSON (a ``dict``, not text: the exact
        bytes are :attr:`statement`)."""
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


def _pin(registry: Registry, image: Reference, options: VerifyOptions) -> Reference:
    """The image pinned to its digest; a digest the registry does not hold is not "unsigned"
    but :class:`InputError` (exit 2): a typo must never read as a verdict, either way."""
    if image.digest and not options.require_image:
        return image
    return resolve(registry, image)[0]


def _keys_of(trust: Trust) -> Sequence[Verifier]:
    """The verifiers of a key policy; a keyless one has no key to check a cosign layer with."""
    if isinstance(trust.signer, Identity):
        raise VerificationError(
            "keyless trust is checked on Sigstore bundles only; this cosign layer is refused"
        )
    return trust.signer.verifiers


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


def _bundle_payload(candidate: Candidate, trust: Trust) -> bytes:
    """The in-toto statement a bundle candidate signs, verified under ``trust``."""
    assert candidate.data is not None
    signer = trust.signer
    if isinstance(signer, Keys):
        assert signer.transparency_log is not None  # checked before any bundle is read
        errors: list[str] = []
        for verifier in signer.verifiers:
            try:
                verified = verify_key_bundle(
                    candidate.data,
                    verifier,
                    trusted_root=signer.transparency_log,
                    artifact=candidate.artifact,
                )
            except VerificationError as error:
                errors.append(error.summary())
                continue
            break
        else:
            raise VerificationError("; ".join(errors) or "no key verifies the bundle")
    else:
        verified = verify_keyless_bundle(
            candidate.data,
            trusted_root=signer.trusted_root,
            identity=signer.subject_matcher(),
            issuer=signer.issuer_matcher(),
            artifact=candidate.artifact,
        )
    if verified.payload is None or verified.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise VerificationError("the bundle does not hold an in-toto statement")
    return verified.payload


def _std_b64(value: Any) -> str:
    raw = str(value or "")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError):
        return raw
    return base64.b64encode(decoded).decode("ascii")


def _cosign_envelope(bundle: Any) -> bytes:
    """A verified bundle's DSSE envelope as ``cosign verify-attestation`` prints it: Go's
    encoding of the protobuf type (``payload``, ``payloadType``, ``signatures`` of ``sig`` and
    ``keyid``; empty fields left out; bytes in standard base64)."""
    envelope = bundle.get("dsseEnvelope") if isinstance(bundle, Mapping) else None
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


def _content(candidate: Candidate) -> tuple[bytes, Descriptor]:
    """The candidate's bytes and layer, or the error standing in for them."""
    if candidate.error is not None:
        raise candidate.error
    assert candidate.data is not None
    assert candidate.descriptor is not None
    return candidate.data, candidate.descriptor


def _bundle_statement(
    candidate: Candidate, digest: str, trust: Trust
) -> tuple[bytes, dict[str, Any]]:
    payload = _bundle_payload(candidate, trust)
    return payload, _statement(payload, digest)


def _check_signature(
    candidate: Candidate, image: Reference, trust: Trust, root: TrustedRoot | None = None
) -> VerifiedSignature:
    data, layer = _content(candidate)
    digest = image.digest or ""
    if candidate.source == "bundle":
        payload, statement = _bundle_statement(candidate, digest, trust)
        if statement.get("predicateType") != COSIGN_SIGN_PREDICATE:
            raise VerificationError(
                f"the bundle holds a {statement.get('predicateType')!r} statement, not a signature"
            )
        subject = next(
            s for s in statement["subject"] if _subject_digest(s) == digest.split(":", 1)[1]
        )
        optional = subject.get("annotations") if isinstance(subject, dict) else None
        _annotations_hold(optional if isinstance(optional, dict) else None, trust.annotations)
        # As cosign 3 prints a bundle signature: the reference as given, the statement's type.
        given = f"{image.name}:{image.tag}" if image.tag else str(image)
        claims = SimpleSigning(given, digest, COSIGN_SIGN_PREDICATE, optional, payload)
        return VerifiedSignature(payload, claims, layer, "bundle")
    encoded = candidate.annotations.get(SIGNATURE_ANNOTATION)
    if encoded is None:
        raise VerificationError(f"no {SIGNATURE_ANNOTATION} annotation")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError("the signature annotation is not base64") from None
    _verify_raw(_keys_of(trust), signature, data)
    if root is not None:
        check_signature_logged(candidate.annotations, root, _keys_of(trust), data, signature)
    try:
        claims = simple_signing.parse(data)
    except InputError as error:
        raise VerificationError(f"not a simple-signing payload: {error.summary()}") from None
    if claims.docker_manifest_digest != digest:
        raise VerificationError(
            f"the payload is for {claims.docker_manifest_digest}, not this image ({digest})"
        )
    _annotations_hold(claims.optional, trust.annotations)
    return VerifiedSignature(data, claims, layer, candidate.source)


def _check_attestation(
    candidate: Candidate, image: Reference, trust: Trust, root: TrustedRoot | None = None
) -> VerifiedAttestation:
    data, layer = _content(candidate)
    digest = image.digest or ""
    if candidate.source == "bundle":
        payload, statement = _bundle_statement(candidate, digest, trust)
        wanted = trust.predicate_type.uri if trust.predicate_type else None
        if statement["predicateType"] == COSIGN_SIGN_PREDICATE != wanted:
            # cosign v3's image signature: not an attestation unless that type is asked for.
            raise VerificationError("the bundle holds an image signature, not an attestation")
        assert candidate.data is not None
        return VerifiedAttestation(
            _cosign_envelope(json.loads(candidate.data)),
            payload,
            str(statement["predicateType"]),
            layer,
            "bundle",
        )
    try:
        envelope = dsse.parse(data)
    except InputError as error:
        raise VerificationError(f"not a DSSE envelope: {error.summary()}") from None
    payload = dsse.verify(envelope, list(_keys_of(trust)), payload_type=IN_TOTO_PAYLOAD_TYPE)
    if root is not None:
        check_envelope_logged(candidate.annotations, root, _keys_of(trust), envelope)
    statement = _statement(payload, digest)
    predicate_type = str(statement["predicateType"])
    return VerifiedAttestation(data, payload, predicate_type, layer, candidate.source)


def _verified(
    registry: Registry,
    image: Reference,
    kind: Kind,
    trust: Trust,
    options: VerifyOptions,
    outcomes: Outcomes,
) -> list[Any]:
    """Every candidate of ``kind`` that verifies under ``trust``; the rest recorded."""
    if options.bundles and isinstance(trust.signer, Keys) and trust.signer.transparency_log is None:
        raise InputError(
            "reading bundles needs a transparency-log choice on the policy",
            field="transparency_log",
            hint="Keys(…, transparency_log=TrustedRoot or UNSAFE_IGNORE_TLOG)",
        )
    root = layer_root(trust.signer, options.layer_tlog)
    check = _check_signature if kind is Kind.SIGNATURE else _check_attestation
    found = candidates(
        registry,
        image,
        kind,
        repository=options.repository,
        referrers=options.referrers,
        bundles=options.bundles,
    )
    verified: list[Any] = []
    for candidate in found:
        result = outcomes.run(candidate.label, partial(check, candidate, image, trust, root))
        if result is not None:
            verified.append(result)
    return verified


def _failure(
    registry: Registry, image: Reference, options: VerifyOptions, outcomes: Outcomes
) -> KonfluxSupplyError:
    """Why nothing verified; a "no" says so when unread Sigstore bundles are there (they need
    ``bundles`` and a transparency-log choice: never read silently, never hidden either)."""
    error = outcomes.fail()
    if options.bundles or not isinstance(error, VerificationError) or error.hint:
        return error
    at = options.repository.with_digest(image.digest or "") if options.repository else image
    try:
        listing = list_referrers(registry, at)
    except KonfluxSupplyError:
        return error
    count = sum(
        1
        for d in listing.descriptors
        if (d.artifact_type or "").startswith(BUNDLE_MEDIA_TYPE_PREFIX)
    )
    if count:
        error.hint = (
            f"{count} Sigstore bundle referrer(s) of this image were not read: read bundles "
            "(CLI: --new-bundle-format with --trusted-root FILE, or --insecure-ignore-tlog for "
            "key-based bundles never logged)"
        )
    return error


def _signatures(
    registry: Registry, image: Reference, trust: Trust, options: VerifyOptions
) -> VerifiedImage:
    pinned = _pin(registry, image, options)
    outcomes = Outcomes("signatures", pinned)
    verified = _verified(registry, pinned, Kind.SIGNATURE, trust, options, outcomes)
    if not verified:
        raise _failure(registry, pinned, options, outcomes)
    return VerifiedImage(pinned, signatures=tuple(verified))


def _attestations(
    registry: Registry, image: Reference, trust: Trust, options: VerifyOptions
) -> VerifiedImage:
    wanted = trust.predicate_type
    pinned = _pin(registry, image, options)
    outcomes = Outcomes("attestations", pinned)
    verified: list[VerifiedAttestation] = _verified(
        registry, pinned, Kind.ATTESTATION, trust, options, outcomes
    )
    if not verified:
        raise _failure(registry, pinned, options, outcomes)
    if wanted is None:
        return VerifiedImage(pinned, attestations=tuple(verified))
    matching = tuple(a for a in verified if a.predicate_type == wanted.uri)
    if not matching and outcomes.unavailable:
        raise outcomes.fail()  # an unread candidate may be the one of this type: no verdict
    if not matching:
        found_types = ", ".join(sorted({a.predicate_type for a in verified}))
        raise VerificationError(
            f"none of the attestations matched the predicate type: {wanted.name}, "
            f"found: {found_types}"
        )
    return VerifiedImage(pinned, attestations=matching)


def verify_signatures(
    registry: Registry,
    image: Reference,
    policy: Policy | Sequence[Verifier],
    *,
    options: VerifyOptions | None = None,
) -> VerifiedImage:
    """``cosign verify``: the image's signatures that hold under ``policy``, or raise.

    The policy's :class:`~konflux_supply.verify.Annotations` must be among each accepted
    signature's signed claims; a :class:`~konflux_supply.verify.PredicateType` is ignored.
    """
    return _signatures(registry, image, trust_of(policy), options or VerifyOptions())


def verify_attestations(
    registry: Registry,
    image: Reference,
    policy: Policy | Sequence[Verifier],
    *,
    options: VerifyOptions | None = None,
) -> VerifiedImage:
    """``cosign verify-attestation``: the verified attestations of the policy's
    :class:`~konflux_supply.verify.PredicateType`, or every verified attestation when the
    policy names none. (The CLI's ``--type`` defaults to ``custom``, as cosign's.)
    """
    return _attestations(registry, image, trust_of(policy), options or VerifyOptions())


def verify_image(
    registry: Registry,
    image: Reference,
    policy: Policy | Sequence[Verifier],
    *,
    options: VerifyOptions | None = None,
) -> VerifiedImage:
    """Signatures and attestations together (both must verify), as a release gate needs:
    one policy for both (its annotations bind signatures, its predicate type attestations)."""
    trust = trust_of(policy)
    opts = options or VerifyOptions()
    signed = _signatures(registry, image, trust, opts)
    attested = _attestations(registry, signed.reference, trust, opts)
    return VerifiedImage(signed.reference, signed.signatures, attested.attestations)
