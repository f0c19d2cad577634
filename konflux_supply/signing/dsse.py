"""DSSE signing and verification (https://github.com/secure-systems-lab/dsse, protocol v1).

::

    envelope = dsse.sign(statement_bytes, signer)                 # payloadType in-toto
    payload = dsse.verify(envelope, [verifier], threshold=1)      # verified bytes, or raises

Rules (docs/adr/0022):

* PAE is ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`` with **byte** lengths.
* Any number of signatures; ``keyid`` is an unauthenticated hint and is never required to
  match (cosign writes ``""``, v3 omits it, Chains writes the SSH fingerprint).
* ``threshold`` counts **distinct keys** (by public key) with at least one valid signature;
  two signatures by one key count once.
* More than :data:`MAX_SIGNATURES` signatures is an :class:`InputError` (a bound on the work
  a hostile envelope can cause).
* Zero signatures, a changed ``payloadType`` or payload, an empty signature or one over other
  bytes fail with :class:`VerificationError`; malformed envelopes (invalid base64, wrong
  types) fail earlier with :class:`InputError`. Backend errors of a verifier propagate: an
  error is never a pass.
* Nothing passed in is modified; a new :class:`Envelope` is returned by every signing call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, Signature
from konflux_supply.signing import _keys
from konflux_supply.signing._keypair import keyid as _keyid
from konflux_supply.signing._protocols import Signer, Verifier

__all__ = [
    "IN_TOTO_PAYLOAD_TYPE",
    "MAX_SIGNATURES",
    "Envelope",
    "Signature",
    "VerifiedEnvelope",
    "add_signature",
    "pae",
    "parse",
    "sign",
    "verify",
    "verify_envelope",
]


MAX_SIGNATURES = 100
"""Envelopes with more signatures are refused before any is checked (cosign caps signatures
and attestations per image at 100, GHSA-vfp6-jrw2-99g9; each check costs a public-key
operation per trusted key)."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding (lengths in bytes, decimal ASCII)."""
    try:
        type_bytes = payload_type.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as Python's json decodes "\ud800"
        raise InputError("payloadType is not valid Unicode text", field="payloadType") from None
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def _signature(signer: Signer, payload_type: str, payload: bytes, keyid: str | None) -> Signature:
    if keyid is None:
        keyid = _keyid(signer)
    raw = signer.sign(pae(payload_type, payload))
    if not raw:
        raise VerificationError("the signer returned an empty signature")
    return Signature.create(bytes(raw), keyid)


