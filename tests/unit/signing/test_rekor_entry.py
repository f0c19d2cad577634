"""Rekor v1 entries on the write side (konflux_supply.signing.rekor): the strict LogEntry
parser, cosign's Rekor bundle annotation, and the checks that make an answer trusted."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply import signing
from konflux_supply.errors import InputError, VerificationError
from konflux_supply.signing import dsse
from konflux_supply.signing.rekor import (
    RekorEntry,
    check_envelope_entry,
    check_signature_entry,
    dsse_proposal,
    hashedrekord_proposal,
    parse_cosign_bundle,
    parse_log_entry,
    pinned_log,
)

LOG_KEY = ec.generate_private_key(ec.SECP256R1())
SIGNER = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
PAYLOAD = b'{"critical":{"type":"cosign container image signature"},"optional":null}'


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _log_id(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _answer(
    body: dict[str, Any], *, key: ec.EllipticCurvePrivateKey = LOG_KEY, index: int = 7
) -> dict[str, Any]:
    """A log's answer for ``body`` (its canonical form), with a SET by ``key``."""
    text = base64.b64encode(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).decode()
    promise = {
        "body": text,
        "integratedTime": 1_800_000_000,
        "logID": _log_id(key),
        "logIndex": index,
    }
    signed = json.dumps(promise, sort_keys=True, separators=(",", ":")).encode()
    set_ = base64.b64encode(key.sign(signed, ec.ECDSA(hashes.SHA256()))).decode()
    return {"ab" * 32: {**promise, "verification": {"signedEntryTimestamp": set_}}}


def _signature_entry() -> tuple[RekorEntry, bytes]:
    signature = SIGNER.sign(PAYLOAD)
    proposal = hashedrekord_proposal(PAYLOAD, signature, SIGNER.public_key_pem())
    return parse_log_entry(json.dumps(_answer(proposal))), signature


LOGS = (pinned_log(_pem(LOG_KEY)),)


def test_signature_entry_verifies_and_round_trips_through_the_bundle() -> None:
    entry, signature = _signature_entry()
    assert (entry.kind, entry.version, entry.log_index) == ("hashedrekord", "0.0.1", 7)
    check_signature_entry(entry, LOGS, PAYLOAD, signature, SIGNER.public_key_pem())
    bundle = entry.cosign_bundle()
    assert bundle.startswith('{"SignedEntryTimestamp":"')
    back = parse_cosign_bundle(bundle)
    assert back == RekorEntry(
        entry.log_index,
        entry.integrated_time,
        entry.log_id,
        entry.body,
        entry.signed_entry_timestamp,
        entry.kind,
        entry.version,
    )
    check_signature_entry(back, LOGS, PAYLOAD, signature, SIGNER.public_key_pem())
    assert entry.url("https://rekor.example/") == (
        "https://rekor.example/api/v1/log/entries?logIndex=7"
    )


@pytest.mark.parametrize("what", ["payload", "signature", "key", "log", "set", "time"])
def test_an_entry_for_something_else_does_not_verify(what: str) -> None:
    entry, signature = _signature_entry()
    payload, key, logs = PAYLOAD, SIGNER.public_key_pem(), LOGS
    if what == "payload":
        payload = PAYLOAD + b" "
    elif what == "signature":
        signature = SIGNER.sign(PAYLOAD)  # ECDSA: another signature of the same payload
    elif what == "key":
        key = _pem(ec.generate_private_key(ec.SECP256R1()))
    elif what == "log":
        logs = (pinned_log(_pem(ec.generate_private_key(ec.SECP256R1()))),)
    elif what == "set":
        flipped = bytes([entry.signed_entry_timestamp[0] ^ 1]) + entry.signed_entry_timestamp[1:]
        entry = RekorEntry(**{**entry.__dict__, "signed_entry_timestamp": flipped})
    else:
        entry = RekorEntry(**{**entry.__dict__, "integrated_time": entry.integrated_time + 1})
    with pytest.raises(VerificationError):
        check_signature_entry(entry, logs, payload, signature, key)


