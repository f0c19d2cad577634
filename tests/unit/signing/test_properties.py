"""Hypothesis over every key, envelope, payload, bundle and URI parser of konflux_supply.signing.

The property is always the same: arbitrary input gives a result or a typed
:class:`KonfluxSupplyError` (never another exception, never a hang), and parsed-then-written
values round-trip. Inputs are never modified.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from konflux_supply import signing
from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.models.dsse import Envelope
from konflux_supply.signing import (
    _awskms,
    _azurekms,
    _gcpkms,
    _hashivault,
    _k8s,
    _keyfile,
    _keys,
    _pem,
    _pkcs11,
    bundle,
    dsse,
    simple_signing,
)

KEY = ec.generate_private_key(ec.SECP256R1())
SIGNER = signing.signer_from_private_key(KEY)
VERIFIER = signing.verifier_from_public_key(KEY.public_key())
FAST = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
labels = st.sampled_from(
    [
        "PUBLIC KEY",
        "RSA PUBLIC KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "RSA PRIVATE KEY",
        "ENCRYPTED SIGSTORE PRIVATE KEY",
        "ENCRYPTED COSIGN PRIVATE KEY",
        "CERTIFICATE",
        "X",
    ]
)


def _pem_of(label: str, body: bytes) -> bytes:
    return _pem.encode_pem(label, body)


@FAST
@given(st.binary(max_size=600))
def test_pem_decoder_total(data: bytes) -> None:
    try:
        block = _pem.decode_pem(data)
    except InputError:
        return
    assert _pem.decode_pem(_pem.encode_pem(block.type, block.der)).der == block.der


@FAST
@given(labels, st.binary(max_size=300))
def test_pem_round_trip(label: str, der: bytes) -> None:
    block = _pem.decode_pem(b"junk before\n" + _pem_of(label, der) + b"junk after")
    assert (block.type, block.der) == (label, der)


@FAST
@given(
    st.one_of(
        st.binary(max_size=400),
        labels.flatmap(lambda label: st.binary(max_size=300).map(lambda b: _pem_of(label, b))),
    )
)
def test_public_key_parser_total(data: bytes) -> None:
    with contextlib.suppress(InputError):
        signing.load_public_key(data)


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255)).map(
        lambda change: (
            data[: change[0]] + bytes([data[change[0]] ^ change[1]]) + data[change[0] + 1 :]
        )
    )


P256_PKCS8 = KEY.private_bytes(
    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
P256_SEC1 = KEY.private_bytes(
    serialization.Encoding.DER,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
)
SPKI = _keys.spki_der(KEY.public_key())


@FAST
@given(
    st.sampled_from(["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"]),
    st.one_of(_mutations(P256_PKCS8), _mutations(P256_SEC1), st.binary(max_size=200)),
)
def test_import_parser_total(label: str, der: bytes) -> None:
    with contextlib.suppress(InputError):
        signing.import_key_pair(_pem_of(label, der), b"", scrypt=signing.LEGACY_SCRYPT)


@FAST
@given(_mutations(SPKI))
def test_mutated_public_keys_total(der: bytes) -> None:
    try:
        key = signing.load_public_key(der)
    except InputError:
        return
    _keys.check_key(key)


@FAST
@given(json_values)
def test_encrypted_key_body_parser_total(doc: Any) -> None:
    before = copy.deepcopy(doc)
    with contextlib.suppress(InputError):
        _keyfile.EncryptedKey.parse(json.dumps(doc).encode())
    assert doc == before


@FAST
@given(
    st.fixed_dictionaries(
        {
            "kdf": st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["scrypt", "x"]),
                    "params": st.fixed_dictionaries(
                        {
                            "N": st.sampled_from([1, 16384, 2**40, "x"]),
                            "r": st.integers(),
                            "p": st.integers(),
                        }
                    ),
                    "salt": st.text(max_size=10),
                }
            ),
            "cipher": st.fixed_dictionaries(
                {"name": st.sampled_from(["nacl/secretbox", "x"]), "nonce": st.text(max_size=40)}
            ),
            "ciphertext": st.text(max_size=60),
        }
    )
)
def test_unaccepted_scrypt_parameters_never_reach_the_kdf(doc: dict[str, Any]) -> None:
    # none of these parameter sets is accepted: parsing must fail before any key derivation
    with pytest.raises(InputError):
        _keyfile.EncryptedKey.parse(json.dumps(doc).encode())


envelopes = st.fixed_dictionaries(
    {
        "payloadType": st.one_of(st.text(max_size=30), st.integers(), st.none()),
        "payload": st.one_of(
            st.binary(max_size=50).map(lambda b: base64.b64encode(b).decode()), st.text(max_size=20)
        ),
        "signatures": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "sig": st.one_of(
                            st.binary(max_size=80).map(lambda b: base64.b64encode(b).decode()),
                            st.text(max_size=10),
                        )
                    },
                    optional={"keyid": st.one_of(st.text(max_size=10), st.integers())},
                ),
                max_size=3,
            ),
            json_values,
        ),
    },
    optional={"extra": json_values},
)


@FAST
@given(envelopes)
def test_envelope_parser_and_verifier_total(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    for data in (doc, json.dumps(doc)):
        try:
            envelope = dsse.parse(data)
        except InputError:
            continue
        assert Envelope.from_json(envelope.to_json()) == envelope
        with pytest.raises((VerificationError, InputError)):
            dsse.verify(envelope, [VERIFIER])
    assert doc == before


@FAST
@given(st.binary(max_size=300))
def test_envelope_json_bytes_total(data: bytes) -> None:
    with contextlib.suppress(InputError):
        Envelope.from_json(data)


@FAST
@given(st.binary(max_size=200), st.text(max_size=40))
def test_dsse_round_trip_and_pae(payload: bytes, payload_type: str) -> None:
    envelope = dsse.sign(payload, SIGNER, payload_type=payload_type)
    assert dsse.verify(envelope.to_json(), [VERIFIER], payload_type=payload_type) == payload
    encoded = payload_type.encode()
    assert dsse.pae(payload_type, payload) == (
        b"DSSEv1 "
        + str(len(encoded)).encode()
        + b" "
        + encoded
        + b" "
        + str(len(payload)).encode()
        + b" "
        + payload
    )
    other = dsse.sign(payload + b"x", SIGNER, payload_type=payload_type).signatures
    forged = envelope.model_copy(update={"signatures": other})
    with pytest.raises(VerificationError):
        dsse.verify(forged, [VERIFIER])


DIGEST = "sha256:" + "ab" * 32
references = st.text(alphabet="abcdefgXYZ0123456789.:/@_-", max_size=40)


@FAST
@given(
    references,
    st.one_of(st.none(), st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)),
)
def test_simple_signing_total_and_round_trip(
    reference: str, optional: dict[str, str] | None
) -> None:
    try:
        data = simple_signing.payload(reference, DIGEST, optional)
    except InputError:
        return
    parsed = simple_signing.parse(data)
    assert parsed.docker_manifest_digest == DIGEST
    assert parsed.optional == optional
    assert simple_signing.docker_reference(parsed.docker_reference) == parsed.docker_reference


@FAST
@given(json_values)
def test_simple_signing_parser_total(doc: Any) -> None:
    with contextlib.suppress(InputError):
        simple_signing.parse(json.dumps(doc).encode())


@FAST
@given(
    st.fixed_dictionaries(
        {"mediaType": st.sampled_from([bundle.BUNDLE_V03, "x"])},
        optional={
            "verificationMaterial": json_values,
            "messageSignature": json_values,
            "dsseEnvelope": json_values,
        },
    )
)
def test_bundle_verifier_total(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    with pytest.raises(KonfluxSupplyError):
        bundle.verify_key_bundle(
            doc, VERIFIER, trusted_root=bundle.UNSAFE_IGNORE_TLOG, artifact=b"a"
        )
    assert doc == before


@FAST
@given(json_values)
def test_trusted_root_parser_total(doc: Any) -> None:
    with contextlib.suppress(InputError):
        bundle.TrustedRoot.from_json(
            json.dumps(
                {
                    "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                    "tlogs": doc,
                }
            ).encode()
        )


uri_text = st.text(alphabet="abcdefgkmsvwx0123456789:/;&?=%.-_+#é", max_size=60)


@FAST
@given(
    st.sampled_from(
        ["pkcs11:", "awskms://", "gcpkms://", "azurekms://", "hashivault://", "k8s://"]
    ),
    uri_text,
)
def test_uri_parsers_total(prefix: str, rest: str) -> None:
    uri = prefix + rest
    parser = {
        "pkcs11:": _pkcs11.Pkcs11Uri.parse,
        "awskms://": _awskms.AwsKmsUri.parse,
        "gcpkms://": _gcpkms.parse,
        "azurekms://": _azurekms.parse,
        "hashivault://": _hashivault.parse,
        "k8s://": _k8s.parse,
    }[prefix]
    with contextlib.suppress(InputError):
        parser(uri)


@FAST
@given(st.binary(max_size=2048))
def test_verifier_never_raises_other_errors(signature: bytes) -> None:
    assume(signature)
    with pytest.raises(VerificationError):
        VERIFIER.verify(signature, b"data")
