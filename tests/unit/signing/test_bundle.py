"""Key-only bundles against a transparency log we build here (our own log key and Merkle tree)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import signing
from konflux_supply.cli import main
from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.canonical import dumps_sorted
from konflux_supply.signing import _rekor, bundle, dsse

LOG_KEY = ec.generate_private_key(ec.SECP256R1())
LOG_DER = LOG_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
LOG_ID = hashlib.sha256(LOG_DER).digest()
SIGNER = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
ARTIFACT = b"artifact bytes\n"


def _root(start: str = "2020-01-01T00:00:00Z", end: str | None = None) -> bundle.TrustedRoot:
    valid = {"start": start, **({"end": end} if end else {})}
    doc = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            {
                "baseUrl": "https://log.example",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": base64.b64encode(LOG_DER).decode(),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": valid,
                },
                "logId": {"keyId": base64.b64encode(LOG_ID).decode()},
            }
        ],
    }
    return bundle.TrustedRoot.from_json(json.dumps(doc).encode())


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _tree_root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return _rekor._node(_tree_root(leaves[:split]), _tree_root(leaves[split:]))


def _proof(index: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    if index < split:
        return [*_proof(index, leaves[:split]), _tree_root(leaves[split:])]
    return [*_proof(index - split, leaves[split:]), _tree_root(leaves[:split])]


def _entry(
    body: dict[str, Any], *, index: int = 5, size: int = 11, when: int = 1700000000
) -> dict[str, Any]:
    raw = json.dumps(body, separators=(",", ":")).encode()
    leaves = [_leaf(b"other %d" % i) for i in range(size)]
    leaves[index] = _leaf(raw)
    root = _tree_root(leaves)
    body_b64 = base64.b64encode(raw).decode()
    set_payload = dumps_sorted(
        {"body": body_b64, "integratedTime": when, "logID": LOG_ID.hex(), "logIndex": 1000 + index}
    )
    note = f"log.example - 42\n{size}\n{base64.b64encode(root).decode()}\n"
    note_sig = LOG_KEY.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
    checkpoint = (
        note + "\n\u2014 log.example " + base64.b64encode(LOG_ID[:4] + note_sig).decode() + "\n"
    )
    return {
        "logIndex": str(1000 + index),
        "logId": {"keyId": base64.b64encode(LOG_ID).decode()},
        "kindVersion": {"kind": body["kind"], "version": "0.0.1"},
        "integratedTime": str(when),
        "inclusionPromise": {
            "signedEntryTimestamp": base64.b64encode(
                LOG_KEY.sign(set_payload, ec.ECDSA(hashes.SHA256()))
            ).decode()
        },
        "inclusionProof": {
            "logIndex": str(index),
            "rootHash": base64.b64encode(root).decode(),
            "treeSize": str(size),
            "hashes": [base64.b64encode(h).decode() for h in _proof(index, leaves)],
            "checkpoint": {"envelope": checkpoint},
        },
        "canonicalizedBody": body_b64,
    }


def _pem_b64() -> str:
    return base64.b64encode(SIGNER.public_key_pem()).decode()


def _message_bundle() -> dict[str, Any]:
    signature = SIGNER.sign(ARTIFACT)
    doc = json.loads(bundle.message_signature_bundle(ARTIFACT, signature, SIGNER))
    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {
                "hash": {"algorithm": "sha256", "value": hashlib.sha256(ARTIFACT).hexdigest()}
            },
            "signature": {
                "content": base64.b64encode(signature).decode(),
                "publicKey": {"content": _pem_b64()},
            },
        },
    }
    doc["verificationMaterial"]["tlogEntries"] = [_entry(body)]
    return doc


def _dsse_bundle() -> dict[str, Any]:
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a", "digest": {"sha256": hashlib.sha256(ARTIFACT).hexdigest()}}],
            "predicateType": "https://example.com/p",
            "predicate": {},
        }
    ).encode()
    envelope = dsse.sign(statement, SIGNER)
    doc = json.loads(bundle.dsse_bundle(envelope, SIGNER))
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": "00"},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(statement).hexdigest()},
            "signatures": [{"signature": envelope.signatures[0].sig, "verifier": _pem_b64()}],
        },
    }
    doc["verificationMaterial"]["tlogEntries"] = [_entry(body)]
    return doc


VERIFIER = signing.load_verifier(SIGNER.public_key_pem())


@pytest.mark.parametrize(
    ("index", "size"), [(0, 1), (0, 2), (1, 2), (2, 3), (6, 7), (5, 11), (15, 16)]
)
def test_merkle_inclusion_proofs(index: int, size: int) -> None:
    leaves = [_leaf(b"%d" % i) for i in range(size)]
    root = _tree_root(leaves)
    proof = _proof(index, leaves)
    assert _rekor.merkle_root(index, size, leaves[index], proof) == root
    if proof:
        bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        assert _rekor.merkle_root(index, size, leaves[index], bad) != root
        assert _rekor.merkle_root(index, size, leaves[index], proof[:-1]) != root
    longer = [*proof, proof[0] if proof else root]
    assert _rekor.merkle_root(index, size, leaves[index], longer) != root
    assert _rekor.merkle_root(size, size, leaves[index], proof) is None


def test_message_signature_bundle_with_log_entry() -> None:
    result = bundle.verify_key_bundle(
        _message_bundle(), VERIFIER, trusted_root=_root(), artifact=ARTIFACT
    )
    assert result.tlog_entries == 1
    assert result.integrated_time == 1700000000
    assert result.public_key_pem == SIGNER.public_key_pem()


def test_dsse_bundle_with_log_entry() -> None:
    result = bundle.verify_key_bundle(
        _dsse_bundle(), VERIFIER, trusted_root=_root(), artifact=ARTIFACT
    )
    assert result.payload is not None
    assert result.payload_type == "application/vnd.in-toto+json"
    with pytest.raises(VerificationError, match="subject"):
        bundle.verify_key_bundle(_dsse_bundle(), VERIFIER, trusted_root=_root(), artifact=b"other")


def _edit(doc: dict[str, Any], change: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    change(out)
    return out


def _entry0(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["verificationMaterial"]["tlogEntries"][0]  # type: ignore[no-any-return]


def _body_from_other_signature(doc: dict[str, Any]) -> None:
    # an entry that is valid in the log, but for another signature (CVE-2022-36056 class)
    other = SIGNER.sign(ARTIFACT)
    body = json.loads(base64.b64decode(_entry0(doc)["canonicalizedBody"]))
    body["spec"]["signature"]["content"] = base64.b64encode(other).decode()
    doc["verificationMaterial"]["tlogEntries"] = [_entry(body)]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_body_from_other_signature, "inconsistent"),
        (lambda d: _entry0(d).update(integratedTime="1700000001"), "promise"),
        (lambda d: _entry0(d)["inclusionProof"].update(treeSize="12"), "proof"),
        (lambda d: _entry0(d)["inclusionProof"]["hashes"].reverse(), "proof"),
        (
            lambda d: _entry0(d)["inclusionProof"]["checkpoint"].update(
                envelope=_entry0(d)["inclusionProof"]["checkpoint"]["envelope"].replace("42", "43")
            ),
            "checkpoint",
        ),
        (
            lambda d: _entry0(d).pop("inclusionPromise") and _entry0(d).pop("inclusionProof"),
            "neither",
        ),
        (
            lambda d: _entry0(d).update(kindVersion={"kind": "hashedrekord", "version": "0.0.2"}),
            "unsupported",
        ),
    ],
)
def test_log_entry_tampering_fails(change: Any, match: str) -> None:
    with pytest.raises(VerificationError, match=match):
        bundle.verify_key_bundle(
            _edit(_message_bundle(), change), VERIFIER, trusted_root=_root(), artifact=ARTIFACT
        )


def test_log_key_validity_window() -> None:
    with pytest.raises(VerificationError, match="validity"):
        bundle.verify_key_bundle(
            _message_bundle(),
            VERIFIER,
            trusted_root=_root(start="2024-01-01T00:00:00Z"),
            artifact=ARTIFACT,
        )
    # the interval is closed: integrated time == end is still valid
    end = "2023-11-14T22:13:20Z"  # 1700000000
    bundle.verify_key_bundle(
        _message_bundle(), VERIFIER, trusted_root=_root(end=end), artifact=ARTIFACT
    )


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"mediaType": "application/vnd.dev.sigstore.bundle.v0.9+json"}, "mediaType"),
        ({"mediaType": [bundle.BUNDLE_V03]}, "mediaType"),
        ({"mediaType": {"a": 1}}, "mediaType"),
        ({"mediaType": bundle.BUNDLE_V03}, "verificationMaterial"),
        ({"mediaType": bundle.BUNDLE_V03, "verificationMaterial": {}}, "(bundle)"),
    ],
)
def test_malformed_bundles(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        bundle.verify_key_bundle(
            doc, VERIFIER, trusted_root=bundle.UNSAFE_IGNORE_TLOG, artifact=ARTIFACT
        )
    assert info.value.field == field


def test_trusted_root_is_required_explicitly() -> None:
    with pytest.raises(InputError, match="UNSAFE_IGNORE_TLOG"):
        bundle.verify_key_bundle(_message_bundle(), VERIFIER, trusted_root=None, artifact=ARTIFACT)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not a Sigstore trusted root"):
        bundle.TrustedRoot.from_json(b'{"mediaType": "x"}')


def test_cli_sign_blob_bundle_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    monkeypatch.chdir(tmp_path)
    signing.write_key_pair(signing.generate_key_pair(b"", scrypt=signing.LEGACY_SCRYPT), "cosign")
    (tmp_path / "file").write_bytes(ARTIFACT)
    assert main(["sign-blob", "--key", "cosign.key", "--bundle", "b.json", "file"]) == 0
    verify = ["verify-bundle", "--bundle", "b.json", "--key", "cosign.pub"]
    assert main([*verify, "--insecure-ignore-tlog", "file"]) == 0
    (tmp_path / "other").write_bytes(b"nope")
    assert main([*verify, "--insecure-ignore-tlog", "other"]) == 1
    (tmp_path / "pred.json").write_text("{}")
    args = ["attest-blob", "-k", "cosign.key", "--predicate", "pred.json", "--type", "https://x/y"]
    assert main([*args, "--bundle", "att.json", "file"]) == 0
    assert (
        main(
            [
                "verify-bundle",
                "--bundle",
                "att.json",
                "-k",
                "cosign.pub",
                "--insecure-ignore-tlog=true",
                "file",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "verify-bundle",
                "--bundle",
                "att.json",
                "-k",
                "cosign.pub",
                "--certificate-identity",
                "x",
                "file",
            ]
        )
        == 2
    )
    assert (
        main(["verify-bundle", "--bundle", "att.json", "--certificate-identity", "x", "file"]) == 2
    )


def test_keyless_needs_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from konflux_supply.errors import BackendUnavailable

    monkeypatch.setitem(sys.modules, "sigstore", None)
    monkeypatch.setitem(sys.modules, "sigstore.errors", None)
    with pytest.raises(BackendUnavailable) as info:
        bundle.verify_keyless_bundle(
            _message_bundle(), trusted_root="x.json", identity="a", issuer="b", artifact=ARTIFACT
        )
    assert "konflux-supply[keyless]" in (info.value.hint or "")
    with pytest.raises(InputError, match="identity and an issuer"):
        bundle.verify_keyless_bundle(
            _message_bundle(), trusted_root="x.json", identity="", issuer="b"
        )


def _dsse_bundle_reusing_a_logged_signature() -> dict[str, Any]:
    # The log holds (in-toto type, P, S1). The bundle's envelope says another payloadType for
    # the same payload, signed by the key but never logged, and carries S1 along: the logged
    # signature does not verify over this envelope, so the entry does not describe it.
    doc = _dsse_bundle()
    logged = doc["dsseEnvelope"]["signatures"][0]
    statement = base64.b64decode(doc["dsseEnvelope"]["payload"])
    other = dsse.sign(statement, SIGNER, payload_type="application/x-never-logged")
    doc["dsseEnvelope"]["payloadType"] = other.payload_type
    doc["dsseEnvelope"]["signatures"] = [{"sig": other.signatures[0].sig}, logged]
    return doc


def test_dsse_log_entry_must_hold_a_signature_over_this_envelope() -> None:
    doc = _dsse_bundle_reusing_a_logged_signature()
    # the envelope itself verifies with the key (its first signature) ...
    assert dsse.verify(doc["dsseEnvelope"], [VERIFIER])
    # ... but the log never saw a signature over this payloadType
    with pytest.raises(VerificationError, match="inconsistent"):
        bundle.verify_key_bundle(doc, VERIFIER, trusted_root=_root(), artifact=ARTIFACT)


def test_cli_verify_bundle_needs_the_artifact_unless_claims_are_waived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without FILE, an attestation bundle about *any* artifact would print "Verified OK".
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    monkeypatch.chdir(tmp_path)
    signing.write_key_pair(signing.generate_key_pair(b"", scrypt=signing.LEGACY_SCRYPT), "cosign")
    (tmp_path / "file").write_bytes(ARTIFACT)
    (tmp_path / "pred.json").write_text("{}")
    attest = ["attest-blob", "-k", "cosign.key", "--predicate", "pred.json", "--type", "x:y"]
    assert main([*attest, "--bundle", "att.json", "file"]) == 0
    verify = ["verify-bundle", "--bundle", "att.json", "-k", "cosign.pub", "--insecure-ignore-tlog"]
    assert main(verify) == 2
    assert main([*verify, "--check-claims=false"]) == 0
    assert main([*verify, "file"]) == 0
    (tmp_path / "other").write_bytes(b"other")
    assert main([*verify, "other"]) == 1
    # cosign's --check-claims=false checks the signature alone: the FILE's digest need not be
    # a subject of the statement.
    assert main([*verify, "--check-claims=false", "other"]) == 0
    # A message signature is over the FILE itself, so the FILE still matters there.
    assert main(["sign-blob", "-k", "cosign.key", "--bundle", "msg.json", "file"]) == 0
    verify_msg = ["verify-bundle", "--bundle", "msg.json", "-k", "cosign.pub"]
    verify_msg.append("--insecure-ignore-tlog")
    assert main([*verify_msg, "--check-claims=false", "file"]) == 0
    assert main([*verify_msg, "--check-claims=false", "other"]) == 1
    assert main([*verify_msg, "--check-claims=false"]) == 2


def _set_type(doc: dict[str, Any], value: str) -> None:
    doc["dsseEnvelope"]["payloadType"] = value


@pytest.mark.parametrize(
    ("make", "change", "error"),
    [
        (_message_bundle, lambda d: _entry0(d).update(integratedTime="9" * 20), InputError),
        (_message_bundle, lambda d: _entry0(d).update(integratedTime=float("inf")), InputError),
        (_message_bundle, lambda d: _entry0(d).update(integratedTime=1e300), InputError),
        (_message_bundle, lambda d: _entry0(d).update(logIndex=float("inf")), InputError),
        (_dsse_bundle, lambda d: _set_type(d, "\ud800"), InputError),
        (
            _message_bundle,
            lambda d: (
                _entry0(d).pop("inclusionPromise")
                and _entry0(d)["inclusionProof"]["checkpoint"].update(
                    envelope="\ud800" + _entry0(d)["inclusionProof"]["checkpoint"]["envelope"]
                )
            ),
            VerificationError,
        ),
    ],
    ids=[
        "time-huge",
        "time-infinity",
        "time-1e300",
        "index-infinity",
        "type-lone-surrogate",
        "checkpoint-origin-lone-surrogate",
    ],
)
def test_hostile_values_are_typed_errors(make: Any, change: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        bundle.verify_key_bundle(
            _edit(make(), change), VERIFIER, trusted_root=_root(), artifact=ARTIFACT
        )


def test_lone_surrogate_payload_type_from_json_text_is_typed() -> None:
    # Python's json (unlike Go's) decodes "\ud800" to a lone surrogate.
    doc = json.dumps(_edit(_dsse_bundle(), lambda d: _set_type(d, "\ud800")))
    assert "\\ud800" in doc
    with pytest.raises(InputError, match="payloadType"):
        bundle.verify_key_bundle(doc, VERIFIER, trusted_root=_root(), artifact=ARTIFACT)


class _EngineRaises:
    """Stands in for sigstore-python's Verifier and fails with a foreign exception type."""

    error: Exception = ValueError("boom")

    def __init__(self, **_: object) -> None:
        pass

    def verify_artifact(self, *_: object) -> None:
        raise self.error

    def verify_dsse(self, *_: object) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [ValueError("boom"), KeyError("x"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")],
    ids=["ValueError", "KeyError", "UnicodeDecodeError"],
)
@pytest.mark.parametrize("make", [_message_bundle, _dsse_bundle], ids=["message", "dsse"])
def test_keyless_foreign_exceptions_are_verification_errors(
    monkeypatch: pytest.MonkeyPatch, error: Exception, make: Any
) -> None:
    pytest.importorskip("sigstore")
    import sigstore.models
    import sigstore.verify

    monkeypatch.setattr(sigstore.models.TrustedRoot, "from_file", lambda _: object())
    monkeypatch.setattr(sigstore.models.Bundle, "from_json", lambda _: object())
    monkeypatch.setattr(_EngineRaises, "error", error)
    monkeypatch.setattr(sigstore.verify, "Verifier", _EngineRaises)
    with pytest.raises(VerificationError, match=type(error).__name__):
        bundle.verify_keyless_bundle(
            make(), trusted_root="root.json", identity="a", issuer="b", artifact=ARTIFACT
        )


def test_checkpoint_signature_lines_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # A forged entry (no promise; attacker-chosen proof and root) with a huge checkpoint of
    # bogus signature lines carrying the log's key hint: each line used to cost a verification.
    doc = _message_bundle()
    entry = _entry0(doc)
    entry.pop("inclusionPromise")
    note, _, _ = entry["inclusionProof"]["checkpoint"]["envelope"].partition("\n\n")
    bogus = (
        "\u2014 x " + base64.b64encode(LOG_ID[:4] + b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()
    )
    entry["inclusionProof"]["checkpoint"]["envelope"] = note + "\n\n" + "\n".join([bogus] * 500)
    checks: list[int] = []
    original = _rekor.KeyVerifier.check
    monkeypatch.setattr(
        _rekor.KeyVerifier, "check", lambda self, s, d: checks.append(1) or original(self, s, d)
    )
    with pytest.raises(VerificationError, match="checkpoint"):
        bundle.verify_key_bundle(doc, VERIFIER, trusted_root=_root(), artifact=ARTIFACT)
    assert len(checks) <= _rekor.MAX_CHECKPOINT_SIGNATURES
