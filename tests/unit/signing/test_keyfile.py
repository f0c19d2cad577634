"""cosign key files: generate, decrypt, encrypt, the accepted and rejected variants."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from konflux_supply import signing
from konflux_supply.errors import InputError
from konflux_supply.signing import _keyfile

from . import _cosign_spec

PASSWORD = b"konflux-test"


@pytest.fixture(scope="module")
def generated() -> signing.KeyPair:
    return signing.generate_key_pair(b"s3cret")


def test_generated_pair_decrypts_with_the_independent_decoder(generated: signing.KeyPair) -> None:
    doc, plaintext = _cosign_spec.decode(generated.private_pem, b"s3cret")
    assert generated.private_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert doc["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}  # type: ignore[index]
    assert list(doc) == ["kdf", "cipher", "ciphertext"]
    key = serialization.load_der_private_key(plaintext, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert plaintext[:3] == b"\x30\x81\x87"  # PKCS#8, 138 bytes as Go writes it
    public = serialization.load_pem_public_key(generated.public_pem)
    assert public.public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert generated.public_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")


def test_generated_body_is_compact_go_json(generated: signing.KeyPair) -> None:
    _, body = _cosign_spec.pem_body(generated.private_pem)
    assert body.startswith(b'{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"')
    assert b" " not in body


def test_key_written_by_the_independent_encoder_loads() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = _cosign_spec.encode(der, b"pw", n=32768)
    loaded = signing.decrypt_private_key(pem, b"pw")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == key.private_numbers()


def test_round_trip_for_every_key_type_and_strength() -> None:
    keys = [
        ec.generate_private_key(ec.SECP384R1()),
        ed25519.Ed25519PrivateKey.generate(),
        rsa.generate_private_key(65537, 2048),
    ]
    for key, params in zip(
        keys, [signing.LEGACY_SCRYPT, signing.STANDARD_SCRYPT, signing.LEGACY_SCRYPT], strict=True
    ):
        pem = signing.encrypt_private_key(key, b"", scrypt=params)
        doc, _ = _cosign_spec.decode(pem, b"")
        assert doc["kdf"]["params"]["N"] == params.n  # type: ignore[index]
        again = signing.decrypt_private_key(pem, b"")
        assert type(again) is type(key)


@pytest.mark.parametrize(
    "name",
    [
        "test-standard.key",
        "test-legacy.key",
        "test-owasp.key",
        "test-cosign-label.key",
        "test-p384.key",
        "test-p521.key",
        "test-ed25519.key",
        "test-rsa2048.key",
    ],
)
def test_fixture_keys_load(fixtures_dir: Path, name: str) -> None:
    path = fixtures_dir / "signing" / "cosign" / name
    signer = signing.load_signer(str(path), secrets=lambda what: PASSWORD)
    signature = signer.sign(b"payload")
    signing.load_verifier(signer.public_key_pem()).verify(signature, b"payload")


def test_empty_password_is_a_password(fixtures_dir: Path) -> None:
    path = str(fixtures_dir / "signing" / "cosign" / "test-empty-password.key")
    asked: list[str] = []

    def secrets(what: str) -> bytes:
        asked.append(what)
        return b""

    signing.load_signer(path, secrets=secrets)
    assert asked == [signing.SECRET_PASSWORD]
    signing.load_signer(path)  # no callback: cosign tries the empty password


def test_same_key_under_every_label_and_strength(fixtures_dir: Path) -> None:
    folder = fixtures_dir / "signing" / "cosign"
    expected = (folder / "test.pub").read_bytes()
    for name in ("test-standard.key", "test-legacy.key", "test-owasp.key", "test-cosign-label.key"):
        signer = signing.load_signer(str(folder / name), secrets=lambda what: PASSWORD)
        assert signer.public_key_pem() == expected


def test_wrong_password_is_a_clear_input_error(fixtures_dir: Path) -> None:
    path = str(fixtures_dir / "signing" / "cosign" / "test-legacy.key")
    with pytest.raises(InputError, match="decryption failed") as info:
        signing.load_signer(path, secrets=lambda what: b"nope")
    assert info.value.source == path
    assert "COSIGN_PASSWORD" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("name", "message", "field"),
    [
        ("bad-sec1-inside.key", "not a PKCS#8 private key", None),
        ("bad-scrypt-n16384.key", "unsupported scrypt parameters", "kdf.params"),
        ("bad-scrypt-r1.key", "unsupported scrypt parameters", "kdf.params"),
        ("bad-kdf-name.key", "unknown kdf name", "kdf.name"),
        ("bad-cipher-name.key", "unknown cipher name", "cipher.name"),
        ("bad-nonce-length.key", "incorrect nonce size", "cipher.nonce"),
        ("bad-wrong-label.key", "unsupported private key: PEM type ENCRYPTED PRIVATE KEY", None),
        ("bad-truncated.key", "invalid pem block", None),
    ],
)
def test_broken_cosign_keys_are_rejected(
    fixtures_dir: Path, name: str, message: str, field: str | None
) -> None:
    path = str(fixtures_dir / "signing" / "cosign" / name)
    with pytest.raises(InputError, match=message) as info:
        signing.load_signer(path, secrets=lambda what: PASSWORD)
    assert info.value.field == field
    assert info.value.source == path


def _body(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": "AAAA"},
        "cipher": {"name": "nacl/secretbox", "nonce": "A" * 32},
        "ciphertext": "A" * 24,
    }
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", None),
        (b"[]", "(encrypted key)"),
        (_body(kdf="scrypt"), "kdf"),
        (_body(cipher=None), "cipher"),
        (_body(kdf={"name": "scrypt", "params": {"N": "32768", "r": 8, "p": 1}}), "kdf.params.N"),
        (_body(kdf={"name": "scrypt", "params": {"N": 32768, "r": True, "p": 1}}), "kdf.params.r"),
        (_body(kdf={"name": "scrypt", "params": []}), "kdf.params"),
        (
            _body(kdf={"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": 5}),
            "kdf.salt",
        ),
        (
            _body(kdf={"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": "**"}),
            "kdf.salt",
        ),
        (_body(ciphertext="AAAA"), "ciphertext"),
        (_body(ciphertext=None), "ciphertext"),
    ],
)
def test_malformed_bodies_fail_before_key_derivation(body: bytes, field: str | None) -> None:
    with pytest.raises(InputError) as info:
        _keyfile.EncryptedKey.parse(body, source="k")
    assert info.value.field == field


def test_write_key_pair_modes_and_refusal(tmp_path: Path, generated: signing.KeyPair) -> None:
    key_path, pub_path = signing.write_key_pair(generated, tmp_path / "cosign")
    assert key_path.read_bytes() == generated.private_pem
    assert pub_path.read_bytes() == generated.public_pem
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pub_path.stat().st_mode) == 0o644
    with pytest.raises(InputError, match="already exists"):
        signing.write_key_pair(generated, tmp_path / "cosign")
    signing.write_key_pair(generated, tmp_path / "cosign", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cosign.key", "cosign.pub"]


def test_write_key_pair_leaves_nothing_on_failure(
    tmp_path: Path, generated: signing.KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    real_replace = os.replace
    calls: list[str] = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append(str(dst))
        if str(dst).endswith(".pub"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(_keyfile.os, "replace", failing_replace)
    with pytest.raises(InputError, match="No space left"):
        signing.write_key_pair(generated, tmp_path / "cosign")
    assert list(tmp_path.iterdir()) == []
    assert len(calls) == 2


def test_write_key_pair_missing_directory(tmp_path: Path, generated: signing.KeyPair) -> None:
    with pytest.raises(InputError, match="directory does not exist"):
        signing.write_key_pair(generated, tmp_path / "nope" / "cosign")


def test_key_pair_repr_hides_nothing_secret_and_is_short(generated: signing.KeyPair) -> None:
    assert "PRIVATE" not in repr(generated)
