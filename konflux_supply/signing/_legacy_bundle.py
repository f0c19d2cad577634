"""cosign's older blob bundle, read as the equivalent key-based Sigstore bundle v0.3.

``cosign sign-blob --bundle FILE`` without ``--new-bundle-format`` (cosign 2.x's default, 3.x
with ``--new-bundle-format=false``) writes cosign's ``LocalSignedPayload``::

    {"base64Signature": "<std base64>",
     "cert": "<std base64 of a PEM certificate or public key>",      (optional)
     "rekorBundle": {"SignedEntryTimestamp": "<b64>",                 (optional)
                     "Payload": {"body": "<b64 entry>", "integratedTime": 1700000000,
                                 "logIndex": 7, "logID": "<hex>"}}}

It carries the same facts as a v0.3 bundle with a ``messageSignature`` and, when logged, one
tlog entry with an inclusion promise (the SET). :func:`upgrade` rewrites it so, and
``verify_key_bundle`` then checks it as cosign does: the signature over the artifact with the
given key, and the Rekor entry (SET and body against the signature, digest and key) when a
trusted root is given. A ``cert`` is never trusted on its own: it must hold the given key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.signing import _keys
from konflux_supply.signing._keypair import load_public_key

__all__ = ["is_legacy_blob_bundle", "upgrade"]

_FIELDS = {"base64Signature", "cert", "rekorBundle"}


def is_legacy_blob_bundle(doc: Any) -> bool:
    """A JSON object in cosign's older blob-bundle shape (no ``mediaType``)."""
    return isinstance(doc, dict) and "mediaType" not in doc and "base64Signature" in doc


def _b64(value: Any, field: str, source: str | None) -> bytes:
    if not isinstance(value, str) or not value:
        raise InputError("expected a non-empty base64 string", field=field, source=source)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("not valid base64", field=field, source=source) from None


def _int(value: Any, field: str, source: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError("expected a non-negative integer", field=field, source=source)
    return value


def _cert_key(pem: bytes, source: str | None) -> _keys.PublicKey:
    if b"CERTIFICATE" in pem:
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise InputError("not a PEM certificate", field="cert", source=source) from None
        key = certificate.public_key()
        _keys.check_key(key)
        assert isinstance(key, _keys.PublicKey)
        return key
    try:
        return load_public_key(pem, source=source)
    except InputError as error:
        raise InputError(error.message, field="cert", source=source) from None


def _tlog_entry(rekor: Any, source: str | None) -> dict[str, Any]:
    if not isinstance(rekor, dict):
        raise InputError("expected an object", field="rekorBundle", source=source)
    payload = rekor.get("Payload")
    if not isinstance(payload, dict):
        raise InputError("expected an object", field="rekorBundle.Payload", source=source)
    set_b64 = rekor.get("SignedEntryTimestamp")
    _b64(set_b64, "rekorBundle.SignedEntryTimestamp", source)
    body_text = payload.get("body")
    body = _b64(body_text, "rekorBundle.Payload.body", source)
    try:
        entry = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise InputError("the entry body is not JSON", field="rekorBundle.Payload.body") from None
    if not isinstance(entry, dict):
        raise InputError("the entry body is not an object", field="rekorBundle.Payload.body")
    log_id = payload.get("logID")
    try:
        log_id_raw = bytes.fromhex(log_id) if isinstance(log_id, str) and log_id else None
    except ValueError:
        log_id_raw = None
    if log_id_raw is None:
        raise InputError("expected a hex log ID", field="rekorBundle.Payload.logID", source=source)
    return {
        "logIndex": str(_int(payload.get("logIndex"), "rekorBundle.Payload.logIndex", source)),
        "logId": {"keyId": base64.b64encode(log_id_raw).decode("ascii")},
        "kindVersion": {"kind": str(entry.get("kind")), "version": str(entry.get("apiVersion"))},
        "integratedTime": str(
            _int(payload.get("integratedTime"), "rekorBundle.Payload.integratedTime", source)
        ),
        "inclusionPromise": {"signedEntryTimestamp": set_b64},
        "canonicalizedBody": body_text,
    }


def upgrade(
    doc: Mapping[str, Any], key: _keys.PublicKey, *, source: str | None = None
) -> dict[str, Any]:
    """The v0.3 bundle equivalent to cosign's older blob bundle ``doc``, for ``key``.

    Raises :class:`InputError` for a malformed document and :class:`VerificationError` when its
    ``cert`` holds another key than ``key``.
    """
    if not isinstance(doc, Mapping) or "base64Signature" not in doc:
        raise InputError("not a cosign blob bundle", field="base64Signature", source=source)
    unknown = sorted(str(name) for name in doc if name not in _FIELDS)
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r}", field=unknown[0], source=source)
    signature = _b64(doc["base64Signature"], "base64Signature", source)
    cert = doc.get("cert")
    if cert not in (None, ""):
        held = _cert_key(_b64(cert, "cert", source), source)
        if _keys.spki_der(held) != _keys.spki_der(key):
            raise VerificationError("the bundle's cert holds another key than --key")
    rekor = doc.get("rekorBundle")
    entries = [] if rekor is None else [_tlog_entry(rekor, source)]
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {}, "tlogEntries": entries},
        "messageSignature": {"signature": base64.b64encode(signature).decode("ascii")},
    }
