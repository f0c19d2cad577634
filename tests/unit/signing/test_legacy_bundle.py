"""cosign's older blob bundle (``base64Signature``, ``cert``, ``rekorBundle``), read offline.

Its Rekor bundle is checked like a v0.3 inclusion promise: the SET by a log of the trusted root
over the entry, and the entry's body against this signature, artifact digest and key.
"""

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
from konflux_supply.models.canonical import dumps_sorted
from konflux_supply.signing import bundle

LOG_KEY = ec.generate_private_key(ec.SECP256R1())
LOG_DER = LOG_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
LOG_ID = hashlib.sha256(LOG_DER).digest()
SIGNER = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
OTHER = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
VERIFIER = signing.verifier_from_pem(SIGNER.public_key_pem())
ARTIFACT = b"a release tarball\n"
NO_LOG = bundle.UNSAFE_IGNORE_TLOG


def _root() -> bundle.TrustedRoot:
    doc = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            {
                "baseUrl": "https://log.example",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": base64.b64encode(LOG_DER).decode(),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": base64.b64encode(LOG_ID).decode()},
            }
        ],
    }
    return bundle.TrustedRoot.from_json(json.dumps(doc).encode())


def _rekor_bundle(signature: bytes, *, key_pem: bytes, artifact: bytes = ARTIFACT) -> Any:
    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {
                "hash": {"algorithm": "sha256", "value": hashlib.sha256(artifact).hexdigest()}
            },
            "signature": {
                "content": base64.b64encode(signature).decode(),
                "publicKey": {"content": base64.b64encode(key_pem).decode()},
            },
        },
    }
    body_b64 = base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
    payload = {"body": body_b64, "integratedTime": 1700000000, "logIndex": 7, "logID": LOG_ID.hex()}
    signed = LOG_KEY.sign(dumps_sorted(payload), ec.ECDSA(hashes.SHA256()))
    return {"SignedEntryTimestamp": base64.b64encode(signed).decode(), "Payload": payload}


def _other_set() -> str:
    return base64.b64encode(LOG_KEY.sign(b"something else", ec.ECDSA(hashes.SHA256()))).decode()


def _legacy(*, logged: bool = False, cert: bytes | None = None) -> dict[str, Any]:
    signature = SIGNER.sign(ARTIFACT)
    doc: dict[str, Any] = {"base64Signature": base64.b64encode(signature).decode()}
    if cert is not None:
        doc["cert"] = base64.b64encode(cert).decode()
    if logged:
        doc["rekorBundle"] = _rekor_bundle(signature, key_pem=SIGNER.public_key_pem())
    return doc


def _verify(doc: Any, root: Any = NO_LOG, artifact: bytes = ARTIFACT) -> bundle.VerifiedBundle:
    data = json.dumps(doc).encode()
    return bundle.verify_key_bundle(data, VERIFIER, trusted_root=root, artifact=artifact)


def test_key_only_bundle_as_cosign_2_writes_it() -> None:
    verified = _verify(_legacy())
    assert verified.payload is None
    assert verified.tlog_entries == 0


def test_cert_holding_the_key_as_cosign_3_writes_it() -> None:
    _verify(_legacy(cert=SIGNER.public_key_pem()))


def test_cert_holding_another_key_is_refused() -> None:
    with pytest.raises(VerificationError, match="another key"):
        _verify(_legacy(cert=OTHER.public_key_pem()))


def test_wrong_artifact_is_refused() -> None:
    with pytest.raises(VerificationError):
        _verify(_legacy(), artifact=b"something else")


def test_rekor_bundle_checked_with_a_trusted_root() -> None:
    verified = _verify(_legacy(logged=True), _root())
    assert verified.tlog_entries == 1
    assert verified.integrated_time == 1700000000


def test_never_logged_bundle_needs_the_explicit_opt_out() -> None:
    with pytest.raises(VerificationError, match="no transparency log entry"):
        _verify(_legacy(), _root())


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r["Payload"].update(logIndex=8), id="index"),
        pytest.param(lambda r: r["Payload"].update(integratedTime=1700000001), id="time"),
        pytest.param(lambda r: r.update(SignedEntryTimestamp=_other_set()), id="set"),
    ],
)  # fmt: skip
def test_tampered_rekor_bundle_is_refused(change: Any) -> None:
    doc = _legacy(logged=True)
    change(doc["rekorBundle"])
    with pytest.raises((VerificationError, InputError)):
        _verify(doc, _root())


def test_rekor_entry_for_another_signature_is_refused() -> None:
    doc = _legacy()
    other_signature = SIGNER.sign(b"another artifact")
    doc["rekorBundle"] = _rekor_bundle(other_signature, key_pem=SIGNER.public_key_pem())
    with pytest.raises(VerificationError, match="inconsistent"):
        _verify(doc, _root())


def test_keyless_reading_names_the_key_requirement() -> None:
    with pytest.raises(InputError, match="verify it with a key"):
        bundle.parse(json.dumps(_legacy()).encode())


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"base64Signature": ""}, "base64Signature"),
        ({"base64Signature": "not base64!"}, "base64Signature"),
        ({"base64Signature": 5}, "base64Signature"),
        ({"base64Signature": "AAAA", "cert": "@@@"}, "cert"),
        ({"base64Signature": "AAAA", "extra": 1}, "extra"),
        ({"base64Signature": "AAAA", "rekorBundle": []}, "rekorBundle"),
        ({"base64Signature": "AAAA", "rekorBundle": {"Payload": {}}}, "rekorBundle.Signed"),
    ],
)
def test_malformed_bundles_name_the_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        _verify(doc)
    assert (caught.value.field or "").startswith(field)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_fields = st.fixed_dictionaries(
    {"base64Signature": st.one_of(st.text(max_size=40), _json)},
    optional={
        "cert": st.one_of(st.text(max_size=40), _json),
        "rekorBundle": st.one_of(
            _json,
            st.fixed_dictionaries({"SignedEntryTimestamp": st.text(max_size=20), "Payload": _json}),
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(_fields)
def test_any_document_gives_a_verdict_or_a_typed_error(doc: dict[str, Any]) -> None:
    for root in (NO_LOG, _ROOT):
        with contextlib.suppress(InputError, VerificationError):
            _verify(doc, root)


_ROOT = _root()