def sign(
    payload: bytes,
    signer: Signer,
    payload_type: str = IN_TOTO_PAYLOAD_TYPE,
    keyid: str | None = "",
) -> Envelope:
    """Sign ``payload`` (the exact bytes, never re-serialized) into a new envelope.

    ``keyid`` defaults to ``""`` as cosign writes it; pass ``None`` for Chains' SSH
    fingerprint (:func:`konflux_supply.signing.keyid`), or any string.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise InputError("the DSSE payload must be bytes", field="payload")
    body = bytes(payload)
    return Envelope.create(body, payload_type, [_signature(signer, payload_type, body, keyid)])


def add_signature(
    envelope: Envelope | bytes | str, signer: Signer, keyid: str | None = ""
) -> Envelope:
    """A new envelope with one more signature over the same payload (the input is unchanged)."""
    env = parse(envelope)
    extra = _signature(signer, env.payload_type, env.payload_bytes, keyid)
    return env.model_copy(update={"signatures": (*env.signatures, extra)})


def parse(
    envelope: Envelope | bytes | str | Mapping[str, Any], *, source: str | None = None
) -> Envelope:
    """An :class:`Envelope` from a model, JSON bytes/str, or a parsed JSON object."""
    if isinstance(envelope, Envelope):
        return envelope
    if isinstance(envelope, bytes | bytearray | str):
        return Envelope.from_json(
            bytes(envelope) if isinstance(envelope, bytearray) else envelope, source=source
        )
    if isinstance(envelope, Mapping):
        return Envelope.from_dict(envelope, source=source)
    raise InputError(f"expected a DSSE envelope, got {type(envelope).__name__}", source=source)


@dataclass(frozen=True)
class VerifiedEnvelope:
    """What :func:`verify_envelope` proved: the payload and which keys signed it."""

    payload: bytes
    payload_type: str
    public_keys: tuple[bytes, ...]
    """PKIX PEM of each distinct key whose signature verified."""

    @property
    def keyids(self) -> tuple[str, ...]:
        """SSH-fingerprint keyids (Chains' form) of :attr:`public_keys`."""
        return tuple(_keyid(pem) for pem in self.public_keys)


def _canonical_pem(verifier: Verifier) -> bytes:
    """The verifier's key as the PKIX PEM we write: one spelling per key (ADR 0022)."""
    if isinstance(verifier, _keys.KeyVerifier):
        return verifier.public_key_pem()  # already written from the key's SPKI DER
    try:
        return _keys.public_key_pem(_keys.load_public_key(bytes(verifier.public_key_pem())))
    except InputError as error:
        raise InputError(
            f"a verifier's public_key_pem() is not a usable public key: {error.message}",
            field="verifiers",
        ) from None


def _distinct(verifiers: Iterable[Verifier]) -> list[tuple[bytes, Verifier]]:
    # Keyed by the canonical PEM, so one key under two PEM spellings (CRLF, surrounding text,
    # PKCS#1) counts once towards a threshold.
    seen: dict[bytes, Verifier] = {}
    for verifier in verifiers:
        seen.setdefault(_canonical_pem(verifier), verifier)
    return list(seen.items())


def verify_envelope(
    envelope: Envelope | bytes | str | Mapping[str, Any],
    verifiers: Sequence[Verifier] | Verifier,
    *,
    threshold: int = 1,
    payload_type: str | None = None,
    source: str | None = None,
) -> VerifiedEnvelope:
    """Verify an envelope and say which keys signed it (see the module doc for the rules)."""
    env = parse(envelope, source=source)
    if hasattr(verifiers, "verify"):
        verifiers = [verifiers]  # type: ignore[list-item]
    keys = _distinct(verifiers)
    if not keys:
        raise InputError("no verification keys were given", field="verifiers")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise InputError(
            f"threshold must be a positive integer, got {threshold!r}", field="threshold"
        )
    if threshold > len(keys):
        raise InputError(
            f"threshold {threshold} is larger than the number of distinct keys ({len(keys)})",
            field="threshold",
        )
    if payload_type is not None and env.payload_type != payload_type:
        raise VerificationError(f"payloadType is {env.payload_type!r}, expected {payload_type!r}")
    if not env.signatures:
        raise VerificationError("the envelope has no signatures")
    if len(env.signatures) > MAX_SIGNATURES:
        raise InputError(
            f"the envelope has {len(env.signatures)} signatures; at most {MAX_SIGNATURES} "
            "are verified",
            field="signatures",
            source=source,
        )
    message = pae(env.payload_type, env.payload_bytes)
    accepted: dict[bytes, Verifier] = {}
    for signature in env.signatures:
        raw = signature.signature
        if not raw:
            continue
        for pem, verifier in keys:
            if pem in accepted:
                continue
            try:
                verifier.verify(raw, message)
            except VerificationError:
                continue
            accepted[pem] = verifier
            break
    if len(accepted) < threshold:
        count = len(env.signatures)
        if threshold == 1:
            raise VerificationError(
                f"none of the {count} signature(s) verifies with the given key(s) "
                "over this payloadType and payload"
            )
        raise VerificationError(
            f"signatures from {len(accepted)} distinct key(s) verify, {threshold} required"
        )
    return VerifiedEnvelope(
        payload=env.payload_bytes,
        payload_type=env.payload_type,
        public_keys=tuple(accepted),
    )


def verify(
    envelope: Envelope | bytes | str | Mapping[str, Any],
    verifiers: Sequence[Verifier] | Verifier,
    *,
    threshold: int = 1,
    payload_type: str | None = None,
) -> bytes:
    """Verify and return the payload bytes, or raise (``VerificationError``/``InputError``)."""
    return verify_envelope(
        envelope, verifiers, threshold=threshold, payload_type=payload_type
    ).payload
