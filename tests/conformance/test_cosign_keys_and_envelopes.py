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
