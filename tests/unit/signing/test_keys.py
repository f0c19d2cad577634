"""Signers and verifiers: hashes per key type (cosign rules), fallbacks, key parsing, keyid."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from konflux_supply import signing
from konflux_supply.errors import InputError, VerificationError
from konflux_supply.signing import _keys

P256 = ec.generate_private_key(ec.SECP256R1())
P384 = ec.generate_private_key(ec.SECP384R1())
P521 = ec.generate_private_key(ec.SECP521R1())
RSA2048 = rsa.generate_private_key(65537, 2048)
ED25519 = ed25519.Ed25519PrivateKey.generate()
DATA = b"some payload \x00\xff"


@pytest.mark.parametrize(
    ("key", "hash_type", "name"),
    [
        (P256, hashes.SHA256, "ecdsa-sha2-256-nistp256"),
        (P384, hashes.SHA384, "ecdsa-sha2-384-nistp384"),
        (P521, hashes.SHA512, "ecdsa-sha2-512-nistp521"),
    ],
)
def test_ecdsa_signs_der_with_the_curve_hash(
    key: ec.EllipticCurvePrivateKey, hash_type: type[hashes.HashAlgorithm], name: str
) -> None:
    signer = signing.signer_from_private_key(key)
    signature = signer.sign(DATA)
    utils.decode_dss_signature(signature)  # ASN.1 DER
    key.public_key().verify(signature, DATA, ec.ECDSA(hash_type()))
    assert signer.algorithm == name


def test_rsa_signs_pkcs1v15_sha256() -> None:
    signature = signing.signer_from_private_key(RSA2048).sign(DATA)
    RSA2048.public_key().verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())


def test_ed25519_signs_ed25519ph_like_cosign() -> None:
    signer = signing.signer_from_private_key(ED25519)
    signature = signer.sign(DATA)
    assert signer.algorithm == "ed25519-ph"
    with pytest.raises(Exception):  # noqa: B017,PT011 - not a pure Ed25519 signature
        ED25519.public_key().verify(signature, DATA)
    assert _keys.ed25519ph_verify(ED25519.public_key(), signature, DATA)
    pure = signing.signer_from_private_key(ED25519, ed25519ph=False)
    ED25519.public_key().verify(pure.sign(DATA), DATA)


def test_ed25519ph_matches_rfc8032_test_vector() -> None:
    # RFC 8032 section 7.3, "TEST abc".
    seed = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    expected = bytes.fromhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    )
    assert signing.signer_from_private_key(key).sign(b"abc") == expected


@pytest.mark.parametrize(
    "key", [P256, P384, P521, RSA2048, ED25519], ids=lambda k: type(k).__name__
)
def test_verifier_accepts_own_signatures_and_rejects_tampering(key: signing.PrivateKey) -> None:
    signer = signing.signer_from_private_key(key)
    verifier = signing.load_verifier(signer.public_key_pem())
    signature = signer.sign(DATA)
    verifier.verify(signature, DATA)
    with pytest.raises(VerificationError, match="invalid signature"):
        verifier.verify(signature, DATA + b"!")
    with pytest.raises(VerificationError):
        verifier.verify(b"", DATA)
    with pytest.raises(VerificationError):
        verifier.verify(signature[:-1], DATA)
    bad = bytearray(signature)
    bad[len(bad) // 2] ^= 1
    with pytest.raises(VerificationError):
        verifier.verify(bytes(bad), DATA)


@pytest.mark.parametrize(
    ("key", "make"),
    [
        # cosign's legacy verify path hashes P-384 with SHA-256
        (P384, lambda k: k.sign(DATA, ec.ECDSA(hashes.SHA256()))),
        # AWS KMS / GCP / Azure RSA schemes
        (
            RSA2048,
            lambda k: k.sign(
                DATA,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            ),
        ),
        (RSA2048, lambda k: k.sign(DATA, padding.PKCS1v15(), hashes.SHA512())),
        # pure Ed25519 (Chains / older cosign)
        (ED25519, lambda k: k.sign(DATA)),
    ],
)
def test_verifier_accepts_other_sound_schemes_of_the_same_key(
    key: signing.PrivateKey, make: object
) -> None:
    signature = make(key)  # type: ignore[operator]
    signing.verifier_from_public_key(key.public_key()).verify(signature, DATA)


def test_ecdsa_raw_signatures_are_not_der_and_fail() -> None:
    der = P256.sign(DATA, ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    with pytest.raises(VerificationError):
        signing.verifier_from_public_key(P256.public_key()).verify(raw, DATA)


def test_other_key_fails() -> None:
    signature = signing.signer_from_private_key(P256).sign(DATA)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(VerificationError):
        signing.verifier_from_public_key(other).verify(signature, DATA)


def test_public_key_formats() -> None:
    public = RSA2048.public_key()
    spki_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs1_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for data in (spki_pem, pkcs1_pem, der, b"leading text\n" + spki_pem):
        loaded = signing.load_public_key(data)
        assert isinstance(loaded, rsa.RSAPublicKey)
        assert loaded.public_numbers() == public.public_numbers()
    assert signing.public_key_pem(pkcs1_pem) == spki_pem


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "malformed public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "malformed public key"),
        (b"-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n", "unknown"),
        (b"-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n", "not valid base64"),
        (b"-----BEGIN PUBLIC KEY-----\nMFkw\n", "no '-----END PUBLIC KEY-----'"),
        (b"-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n", "PKCS#1"),
        (
            ec.generate_private_key(ec.SECP224R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "P-224 not allowed",
        ),
        (
            rsa.generate_private_key(65537, 1024)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "key size not supported",
        ),
    ],
)
def test_bad_public_keys(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        signing.load_public_key(data)


def test_keyid_is_the_ssh_sha256_fingerprint() -> None:
    public = P256.public_key()
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    digest = hashlib.sha256(base64.b64decode(line.split()[1])).digest()
    expected = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    signer = signing.signer_from_private_key(P256)
    assert signing.keyid(public) == expected
    assert signing.keyid(signer) == expected
    assert signing.keyid(signer.public_key_pem()) == expected
    assert signing.keyid(signer.public_key_pem().decode()) == expected
    assert signing.keyid(P256) == expected
    with pytest.raises(InputError):
        signing.keyid(42)


def test_pem_written_like_go() -> None:
    pem = signing.public_key_pem(RSA2048)
    lines = pem.decode().splitlines()
    assert lines[0] == "-----BEGIN PUBLIC KEY-----"
    assert lines[-1] == "-----END PUBLIC KEY-----"
    assert all(len(line) == 64 for line in lines[1:-2])
    assert pem.endswith(b"\n")


def test_check_key_rejects_foreign_types() -> None:
    from cryptography.hazmat.primitives.asymmetric import x25519

    with pytest.raises(InputError, match="unsupported key type"):
        _keys.check_key(x25519.X25519PrivateKey.generate())


def test_ed25519_key_files_sign_pure_ed25519_as_every_cosign_verifies(tmp_path: Path) -> None:
    pem = ED25519.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "ed25519.pem").write_bytes(pem)
    signer = signing.load_signer(str(tmp_path / "ed25519.pem"))
    signature = signer.sign(DATA)
    ED25519.public_key().verify(signature, DATA)  # pure Ed25519
    assert signing.verifier_from_pem(signer.public_key_pem()).verify(signature, DATA) is None
