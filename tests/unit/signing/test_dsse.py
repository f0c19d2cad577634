"""DSSE: PAE, sign, verify, thresholds, tampering, and the Envelope model."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from konflux_supply import signing
from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.dsse import Envelope, Signature
from konflux_supply.signing import dsse

KEY_A = ec.generate_private_key(ec.SECP256R1())
KEY_B = ec.generate_private_key(ec.SECP256R1())
KEY_C = ed25519.Ed25519PrivateKey.generate()
SIGNER_A = signing.signer_from_private_key(KEY_A)
SIGNER_B = signing.signer_from_private_key(KEY_B)
SIGNER_C = signing.signer_from_private_key(KEY_C)
VERIFIER_A = signing.verifier_from_public_key(KEY_A.public_key())
VERIFIER_B = signing.verifier_from_public_key(KEY_B.public_key())
VERIFIER_C = signing.verifier_from_public_key(KEY_C.public_key())
STATEMENT = b'{"_type":"https://in-toto.io/Statement/v1","subject":[]}'


def test_pae_uses_byte_lengths() -> None:
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert dsse.pae("t\u00e9", "\u00e9".encode()) == b"DSSEv1 3 t\xc3\xa9 2 \xc3\xa9"
    assert dsse.pae("", b"") == b"DSSEv1 0  0 "


def test_sign_writes_go_securesystemslib_bytes() -> None:
    envelope = dsse.sign(STATEMENT, SIGNER_A)
    data = envelope.to_json()
    payload = base64.b64encode(STATEMENT).decode()
    assert data.startswith(
        b'{"payloadType":"application/vnd.in-toto+json","payload":"'
        + payload.encode()
        + b'","signatures":[{"keyid":"","sig":"'
    )
    assert data.endswith(b'"}]}')
    raw = envelope.signatures[0].signature
    KEY_A.public_key().verify(
        raw, dsse.pae("application/vnd.in-toto+json", STATEMENT), ec.ECDSA(hashes.SHA256())
    )
    assert dsse.verify(data, [VERIFIER_A]) == STATEMENT


def test_keyid_options() -> None:
    assert dsse.sign(STATEMENT, SIGNER_A, keyid="k1").signatures[0].keyid == "k1"
    assert dsse.sign(STATEMENT, SIGNER_A, keyid=None).signatures[0].keyid == signing.keyid(SIGNER_A)


@pytest.mark.parametrize("keyid", ["", "SHA256:not-this-key", "anything"])
def test_keyid_is_only_a_hint(keyid: str) -> None:
    envelope = dsse.sign(STATEMENT, SIGNER_A, keyid=keyid)
    assert dsse.verify(envelope, [VERIFIER_A]) == STATEMENT


def test_payload_type_is_bound_and_checked() -> None:
    envelope = dsse.sign(STATEMENT, SIGNER_A, payload_type="application/x-custom")
    assert dsse.verify(envelope, [VERIFIER_A], payload_type="application/x-custom") == STATEMENT
    with pytest.raises(VerificationError, match="payloadType"):
        dsse.verify(envelope, [VERIFIER_A], payload_type="application/vnd.in-toto+json")
    changed = envelope.to_dict()
    changed["payloadType"] = "application/vnd.in-toto+json"
    with pytest.raises(VerificationError, match="none of the 1 signature"):
        dsse.verify(changed, [VERIFIER_A])


def _tampered(envelope: Envelope, **changes: object) -> dict[str, object]:
    doc = envelope.to_dict()
    doc.update(changes)
    return doc


ENVELOPE = dsse.sign(STATEMENT, SIGNER_A)
SIG = ENVELOPE.signatures[0].sig


@pytest.mark.parametrize(
    ("doc", "error", "match"),
    [
        (
            _tampered(ENVELOPE, payload=base64.b64encode(STATEMENT + b" ").decode()),
            VerificationError,
            "none of",
        ),
        (_tampered(ENVELOPE, signatures=[]), VerificationError, "no signatures"),
        (_tampered(ENVELOPE, signatures=[{"keyid": "", "sig": ""}]), VerificationError, "none"),
        (_tampered(ENVELOPE, signatures=[{"keyid": "", "sig": "!!"}]), InputError, "base64"),
        (
            _tampered(ENVELOPE, signatures=[{"keyid": "", "sig": SIG[:-4]}]),
            VerificationError,
            "none of",
        ),
        (
            _tampered(
                ENVELOPE,
                signatures=[
                    {"keyid": "", "sig": base64.b64encode(SIGNER_A.sign(STATEMENT)).decode()}
                ],
            ),
            VerificationError,
            "none of",
        ),
        (_tampered(ENVELOPE, payload="not base64!"), InputError, "base64"),
        (_tampered(ENVELOPE, payloadType=5), InputError, "string"),
        (_tampered(ENVELOPE, signatures=None), InputError, "array"),
        ({"payload": "", "signatures": []}, InputError, "missing"),
    ],
    ids=[
        "changed-payload",
        "zero-signatures",
        "empty-signature",
        "invalid-base64-signature",
        "truncated-signature",
        "signature-over-non-pae-bytes",
        "invalid-base64-payload",
        "payload-type-not-string",
        "signatures-null",
        "missing-payload-type",
    ],
)
def test_tampering_and_malformed_input_fail(
    doc: dict[str, object], error: type[Exception], match: str
) -> None:
    before = copy.deepcopy(doc)
    with pytest.raises(error, match=match):
        dsse.verify(doc, [VERIFIER_A])
    with pytest.raises(error, match=match):
        dsse.verify(json.dumps(doc), [VERIFIER_A])
    assert doc == before  # the caller's object is untouched


def test_field_paths_name_the_bad_signature() -> None:
    doc = _tampered(ENVELOPE, signatures=[{"sig": SIG}, {"keyid": "", "sig": "%%"}])
    with pytest.raises(InputError) as info:
        dsse.parse(doc, source="env.json")
    assert info.value.field == "signatures[1].sig"
    assert info.value.source == "env.json"


def test_wrong_key_fails_and_several_signatures_are_allowed() -> None:
    with pytest.raises(VerificationError):
        dsse.verify(ENVELOPE, [VERIFIER_B])
    both = dsse.add_signature(ENVELOPE, SIGNER_B, keyid="b")
    assert len(ENVELOPE.signatures) == 1  # not mutated
    assert len(both.signatures) == 2
    assert dsse.verify(both, [VERIFIER_B]) == STATEMENT
    assert dsse.verify(both, [VERIFIER_A, VERIFIER_B], threshold=2) == STATEMENT
    # one trusted signature among untrusted ones is enough at threshold 1
    three = dsse.add_signature(both, SIGNER_C)
    assert dsse.verify(three, [VERIFIER_C]) == STATEMENT


def test_threshold_counts_distinct_keys_not_signatures() -> None:
    twice = dsse.add_signature(ENVELOPE, SIGNER_A)  # ECDSA is randomised: a second valid sig
    assert twice.signatures[0].sig != twice.signatures[1].sig
    same_key_again = signing.verifier_from_public_key(KEY_A.public_key())
    with pytest.raises(InputError, match="larger than the number of distinct keys"):
        dsse.verify(twice, [VERIFIER_A, same_key_again], threshold=2)
    with pytest.raises(VerificationError, match="1 distinct key"):
        dsse.verify(twice, [VERIFIER_A, VERIFIER_B], threshold=2)
    result = dsse.verify_envelope(twice, [VERIFIER_A, VERIFIER_B])
    assert result.keyids == (signing.keyid(KEY_A),)


@pytest.mark.parametrize("threshold", [0, -1, True, 1.5])
def test_bad_thresholds(threshold: object) -> None:
    with pytest.raises(InputError, match="threshold"):
        dsse.verify(ENVELOPE, [VERIFIER_A], threshold=threshold)  # type: ignore[arg-type]


def test_no_verifiers_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no verification keys"):
        dsse.verify(ENVELOPE, [])


def test_single_verifier_without_a_list() -> None:
    assert dsse.verify(ENVELOPE, VERIFIER_A) == STATEMENT


def test_every_key_type_round_trips() -> None:
    for key in (
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP521R1()),
        rsa.generate_private_key(65537, 2048),
        ed25519.Ed25519PrivateKey.generate(),
    ):
        envelope = dsse.sign(STATEMENT, signing.signer_from_private_key(key))
        assert dsse.verify(envelope, [signing.verifier_from_public_key(key.public_key())])


def test_backend_errors_propagate_never_pass() -> None:
    from konflux_supply.errors import BackendUnavailable

    class Down:
        def public_key_pem(self) -> bytes:
            return VERIFIER_B.public_key_pem()

        def verify(self, signature: bytes, data: bytes) -> None:
            raise BackendUnavailable("kms down")

    with pytest.raises(BackendUnavailable):
        dsse.verify(ENVELOPE, [Down()])


def test_url_safe_base64_and_unknown_fields_are_accepted() -> None:
    doc = ENVELOPE.to_dict()
    doc["payload"] = base64.urlsafe_b64encode(STATEMENT).decode()
    doc["signatures"] = [
        {"sig": base64.urlsafe_b64encode(ENVELOPE.signatures[0].signature).decode(), "x": 1}
    ]
    doc["future"] = {"a": 1}
    envelope = dsse.parse(doc)
    assert dsse.verify(envelope, [VERIFIER_A]) == STATEMENT
    out = json.loads(envelope.to_json())
    assert out["future"] == {"a": 1}
    assert out["signatures"][0] == {"keyid": "", "sig": doc["signatures"][0]["sig"], "x": 1}


def test_envelope_model_is_frozen_and_decodes_once() -> None:
    envelope = Envelope.from_json(ENVELOPE.to_json())
    with pytest.raises(Exception):  # noqa: B017,PT011 - pydantic frozen instance error
        envelope.payload = "x"  # type: ignore[misc]
    assert envelope.payload_bytes == STATEMENT
    copied = envelope.model_copy(update={"payload": base64.b64encode(b"other").decode()})
    assert copied.payload_bytes == b"other"  # the cache never answers for another payload
    constructed = Envelope.model_construct(
        payload_type="t", payload=base64.b64encode(b"x").decode(), signatures=()
    )
    assert constructed.payload_bytes == b"x"


def test_created_models_equal_validated_ones() -> None:
    """Signature.create / Envelope.create skip validation; what they build must be exactly
    what pydantic builds from the same JSON (fields, fields set, extras, decoded caches)."""
    signature = Signature.create(b"\x30\x01\xff", "k")
    envelope = Envelope.create(STATEMENT, "t", [signature])
    parsed = Envelope.from_json(envelope.to_json())
    assert envelope == parsed
    assert envelope.signatures[0] == parsed.signatures[0] == Signature(keyid="k", sig="MAH/")
    for made, validated in ((envelope, parsed), (signature, parsed.signatures[0])):
        assert made.model_fields_set == validated.model_fields_set
        assert made.model_extra == validated.model_extra == {}
        assert made.__pydantic_private__ == validated.__pydantic_private__
    assert envelope.payload_bytes == STATEMENT
    assert signature.signature == b"\x30\x01\xff"
    assert envelope.model_copy(update={"payload_type": "u"}).payload_type == "u"
    with pytest.raises(InputError, match="keyid must be a string"):
        dsse.sign(STATEMENT, SIGNER_A, keyid=1)  # type: ignore[arg-type]


def test_go_escaping_in_to_json() -> None:
    envelope = Envelope.create(b"", "a<b>&c", [Signature(sig="")])
    assert envelope.to_json() == (
        b'{"payloadType":"a\\u003cb\\u003e\\u0026c","payload":"","signatures":[{"keyid":"","sig":""}]}'
    )


def test_parse_rejects_other_types_and_invalid_json() -> None:
    with pytest.raises(InputError, match="expected a DSSE envelope"):
        dsse.parse(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="invalid JSON"):
        dsse.parse(b'{"payloadType":')
    with pytest.raises(InputError, match="expected a JSON object"):
        dsse.parse(b"[]")
    with pytest.raises(InputError, match="must be bytes"):
        dsse.sign("text", SIGNER_A)  # type: ignore[arg-type]


class _SameKeyOtherPem:
    """A custom Verifier for KEY_A whose PEM differs in bytes (CRLF, trailing text, PKCS#1…)."""

    def __init__(self, pem: bytes) -> None:
        self._pem = pem

    def public_key_pem(self) -> bytes:
        return self._pem

    def verify(self, signature: bytes, data: bytes) -> None:
        VERIFIER_A.verify(signature, data)


_PEM_A = VERIFIER_A.public_key_pem()


@pytest.mark.parametrize(
    "pem",
    [
        _PEM_A.replace(b"\n", b"\r\n"),
        _PEM_A + b"\n",
        b"comment before the block\n" + _PEM_A,
        _PEM_A.replace(b"\n", b"\n\n", 1),
    ],
    ids=["crlf", "trailing-newline", "leading-text", "blank-line"],
)
def test_threshold_is_not_met_by_one_key_under_two_pem_spellings(pem: bytes) -> None:
    twice = dsse.add_signature(ENVELOPE, SIGNER_A)
    with pytest.raises(InputError, match="larger than the number of distinct keys"):
        dsse.verify(twice, [VERIFIER_A, _SameKeyOtherPem(pem)], threshold=2)
    result = dsse.verify_envelope(twice, [_SameKeyOtherPem(pem), VERIFIER_B])
    assert result.public_keys == (_PEM_A,)  # reported in the canonical PKIX PEM


def test_a_verifier_whose_pem_is_not_a_key_is_an_input_error() -> None:
    with pytest.raises(InputError, match="verifier"):
        dsse.verify(ENVELOPE, [_SameKeyOtherPem(b"not a key")])


def test_lone_surrogate_payload_type_is_an_input_error() -> None:
    doc = _tampered(ENVELOPE, payloadType="\udc80")
    with pytest.raises(InputError, match="payloadType"):
        dsse.verify(doc, [VERIFIER_A])
    with pytest.raises(InputError, match="payloadType"):
        dsse.sign(STATEMENT, SIGNER_A, payload_type="\udc80")


def test_signature_count_is_bounded_before_any_verification() -> None:
    # 200k structurally valid ECDSA signatures x 4 keys took ~45 s to reject: a DoS on a
    # release pipeline by anyone who can attach an attestation.
    calls: list[int] = []

    class Counting:
        def public_key_pem(self) -> bytes:
            return VERIFIER_A.public_key_pem()

        def verify(self, signature: bytes, data: bytes) -> None:
            calls.append(1)
            VERIFIER_A.verify(signature, data)

    many = _tampered(ENVELOPE, signatures=[{"sig": SIG}] * (dsse.MAX_SIGNATURES + 1))
    with pytest.raises(InputError, match="signatures") as info:
        dsse.verify(many, [Counting()])
    assert info.value.field == "signatures"
    assert calls == []
    enough = _tampered(
        ENVELOPE, signatures=[{"sig": "AAAA"}] * (dsse.MAX_SIGNATURES - 1) + [{"sig": SIG}]
    )
    assert dsse.verify(enough, [VERIFIER_A]) == STATEMENT
