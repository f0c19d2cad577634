"""Conformance against real cosign and Chains artefacts (peer corpus, read-only).

Expectations come from ``shared/peers/sigstore/MANIFEST.md`` §1-§2 and
``shared/peers/chains/MANIFEST.md`` §5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from konflux_supply import signing
from konflux_supply.errors import InputError

pytestmark = pytest.mark.conformance

KEYS = "sigstore/cosign/extracted/pkg/cosign/keys_test.go.extracted"

# MANIFEST §1: the verdict cosign gives each import-key-pair input.
IMPORT_VERDICTS = {
    "validrsa.key": None,
    "validrsapkcs1.key": None,
    "validrsapkcs8.key": None,
    "validecp256.key": None,
    "validecp384.key": None,
    "validecp521.key": None,
    "validecpkcs8.key": None,
    "ed25519key.key": None,
    "invalidrsasmallkey.key": "key size not supported",
    "invalidrsalargekey.key": "key size not supported",
    "invalidecp224.key": "ECDSA curve P-224 not allowed",
    "invalidecunsupported.key": "error parsing ecdsa private key",
    "invalidrsawithpubkey.pem": "unsupported private key",
    "invalidkey.key": "invalid pem block",
}


@pytest.mark.parametrize("name", ["pemsigstorekey.key", "pemcosignkey.key"])
def test_cosign_encrypted_keys_load_and_sign(peers: Path, name: str) -> None:
    signer = signing.load_signer(str(peers / KEYS / name), secrets=lambda what: b"hello")
    data = b'{"critical":{}}'
    signing.load_verifier(signer.public_key_pem()).verify(signer.sign(data), data)


def test_sec1_inside_cosign_key_is_rejected_as_cosign_does(peers: Path) -> None:
    with pytest.raises(InputError, match="not a PKCS#8 private key"):
        signing.load_signer(str(peers / KEYS / "pemcosigneckey.key"), secrets=lambda w: b"hello")


def test_wrong_password_on_a_real_cosign_key(peers: Path) -> None:
    with pytest.raises(InputError, match="decryption failed"):
        signing.load_signer(str(peers / KEYS / "pemsigstorekey.key"), secrets=lambda w: b"")


def test_cosign_ci_key_parses_but_needs_its_secret_password(peers: Path) -> None:
    path = peers / "sigstore/cosign/.github/workflows/cosign-test.key"
    with pytest.raises(InputError, match="decryption failed"):
        signing.load_signer(str(path))
    signing.load_verifier(str(peers / "sigstore/cosign/.github/workflows/cosign-test.pub"))


@pytest.mark.parametrize("name", sorted(IMPORT_VERDICTS))
def test_import_key_pair_verdicts(peers: Path, name: str) -> None:
    data = (peers / KEYS / name).read_bytes()
    expected = IMPORT_VERDICTS[name]
    if expected is None:
        pair = signing.import_key_pair(data, b"pw", scrypt=signing.LEGACY_SCRYPT)
        assert pair.private_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    else:
        with pytest.raises(InputError) as info:
            signing.import_key_pair(data, b"pw")
        assert info.value.message.startswith(expected), info.value.message


@pytest.mark.parametrize(
    "name",
    [
        "sigstore/cosign/release/release-cosign.pub",
        "sigstore/cosign/pkg/cosign/testdata/google",
        "sigstore/cosign/pkg/cosign/testdata/rsa",
        "sigstore/cosign/pkg/cosign/testdata/letsencrypt-testflume-2021",
        f"{KEYS}/../../../cmd/cosign/cli/verify/verify_blob_attestation_test.go.extracted/pubkey.pub",
    ],
)
def test_public_key_samples_parse(peers: Path, name: str) -> None:
    verifier = signing.load_verifier(str(peers / name))
    assert signing.keyid(verifier).startswith("SHA256:")


def test_chains_keyid(peers: Path) -> None:
    import json

    vectors = json.loads((peers / "chains/derived/signing-vectors.json").read_text())
    assert signing.keyid(vectors["publicKeyPEM"].encode()) == vectors["dsseKeyId"]


ENVELOPES = (
    "sigstore/cosign/extracted/cmd/cosign/cli/verify/verify_blob_attestation_test.go.extracted"
)
COSIGN_ENVELOPES = [
    "blobSLSAProvenanceSignature.dsse.json",
    "dssePredicateEmptySubject.dsse.json",
    "dssePredicateMissingSha256.dsse.json",
    "dssePredicateMultipleSubjects.dsse.json",
    "dssePredicateMultipleSubjectsInvalid.dsse.json",
]


@pytest.mark.parametrize("name", COSIGN_ENVELOPES)
def test_real_cosign_envelopes_verify(peers: Path, name: str) -> None:
    from konflux_supply.signing import dsse

    data = (peers / ENVELOPES / name).read_bytes()
    verifier = signing.load_verifier(str(peers / ENVELOPES / "pubkey.pub"))
    payload = dsse.verify(data, [verifier], payload_type=dsse.IN_TOTO_PAYLOAD_TYPE)
    assert payload.startswith(b"{")
    # our own serialisation of the parsed envelope is byte-identical to cosign's
    assert dsse.parse(data).to_json() == data.rstrip(b"\n")


@pytest.mark.parametrize("name", COSIGN_ENVELOPES)
def test_real_cosign_envelopes_reject_tampering(peers: Path, name: str) -> None:
    import base64
    import json

    from konflux_supply.errors import VerificationError
    from konflux_supply.signing import dsse

    doc = json.loads((peers / ENVELOPES / name).read_bytes())
    verifier = signing.load_verifier(str(peers / ENVELOPES / "pubkey.pub"))
    payload = base64.b64decode(doc["payload"])
    for change in (
        {"payloadType": "application/json"},
        {"payload": base64.b64encode(payload + b" ").decode()},
        {"signatures": []},
    ):
        with pytest.raises(VerificationError):
            dsse.verify({**doc, **change}, [verifier])
    other = signing.load_verifier(str(peers / "sigstore/cosign/release/release-cosign.pub"))
    with pytest.raises(VerificationError):
        dsse.verify(doc, [other])


def test_chains_signing_vectors(peers: Path) -> None:
    import base64
    import json

    from konflux_supply.signing import dsse, simple_signing

    vectors = json.loads((peers / "chains/derived/signing-vectors.json").read_text())
    verifier = signing.load_verifier(vectors["publicKeyPEM"])
    envelope = vectors["dsseEnvelope"]
    assert dsse.verify(envelope, [verifier]) == vectors["dsseInnerPayloadRaw"].encode()
    assert envelope["signatures"][0]["keyid"] == signing.keyid(verifier)
    digest = "sha256:20ab676d319c93ef5b4bef9290ed913ed8feaa0c92c43a7cddc28a3697918b92"
    raw = simple_signing.payload("gcr.io/foo/bar", digest)
    assert raw == vectors["simpleSigningPayloadRaw"].encode()
    verifier.verify(base64.b64decode(vectors["simpleSigningSignatureB64"]), raw)
    tagged = simple_signing.payload(f"ubuntu:22.04@{digest}", digest)
    assert tagged == vectors["simpleSigningPayloadRawDockerHubTagged"].encode()


def test_cosign_v1_public_trace_payload_bytes(peers: Path) -> None:
    from konflux_supply.signing import simple_signing

    trace = peers / "sigstore/public-trace/cosign-v1.13.1-dockerhub/payload.json"
    digest = "sha256:4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d"
    assert simple_signing.payload("chihjenhuang/cosign1:t1", digest) == trace.read_bytes()


@pytest.mark.parametrize(
    ("envelope", "blob", "predicate_type", "code"),
    [
        # MANIFEST §2: verify-blob-attestation --key pubkey.pub --type slsaprovenance blob
        ("blobSLSAProvenanceSignature.dsse.json", "blob", "slsaprovenance", 0),
        ("blobSLSAProvenanceSignature.dsse.json", "other-blob", "slsaprovenance", 1),
        ("blobSLSAProvenanceSignature.dsse.json", "blob", "custom", 1),
        ("dssePredicateEmptySubject.dsse.json", "blob", "slsaprovenance", 1),
        ("dssePredicateMissingSha256.dsse.json", "blob", "slsaprovenance", 1),
        ("dssePredicateMultipleSubjects.dsse.json", "blob", "slsaprovenance", 0),
        ("dssePredicateMultipleSubjectsInvalid.dsse.json", "blob", "slsaprovenance", 1),
    ],
)
def test_verify_blob_attestation_cli_matches_cosign(
    peers: Path, envelope: str, blob: str, predicate_type: str, code: int
) -> None:
    from konflux_supply.cli import main

    folder = peers / ENVELOPES
    args = [
        "verify-blob-attestation",
        "--key",
        str(folder / "pubkey.pub"),
        "--signature",
        str(folder / envelope),
        "--type",
        predicate_type,
        str(folder / blob),
    ]
    assert main(args) == code