def test_envelope_entry() -> None:
    envelope = dsse.sign(b'{"_type":"https://in-toto.io/Statement/v0.1"}', SIGNER)
    proposal = dsse_proposal(envelope.to_json(), SIGNER.public_key_pem())
    assert json.loads(proposal["spec"]["proposedContent"]["envelope"]) == envelope.to_dict()
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(envelope.to_json()).hexdigest(),
            },
            "payloadHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(envelope.payload_bytes).hexdigest(),
            },
            "signatures": [
                {
                    "signature": envelope.signatures[0].sig,
                    "verifier": base64.b64encode(SIGNER.public_key_pem()).decode(),
                }
            ],
        },
    }
    entry = parse_log_entry(json.dumps(_answer(body)).encode())
    check_envelope_entry(entry, LOGS, envelope, SIGNER.public_key_pem())
    other = dsse.sign(b'{"_type":"other"}', SIGNER)
    with pytest.raises(VerificationError, match="does not describe"):
        check_envelope_entry(entry, LOGS, other, SIGNER.public_key_pem())
    signature_entry, signature = _signature_entry()
    with pytest.raises(VerificationError, match="not a dsse entry"):
        check_envelope_entry(signature_entry, LOGS, envelope, SIGNER.public_key_pem())
    with pytest.raises(VerificationError, match="not a hashedrekord"):
        check_signature_entry(entry, LOGS, PAYLOAD, signature, SIGNER.public_key_pem())


def _mutate(path: list[str], value: Any) -> dict[str, Any]:
    answer = _answer(hashedrekord_proposal(PAYLOAD, SIGNER.sign(PAYLOAD), SIGNER.public_key_pem()))
    node: Any = answer["ab" * 32]
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return answer


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["logIndex"], -1, "logIndex"),
        (["logIndex"], True, "logIndex"),
        (["logIndex"], "7", "logIndex"),
        (["logIndex"], 2**63, "logIndex"),
        (["integratedTime"], 1.5, "integratedTime"),
        (["logID"], "AB" * 32, "logID"),
        (["logID"], "ab" * 31, "logID"),
        (["body"], "not base64!", "body"),
        (["body"], base64.b64encode(b'{"kind":"rekord","apiVersion":"0.0.1"}').decode(), "body"),
        (["body"], base64.b64encode(b"[1]").decode(), "body"),
        (["verification"], _DELETE, "verification"),
        (["verification", "signedEntryTimestamp"], "", "signedEntryTimestamp"),
        (["extra"], 1, "extra"),
    ],
)
def test_the_parser_is_strict(path: list[str], value: Any, field: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_log_entry(json.dumps(_mutate(path, value)))
    assert field in (caught.value.field or "")


def test_one_entry_with_a_hex_uuid() -> None:
    answer = _mutate(["logIndex"], 7)
    with pytest.raises(InputError, match="one entry"):
        parse_log_entry(json.dumps({**answer, "cd" * 32: answer["ab" * 32]}))
    with pytest.raises(InputError, match="not hex"):
        parse_log_entry(json.dumps({"../x": answer["ab" * 32]}))
    with pytest.raises(InputError, match="not JSON"):
        parse_log_entry(b"\xff")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def _entry_like() -> st.SearchStrategy[Any]:
    """Answers close to a valid one: each field kept, dropped or replaced."""
    good = _answer(hashedrekord_proposal(PAYLOAD, SIGNER.sign(PAYLOAD), SIGNER.public_key_pem()))
    inner = good["ab" * 32]
    fields = {name: st.one_of(st.just(value), json_values) for name, value in inner.items()}
    return st.fixed_dictionaries({}, optional=fields).map(lambda e: {"ab" * 32: e})


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, _entry_like()))
def test_parse_log_entry_never_raises_anything_else(doc: Any) -> None:
    try:
        entry = parse_log_entry(json.dumps(doc))
    except InputError:
        return
    assert isinstance(entry, RekorEntry)
    assert entry.kind in ("hashedrekord", "dsse")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_parse_log_entry_bytes(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_log_entry(data)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries({"SignedEntryTimestamp": json_values, "Payload": json_values}),
    )
)
def test_parse_cosign_bundle_never_raises_anything_else(doc: Any) -> None:
    with contextlib.suppress(InputError):
        parse_cosign_bundle(json.dumps(doc))
