"""Offline checks of Rekor v1 transparency-log entries in Sigstore bundles.

* trusted roots (``trusted_root.json``, protobuf-specs ``TrustedRoot``): the ``tlogs`` keys;
* the inclusion promise (SET): the log's signature over RFC 8785 JSON of
  ``{body, integratedTime, logID, logIndex}``;
* the inclusion proof (RFC 9162 §2.1.3.2) up to ``rootHash``, and the checkpoint (a signed
  note) that commits to that root with the log's key;
* the entry's body (``hashedrekord`` / ``dsse`` 0.0.1) must describe *this* signature, key and
  artifact (CVE-2022-36056 / CVE-2026-22703 class: an entry copied from elsewhere).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.canonical import dumps_sorted
from konflux_supply.signing._keys import KeyVerifier, PublicKey, load_public_key, spki_der

MAX_PROOF_HASHES = 64
# A signed note carries one signature line per signer; a log's checkpoint has one or two.
MAX_CHECKPOINT_SIGNATURES = 16


def b64(value: Any, field: str) -> bytes:
    """Standard base64 from a bundle/trusted-root field, else :class:`InputError`."""
    if not isinstance(value, str):
        raise InputError("expected a base64 string", field=field)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("not valid base64", field=field) from None


def obj(value: Any, field: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, ``{}`` if absent, else :class:`InputError`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("expected an object", field=field)
    return value


def arr(value: Any, field: str) -> list[Any]:
    """``value`` if it is a JSON array, ``[]`` if absent, else :class:`InputError`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError("expected an array", field=field)
    return value


def dig(doc: Any, *keys: str) -> Any:
    """``doc[k1][k2]…`` or None when any level is missing or not an object."""
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _time(value: Any, field: str) -> datetime.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError("expected an RFC 3339 time", field=field)
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("expected an RFC 3339 time", field=field) from None
    if moment.tzinfo is None:
        raise InputError("the time has no zone", field=field)
    return moment


@dataclass(frozen=True)
class TransparencyLog:
    """One log of a trusted root: its id (SHA-256 of the key's DER), key and validity."""

    log_id: bytes
    key: KeyVerifier
    valid_from: datetime.datetime
    valid_until: datetime.datetime | None

    def valid_at(self, moment: datetime.datetime) -> bool:
        """True if the key was valid at ``moment`` (the interval is closed)."""
        if moment < self.valid_from:
            return False
        return self.valid_until is None or moment <= self.valid_until


def parse_tlogs(doc: Any, *, source: str | None = None) -> tuple[TransparencyLog, ...]:
    """The transparency logs of a trusted root document."""
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object", field="(trusted root)", source=source)
    media = doc.get("mediaType", "")
    if not (
        isinstance(media, str) and media.startswith("application/vnd.dev.sigstore.trustedroot")
    ):
        raise InputError(
            f"not a Sigstore trusted root: {media!r}", field="mediaType", source=source
        )
    logs = []
    for index, entry in enumerate(arr(doc.get("tlogs"), "tlogs")):
        where = f"tlogs[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("publicKey"), dict):
            raise InputError("expected an object with publicKey", field=where, source=source)
        key_doc = entry["publicKey"]
        der = b64(key_doc.get("rawBytes"), f"{where}.publicKey.rawBytes")
        valid = obj(key_doc.get("validFor"), f"{where}.publicKey.validFor")
        start = _time(valid.get("start"), f"{where}.publicKey.validFor.start")
        if start is None:
            raise InputError("required field is missing", field=f"{where}.publicKey.validFor.start")
        try:
            key: PublicKey = load_public_key(der, source=source)
        except InputError as error:
            raise InputError(error.message, field=f"{where}.publicKey", source=source) from None
        log_id = b64(dig(entry, "logId", "keyId"), f"{where}.logId.keyId")
        logs.append(
            TransparencyLog(
                log_id, KeyVerifier(key), start, _time(valid.get("end"), f"{where}.validFor.end")
            )
        )
    return tuple(logs)


_INT64_MAX = 2**63 - 1


