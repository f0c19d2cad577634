"""Blob signatures and attestations, the way ``cosign sign-blob`` / ``attest-blob`` make them.

* :func:`sign_blob` / :func:`verify_blob`: a raw signature over the file's bytes.
* :func:`attest_blob` builds cosign's in-toto v0.1 Statement for a file (subject = the file's
  base name and SHA-256, predicate by ``--type``) and signs it as DSSE.
* :func:`verify_blob_attestation` checks the DSSE signature, that the payload type is in-toto,
  that some subject's ``sha256`` equals the file's digest, and the predicate type
  (cosign's default ``custom``); it returns the verified statement bytes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.canonical import dumps_compact, dumps_sorted
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope
from konflux_supply.models.predicates import (
    COSIGN_PREDICATE_TYPES,
    PREDICATE_COSIGN_CUSTOM,
    STATEMENT_V01,
)
from konflux_supply.signing import dsse
from konflux_supply.signing._protocols import Signer, Verifier

__all__ = [
    "PREDICATE_TYPES",
    "STATEMENT_V01",
    "attest_blob",
    "blob_statement",
    "predicate_type_uri",
    "predicate_value",
    "rfc3339",
    "sign_blob",
    "statement_bytes",
    "verify_blob",
    "verify_blob_attestation",
]

CUSTOM = PREDICATE_COSIGN_CUSTOM
#: cosign's ``--type`` names and the predicateType URI each stands for (the one table is
#: :data:`konflux_supply.models.predicates.COSIGN_PREDICATE_TYPES`).
PREDICATE_TYPES: Mapping[str, str] = COSIGN_PREDICATE_TYPES

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


def predicate_type_uri(name: str) -> str:
    """The predicateType for a cosign ``--type`` value (a known name or a URI)."""
    if name in PREDICATE_TYPES:
        return PREDICATE_TYPES[name]
    if not _URI.fullmatch(name):
        raise InputError(
            f"invalid predicate type {name!r}: use one of {', '.join(PREDICATE_TYPES)} or a URI",
            field="type",
        )
    return name


def sign_blob(data: bytes, signer: Signer) -> bytes:
    """The raw signature cosign ``sign-blob --key`` makes (print it base64-encoded)."""
    return signer.sign(data)


def verify_blob(data: bytes, signature: bytes, verifier: Verifier) -> None:
    """Raise :class:`VerificationError` unless ``signature`` is valid for ``data``."""
    if not signature:
        raise VerificationError("the signature is empty")
    verifier.verify(signature, data)


def rfc3339(now: datetime.datetime | None = None) -> str:
    """``now`` (timezone-aware; default the current time) as cosign's predicate ``Timestamp``:
    RFC 3339 in UTC, whole seconds."""
    moment = now or datetime.datetime.now(datetime.UTC)
    if moment.tzinfo is None:
        raise InputError("the timestamp must be timezone-aware", field="now")
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def blob_statement(
    blob: bytes,
    name: str,
    predicate: bytes,
    predicate_type: str = "custom",
    *,
    now: datetime.datetime | None = None,
) -> bytes:
    """cosign's in-toto v0.1 Statement for a blob (``attestation.GenerateStatement``).

    ``custom`` wraps the predicate file as ``{"Data": <text>, "Timestamp": <RFC 3339>}``;
    ``spdx`` keeps it as a string; every other type must be a JSON object. Predicate keys are
    sorted (protojson writes ``Struct`` keys sorted).
    """
    uri = predicate_type_uri(predicate_type)
    subject = [{"name": name, "digest": {"sha256": hashlib.sha256(blob).hexdigest()}}]
    value = predicate_value(predicate, predicate_type, now=now)
    if predicate_type == "spdx":
        # cosign's legacy string predicate is marshalled from a Go map: keys sorted.
        return dumps_sorted(
            {"_type": STATEMENT_V01, "subject": subject, "predicateType": uri, "predicate": value}
        )
    return statement_bytes(subject, uri, value)


def predicate_value(
    predicate: bytes, predicate_type: str, *, now: datetime.datetime | None = None
) -> Any:
    """The predicate as cosign puts it in a statement: ``custom`` wraps the text as
    ``{"Data": <text>, "Timestamp": <RFC 3339>}``, ``spdx`` keeps it a string, every other
    type must be a JSON object."""
    uri = predicate_type_uri(predicate_type)
    try:
        text = predicate.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the predicate is not UTF-8 text", field="predicate") from None
    if predicate_type == "custom":
        return {"Data": text, "Timestamp": rfc3339(now)}
    if predicate_type == "spdx":
        return text
    try:
        value = json.loads(text)
    except RecursionError:
        raise InputError(
            f"invalid JSON payload for predicate type {uri}: nested too deeply", field="predicate"
        ) from None
    except ValueError as error:
        raise InputError(
            f"invalid JSON payload for predicate type {uri}: {error}", field="predicate"
        ) from None
    if not isinstance(value, dict):
        raise InputError(f"the {uri} predicate must be a JSON object", field="predicate")
    return value


def statement_bytes(subject: list[dict[str, Any]], uri: str, predicate: Any) -> bytes:
    """An in-toto v0.1 statement in cosign's field order, the predicate's keys sorted
    (protojson writes ``Struct`` keys sorted)."""
    head = dumps_compact({"_type": STATEMENT_V01, "subject": subject, "predicateType": uri})
    return head[:-1] + b',"predicate":' + dumps_sorted(predicate) + b"}"


def attest_blob(
    blob: bytes,
    name: str,
    predicate: bytes,
    predicate_type: str,
    signer: Signer,
    *,
    now: datetime.datetime | None = None,
    keyid: str | None = "",
) -> Envelope:
    """``cosign attest-blob``: the blob's statement signed as a DSSE envelope."""
    statement = blob_statement(blob, name, predicate, predicate_type, now=now)
    return dsse.sign(statement, signer, IN_TOTO_PAYLOAD_TYPE, keyid=keyid)


