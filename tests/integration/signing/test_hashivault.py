"""hashivault:// / openbao:// through hvac against a fake transit API on loopback."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from konflux_supply import signing
from konflux_supply.cli import main
from konflux_supply.errors import BackendUnavailable, InputError

from ._fakes import FakeVault

pytestmark = pytest.mark.integration
DATA = b"to be signed by vault"


def _config(vault: FakeVault, **changes: object) -> signing.BackendConfig:
    return signing.BackendConfig(vault_address=vault.url, vault_transit_path=vault.mount, **changes)  # type: ignore[arg-type]


def _token(vault: FakeVault) -> signing.SecretsCallback:
    return lambda what: vault.token.encode() if what == signing.SECRET_VAULT_TOKEN else b""


@pytest.mark.parametrize(
    ("make", "hash_name"),
    [
        (lambda: ec.generate_private_key(ec.SECP256R1()), "sha2-256"),
        (lambda: ec.generate_private_key(ec.SECP384R1()), "sha2-384"),
        (lambda: rsa.generate_private_key(65537, 2048), "sha2-256"),
        (ed25519.Ed25519PrivateKey.generate, None),
    ],
)
def test_sign_request_shapes_and_verification(
    fake_vault: FakeVault, make: object, hash_name: str | None
) -> None:
    key = make()  # type: ignore[operator]
    fake_vault.keys["release"] = key
    fake_vault.versions["release"] = 2
    signer = signing.load_signer(
        "hashivault://release", secrets=_token(fake_vault), config=_config(fake_vault)
    )
    signature = signer.sign(DATA)
    read, sign = fake_vault.requests[-2:]
    assert (read.method, read.path) == ("GET", "/v1/transit/keys/release")
    assert (sign.method, sign.path) == ("POST", "/v1/transit/sign/release")
    assert sign.headers["x-vault-token"] == fake_vault.token
    body = sign.body
    assert body["key_version"] == 2
    if hash_name is None:
        assert base64.b64decode(body["input"]) == DATA
        assert "prehashed" not in body
        key.public_key().verify(signature, DATA)
    else:
        digest = hashlib.new(hash_name.replace("2-", ""), DATA).digest()
        assert base64.b64decode(body["input"]) == digest
        assert body["prehashed"] is True
        assert body["hash_algorithm"] == hash_name
        assert body["signature_algorithm"] == "pkcs1v15"
        assert body["marshaling_algorithm"] == "asn1"
        chosen = {"sha2-256": hashes.SHA256, "sha2-384": hashes.SHA384}[hash_name]()
        if isinstance(key, ec.EllipticCurvePrivateKey):
            key.public_key().verify(signature, DATA, ec.ECDSA(chosen))
        else:
            key.public_key().verify(signature, DATA, padding.PKCS1v15(), chosen)
    verifier = signing.load_verifier(
        "openbao://release", secrets=_token(fake_vault), config=_config(fake_vault)
    )
    verifier.verify(signature, DATA)


def test_custom_mount_and_errors(fake_vault: FakeVault) -> None:
    fake_vault.mount = "signing"
    fake_vault.keys["k.1-a"] = ec.generate_private_key(ec.SECP256R1())
    config = _config(fake_vault)
    signing.load_signer("hashivault://k.1-a", secrets=_token(fake_vault), config=config).sign(DATA)
    with pytest.raises(InputError, match="no such transit key"):
        signing.load_signer("hashivault://missing", secrets=_token(fake_vault), config=config)
    with pytest.raises(BackendUnavailable, match="Forbidden"):
        signing.load_signer("hashivault://k.1-a", secrets=lambda w: b"bad", config=config)
    with pytest.raises(InputError, match="VAULT_ADDR"):
        signing.load_signer("hashivault://k.1-a", secrets=_token(fake_vault))
    with pytest.raises(BackendUnavailable, match="no Vault token"):
        signing.load_signer("hashivault://k.1-a", config=config)


def test_cli_reads_vault_environment(
    fake_vault: FakeVault,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_vault.keys["cosign"] = ec.generate_private_key(ec.SECP256R1())
    monkeypatch.setenv("VAULT_ADDR", fake_vault.url)
    monkeypatch.setenv("VAULT_TOKEN", fake_vault.token)
    (tmp_path / "blob").write_bytes(DATA)
    assert main(["sign-blob", "--key", "hashivault://cosign", str(tmp_path / "blob")]) == 0
    signature = capsys.readouterr().out.strip()
    args = ["verify-blob", "--key", "hashivault://cosign", "--signature", signature]
    assert main([*args, str(tmp_path / "blob")]) == 0
    monkeypatch.delenv("VAULT_TOKEN")
    assert main(["public-key", "--key", "hashivault://cosign"]) == 3
    assert "VAULT_TOKEN" in capsys.readouterr().err
