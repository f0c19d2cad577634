"""Rekor v1 log entries on the write side: what we propose, what the log answers, and
cosign's ``dev.sigstore.cosign/bundle`` annotation that carries an entry next to a signature.

* proposed entries: ``hashedrekord`` 0.0.1 (a raw signature over sha256 of a payload, as
  cosign and Tekton Chains log a simple-signing ``.sig``) and ``dsse`` 0.0.1 (a DSSE envelope,
  as Chains logs its in-toto attestations with ``cosign.TLogUploadDSSEEnvelope``);
* :func:`parse_log_entry`: the log's ``RekorEntry`` answer (``{uuid: {body, integratedTime,
  logID, logIndex, verification: {signedEntryTimestamp}}}``), read strictly;
* :meth:`RekorEntry.cosign_bundle` / :func:`parse_cosign_bundle`: cosign's older ("legacy")
  Rekor bundle ``{"SignedEntryTimestamp", "Payload": {body, integratedTime, logIndex, logID}}``;
* :func:`check_signature_entry` / :func:`check_envelope_entry`: an entry is trusted only when
  its SET verifies under the log's key **and** its body describes this signature, key and
  payload (the offline checks of :mod:`konflux_supply.signing._rekor`, reused).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.dsse import Envelope
from konflux_supply.signing import _rekor
from konflux_supply.signing._keys import (
    KeyVerifier,
    PublicKey,
    load_public_key,
    public_key_pem,
    spki_der,
)
from konflux_supply.signing._rekor import TransparencyLog

__all__ = [
    "MAX_ENTRY_BYTES",
    "RekorEntry",
    "TransparencyLog",
    "check_envelope_entry",
    "check_signature_entry",
    "dsse_proposal",
    "hashedrekord_proposal",
    "parse_cosign_bundle",
    "parse_log_entry",
    "pem_of",
    "pinned_log",
]

MAX_ENTRY_BYTES = 4 * 1024 * 1024
_INT64_MAX = 2**63 - 1
# Rekor's entry UUIDs: the leaf hash (64 hex), optionally prefixed by a 16-hex tree ID.
_UUID = re.compile(r"^(?:[0-9a-f]{16})?[0-9a-f]{64}$")
_LOG_ID = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_FIELDS = frozenset(
    {"attestation", "body", "integratedTime", "logID", "logIndex", "verification"}
)
_KINDS = {("hashedrekord", "0.0.1"), ("dsse", "0.0.1")}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def pinned_log(public_key: bytes) -> TransparencyLog:
    """A log known by its PEM public key (its log ID is SHA-256 of the key's DER), valid
    for all time; :class:`InputError` when the key cannot be loaded."""
    key = load_public_key(public_key)
    return TransparencyLog(hashlib.sha256(spki_der(key)).digest(), KeyVerifier(key), _EPOCH, None)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hashedrekord_proposal(payload: bytes, signature: bytes, key_pem: bytes) -> dict[str, Any]:
    """The ``hashedrekord`` 0.0.1 entry for ``signature`` over ``payload`` by ``key_pem``."""
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {"content": _b64(signature), "publicKey": {"content": _b64(key_pem)}},
        },
    }


def dsse_proposal(envelope: bytes, key_pem: bytes) -> dict[str, Any]:
    """The ``dsse`` 0.0.1 entry for an envelope (its exact JSON bytes) signed by ``key_pem``."""
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": envelope.decode("utf-8"),
                "verifiers": [_b64(key_pem)],
            }
        },
    }


@dataclass(frozen=True)
class RekorEntry:
    """One Rekor v1 entry as the log returned it (not yet trusted: see the ``check_*``).

    ``body`` is the base64 canonicalized body exactly as the log sent it (the SET covers that
    text); ``kind`` and ``version`` come from the decoded body; ``uuid`` is ``""`` when the
    entry was read back from a bundle annotation (the bundle does not carry it). ``new``: the
    upload that returned it created it (``False``: it was logged before, read back after 409).
    """

    log_index: int
    integrated_time: int
    log_id: bytes
    body: str
    signed_entry_timestamp: bytes = field(repr=False)
    kind: str
    version: str
    uuid: str = ""
    new: bool = field(default=False, compare=False)

    def url(self, base: str) -> str:
        """Where Chains says the entry is: ``<url>/api/v1/log/entries?logIndex=<n>``."""
        return f"{base.rstrip('/')}/api/v1/log/entries?logIndex={self.log_index}"

    def cosign_bundle(self) -> str:
        """cosign's ``dev.sigstore.cosign/bundle`` annotation, as Go's ``encoding/json``
        writes ``bundle.RekorBundle`` (field order kept, no spaces)."""
        return json.dumps(
            {
                "SignedEntryTimestamp": _b64(self.signed_entry_timestamp),
                "Payload": {
                    "body": self.body,
                    "integratedTime": self.integrated_time,
                    "logIndex": self.log_index,
                    "logID": self.log_id.hex(),
                },
            },
            separators=(",", ":"),
        )

    def tlog_entry(self) -> dict[str, Any]:
        """The entry as a Sigstore bundle ``tlogEntries`` item (with its inclusion promise)."""
        return {
            "logIndex": str(self.log_index),
            "logId": {"keyId": _b64(self.log_id)},
            "kindVersion": {"kind": self.kind, "version": self.version},
            "integratedTime": str(self.integrated_time),
            "inclusionPromise": {"signedEntryTimestamp": _b64(self.signed_entry_timestamp)},
            "canonicalizedBody": self.body,
        }


def _int(value: Any, field: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError("expected an integer", field=field, source=source)
    if not 0 <= value <= _INT64_MAX:
        raise InputError("out of range", field=field, source=source)
    return value


def _std_b64(value: Any, field: str, source: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise InputError("expected a non-empty base64 string", field=field, source=source)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("not valid base64", field=field, source=source) from None


def _log_id(value: Any, field: str, source: str) -> bytes:
    if not isinstance(value, str) or not _LOG_ID.match(value):
        raise InputError("expected 64 lower-case hex digits", field=field, source=source)
    return bytes.fromhex(value)


def _kind(body_text: str, field: str, source: str) -> tuple[str, str]:
    raw = _std_b64(body_text, field, source)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InputError("the entry body is not JSON", field=field, source=source) from None
    if not isinstance(body, dict):
        raise InputError("the entry body is not an object", field=field, source=source)
    kind, version = body.get("kind"), body.get("apiVersion")
    if (kind, version) not in _KINDS:
        raise InputError(
            f"unexpected entry kind {kind!r} version {version!r} (wanted hashedrekord or dsse "
            "0.0.1)",
            field=field,
            source=source,
        )
    return str(kind), str(version)


def parse_log_entry(data: bytes | str | Any, *, source: str = "rekor") -> RekorEntry:
    """A ``RekorEntry`` answer of ``POST /api/v1/log/entries`` or ``GET …/entries/{uuid}``:
    exactly one entry, every field present and of its type; otherwise :class:`InputError`
    naming the field (the answer is not used at all)."""
    doc = data
    if isinstance(data, bytes | str):
        if len(data) > MAX_ENTRY_BYTES:
            raise InputError("the answer is too large", field="(entry)", source=source)
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            raise InputError("the answer is not JSON", field="(entry)", source=source) from None
    if not isinstance(doc, dict) or len(doc) != 1:
        raise InputError("expected an object holding one entry", field="(entry)", source=source)
    ((uuid, entry),) = doc.items()
    if not isinstance(uuid, str) or not _UUID.match(uuid):
        raise InputError("the entry UUID is not hex", field="(uuid)", source=source)
    if not isinstance(entry, dict):
        raise InputError("expected an object", field=uuid, source=source)
    unknown = sorted(str(name) for name in entry if name not in _ENTRY_FIELDS)
    if unknown:
        raise InputError("unknown field", field=f"{uuid}.{unknown[0]}", source=source)
    body = entry.get("body")
    if not isinstance(body, str):
        raise InputError("expected a base64 string", field=f"{uuid}.body", source=source)
    kind, version = _kind(body, f"{uuid}.body", source)
    verification = entry.get("verification")
    if not isinstance(verification, dict):
        raise InputError("expected an object", field=f"{uuid}.verification", source=source)
    return RekorEntry(
        log_index=_int(entry.get("logIndex"), f"{uuid}.logIndex", source),
        integrated_time=_int(entry.get("integratedTime"), f"{uuid}.integratedTime", source),
        log_id=_log_id(entry.get("logID"), f"{uuid}.logID", source),
        body=body,
        signed_entry_timestamp=_std_b64(
            verification.get("signedEntryTimestamp"),
            f"{uuid}.verification.signedEntryTimestamp",
            source,
        ),
        kind=kind,
        version=version,
        uuid=uuid,
    )


def parse_cosign_bundle(text: str, *, source: str = "dev.sigstore.cosign/bundle") -> RekorEntry:
    """cosign's Rekor bundle annotation back into a :class:`RekorEntry` (``uuid`` empty)."""
    if len(text) > MAX_ENTRY_BYTES:
        raise InputError("the bundle is too large", field="(bundle)", source=source)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise InputError("the bundle is not JSON", field="(bundle)", source=source) from None
    if not isinstance(doc, dict):
        raise InputError("expected an object", field="(bundle)", source=source)
    payload = doc.get("Payload")
    if not isinstance(payload, dict):
        raise InputError("expected an object", field="Payload", source=source)
    body = payload.get("body")
    if not isinstance(body, str):
        raise InputError("expected a base64 string", field="Payload.body", source=source)
    kind, version = _kind(body, "Payload.body", source)
    return RekorEntry(
        log_index=_int(payload.get("logIndex"), "Payload.logIndex", source),
        integrated_time=_int(payload.get("integratedTime"), "Payload.integratedTime", source),
        log_id=_log_id(payload.get("logID"), "Payload.logID", source),
        body=body,
        signed_entry_timestamp=_std_b64(
            doc.get("SignedEntryTimestamp"), "SignedEntryTimestamp", source
        ),
        kind=kind,
        version=version,
    )


def _promise(entry: RekorEntry, logs: tuple[TransparencyLog, ...]) -> dict[str, Any]:
    """The SET checked (log known, key valid at the integrated time); the decoded body."""
    if not logs:
        raise VerificationError("no transparency log key to check the entry with")
    if not any(log.log_id == entry.log_id for log in logs):
        raise VerificationError(
            f"the entry was made by log {entry.log_id.hex()[:16]}…, not by the trusted log key"
        )
    try:
        checked = _rekor.verify_entry(entry.tlog_entry(), logs, field="entry")
    except InputError as error:  # our own rendering of a parsed entry: should not happen
        raise VerificationError(f"malformed log entry: {error.summary()}") from None
    return checked.body


def check_signature_entry(
    entry: RekorEntry,
    logs: tuple[TransparencyLog, ...],
    payload: bytes,
    signature: bytes,
    key: PublicKey | bytes,
) -> None:
    """``entry`` is a ``hashedrekord`` signed by one of ``logs`` that logs ``signature`` over
    sha256(``payload``) by ``key``; else :class:`VerificationError`."""
    public = key if not isinstance(key, bytes) else load_public_key(key)
    if entry.kind != "hashedrekord":
        raise VerificationError(f"the log entry is a {entry.kind}, not a hashedrekord")
    body = _promise(entry, logs)
    try:
        _rekor.check_hashedrekord(body, hashlib.sha256(payload).digest(), signature, public)
    except VerificationError:
        raise VerificationError(
            "the log entry does not describe this signature, key and payload"
        ) from None


def check_envelope_entry(
    entry: RekorEntry,
    logs: tuple[TransparencyLog, ...],
    envelope: Envelope,
    key: PublicKey | bytes,
) -> None:
    """``entry`` is a ``dsse`` entry signed by one of ``logs`` that logs one of the
    envelope's signatures by ``key`` over its payload; else :class:`VerificationError`."""
    public = key if not isinstance(key, bytes) else load_public_key(key)
    if entry.kind != "dsse":
        raise VerificationError(f"the log entry is a {entry.kind}, not a dsse entry")
    body = _promise(entry, logs)
    signatures = [item.signature for item in envelope.signatures]
    try:
        _rekor.check_dsse(body, envelope.payload_bytes, signatures, public)
    except VerificationError:
        raise VerificationError(
            "the log entry does not describe this envelope's signature, key and payload"
        ) from None


def pem_of(key: PublicKey | bytes) -> bytes:
    """The PEM the log is told (a PEM given is loaded and written back canonically)."""
    return public_key_pem(key if not isinstance(key, bytes) else load_public_key(key))