def _int(value: Any, field: str) -> int:
    # protobuf JSON writes int64 as strings (numbers are accepted when integral)
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise InputError("expected an integer", field=field)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError("expected an integer", field=field) from None
    if number < 0:
        raise InputError("must not be negative", field=field)
    if number > _INT64_MAX:
        raise InputError("out of the int64 range", field=field)
    return number


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root implied by an inclusion proof, or None if inconsistent."""
    if index >= size:
        return None
    fn, sn, node = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    return node if sn == 0 else None


def verify_checkpoint(text: str, log: TransparencyLog, size: int, root: bytes) -> None:
    """A signed-note checkpoint for (size, root), signed by ``log``'s key."""
    note, separator, signatures = text.partition("\n\n")
    if not separator:
        raise VerificationError("malformed checkpoint: no signature block")
    lines = note.split("\n")
    if len(lines) < 3:
        raise VerificationError("malformed checkpoint: too few lines in the header")
    if lines[1] != str(size) or lines[2] != base64.b64encode(root).decode():
        raise VerificationError("the checkpoint does not commit to the inclusion proof's tree")
    try:
        signed = (note + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from Python's json
        raise VerificationError("malformed checkpoint: not valid Unicode text") from None
    lines = [line for line in signatures.split("\n") if line.startswith("\u2014 ")]
    if len(lines) > MAX_CHECKPOINT_SIGNATURES:
        raise VerificationError(f"malformed checkpoint: {len(lines)} signature lines")
    for line in lines:
        try:
            blob = base64.b64decode(line.rsplit(" ", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(blob) > 4 and blob[:4] == log.log_id[:4] and log.key.check(blob[4:], signed):
            return
    raise VerificationError("the checkpoint has no valid signature by the transparency log")


@dataclass(frozen=True)
class VerifiedEntry:
    """A tlog entry whose promise and/or proof verified; ``body`` is the decoded entry body."""

    log_index: int
    integrated_time: int
    body: dict[str, Any]


def verify_entry(entry: Any, logs: tuple[TransparencyLog, ...], *, field: str) -> VerifiedEntry:
    """Check one bundle ``tlogEntries`` item against the trusted logs."""
    if not isinstance(entry, dict):
        raise InputError("expected an object", field=field)
    kind = obj(entry.get("kindVersion"), f"{field}.kindVersion")
    if (kind.get("kind"), kind.get("version")) not in (
        ("hashedrekord", "0.0.1"),
        ("dsse", "0.0.1"),
    ):
        raise VerificationError(
            f"unsupported transparency log entry {kind.get('kind')}/{kind.get('version')} "
            "(Rekor v1 hashedrekord/dsse 0.0.1 are verified offline)"
        )
    log_id = b64(dig(entry, "logId", "keyId"), f"{field}.logId.keyId")
    log = next((candidate for candidate in logs if candidate.log_id == log_id), None)
    if log is None:
        raise VerificationError("the entry's transparency log is not in the trusted root")
    log_index = _int(entry.get("logIndex"), f"{field}.logIndex")
    integrated = _int(entry.get("integratedTime"), f"{field}.integratedTime")
    try:
        moment = datetime.datetime.fromtimestamp(integrated, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise InputError("not a representable time", field=f"{field}.integratedTime") from None
    if not log.valid_at(moment):
        raise VerificationError("the entry's integrated time is outside the log key's validity")
    body_text = entry.get("canonicalizedBody")
    body_raw = b64(body_text, f"{field}.canonicalizedBody")
    try:
        body = json.loads(body_raw)
    except (ValueError, RecursionError):
        raise InputError("the entry body is not JSON", field=f"{field}.canonicalizedBody") from None
    if not isinstance(body, dict):
        raise InputError("the entry body is not an object", field=f"{field}.canonicalizedBody")
    proven = False
    promise = entry.get("inclusionPromise")
    if promise is not None:
        signature = b64(dig(promise, "signedEntryTimestamp"), f"{field}.inclusionPromise")
        payload = dumps_sorted(
            {
                "body": body_text,
                "integratedTime": integrated,
                "logID": log_id.hex(),
                "logIndex": log_index,
            }
        )
        if not log.key.check(signature, payload):
            raise VerificationError("invalid inclusion promise (SET)")
        proven = True
    proof = entry.get("inclusionProof")
    if proof is not None:
        if not isinstance(proof, dict):
            raise InputError("expected an object", field=f"{field}.inclusionProof")
        hashes = arr(proof.get("hashes"), f"{field}.inclusionProof.hashes")
        if len(hashes) > MAX_PROOF_HASHES:
            raise InputError("bad proof hashes", field=f"{field}.inclusionProof.hashes")
        size = _int(proof.get("treeSize"), f"{field}.inclusionProof.treeSize")
        root = b64(proof.get("rootHash"), f"{field}.inclusionProof.rootHash")
        leaf = hashlib.sha256(b"\x00" + body_raw).digest()
        computed = merkle_root(
            _int(proof.get("logIndex"), f"{field}.inclusionProof.logIndex"),
            size,
            leaf,
            [b64(h, f"{field}.inclusionProof.hashes[{i}]") for i, h in enumerate(hashes)],
        )
        if computed is None or computed != root:
            raise VerificationError("the inclusion proof does not lead to the root hash")
        checkpoint = dig(proof, "checkpoint", "envelope")
        if not isinstance(checkpoint, str):
            raise VerificationError("the inclusion proof has no checkpoint")
        verify_checkpoint(checkpoint, log, size, root)
        proven = True
    if not proven:
        raise VerificationError("the entry has neither an inclusion promise nor a proof")
    return VerifiedEntry(log_index, integrated, body)


def _b64_or_none(value: Any) -> bytes | None:
    try:
        return b64(value, "body")
    except InputError:
        return None


def _same_key(pem_b64: Any, key: PublicKey) -> bool:
    pem = _b64_or_none(pem_b64)
    if pem is None:
        return False
    try:
        return spki_der(load_public_key(pem)) == spki_der(key)
    except InputError:
        return False


def check_hashedrekord(
    body: dict[str, Any], digest: bytes, signature: bytes, key: PublicKey
) -> None:
    """The hashedrekord body describes this artifact digest, signature and key."""
    same = (
        body.get("kind") == "hashedrekord"
        and dig(body, "spec", "data", "hash", "algorithm") == "sha256"
        and dig(body, "spec", "data", "hash", "value") == digest.hex()
        and _b64_or_none(dig(body, "spec", "signature", "content")) == signature
        and _same_key(dig(body, "spec", "signature", "publicKey", "content"), key)
    )
    if not same:
        raise VerificationError("the transparency log entry is inconsistent with the bundle")


def check_dsse(
    body: dict[str, Any], payload: bytes, signatures: list[bytes], key: PublicKey
) -> None:
    """The dsse body describes this payload and one of these signatures by this key."""
    ok = (
        body.get("kind") == "dsse"
        and dig(body, "spec", "payloadHash", "algorithm") == "sha256"
        and dig(body, "spec", "payloadHash", "value") == hashlib.sha256(payload).hexdigest()
    )
    listed = dig(body, "spec", "signatures")
    match = isinstance(listed, list) and any(
        _b64_or_none(dig(item, "signature")) in signatures and _same_key(dig(item, "verifier"), key)
        for item in listed
    )
    if not (ok and match):
        raise VerificationError("the transparency log entry is inconsistent with the bundle")