def _subject_digests(statement: Any) -> list[str]:
    if not isinstance(statement, dict):
        raise InputError("the statement is not a JSON object", field="(statement)")
    subjects = statement.get("subject")
    if subjects is None:
        return []
    if not isinstance(subjects, list):
        raise InputError("expected an array", field="subject")
    found: list[str] = []
    for index, subject in enumerate(subjects):
        if not isinstance(subject, dict):
            raise InputError("expected a subject object", field=f"subject[{index}]")
        digest = subject.get("digest")
        if digest is None:
            continue
        if not isinstance(digest, dict):
            raise InputError("expected an object", field=f"subject[{index}].digest")
        value = digest.get("sha256")
        if isinstance(value, str):
            found.append(value.lower())
        elif value is not None:
            raise InputError("expected a string", field=f"subject[{index}].digest.sha256")
    return found


def verify_blob_attestation(
    envelope: Envelope | bytes | str | Mapping[str, Any],
    blob: bytes | None,
    verifiers: Sequence[Verifier] | Verifier,
    *,
    predicate_type: str = "custom",
    source: str | None = None,
    check_claims: bool = True,
) -> bytes:
    """``cosign verify-blob-attestation``: returns the verified statement bytes or raises.

    With ``check_claims`` (the default) the statement must name ``blob``'s sha256 among its
    subjects and be of ``predicate_type``; ``check_claims=False`` (cosign's
    ``--check-claims=false``) checks the signature only, and ``blob`` may be ``None``.
    """
    expected_type = predicate_type_uri(predicate_type)
    payload = dsse.verify_envelope(
        envelope, verifiers, payload_type=IN_TOTO_PAYLOAD_TYPE, source=source
    ).payload
    if not check_claims:
        return payload
    if blob is None:
        raise InputError("the file the attestation is about is required", field="blob")
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InputError("the signed payload is not JSON", field="payload", source=source) from None
    digest = hashlib.sha256(blob).hexdigest()
    if digest not in _subject_digests(statement):
        raise VerificationError(
            f"no subject of the attestation has sha256 {digest} (the file's digest)"
        )
    got = statement.get("predicateType")
    if got != expected_type:
        raise VerificationError(f"invalid predicate type, expected {expected_type} got {got}")
    return payload
