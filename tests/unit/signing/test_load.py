"""load_signer / load_verifier dispatch: files, inline PEM, schemes, bad references."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import signing
from konflux_supply.errors import InputError
from konflux_supply.signing import _backends

PASSWORD = b"konflux-test"


@pytest.fixture(scope="module")
def cosign_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "fixtures" / "signing" / "cosign"


def test_file_signer_and_every_pubref_form(cosign_dir: Path, tmp_path: Path) -> None:
    signer = signing.load_signer(str(cosign_dir / "test-legacy.key"), secrets=lambda w: PASSWORD)
    assert isinstance(signer, signing.Signer)
    signature = signer.sign(b"data")
    pub = (cosign_dir / "test.pub").read_bytes()
    der = serialization.load_pem_public_key(pub).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "k.der").write_bytes(der)
    refs: list[str | bytes] = [
        str(cosign_dir / "test.pub"),
        pub.decode(),
        pub,
        str(tmp_path / "k.der"),
    ]
    for ref in refs:
        verifier = signing.load_verifier(ref)
        assert isinstance(verifier, signing.Verifier)
        verifier.verify(signature, b"data")
    # A private key file is a PUBREF too (its public half), password through the callback.
    signing.load_verifier(str(cosign_dir / "test-legacy.key"), secrets=lambda w: PASSWORD).verify(
        signature, b"data"
    )


def test_unencrypted_private_keys_sign(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "x509.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = signing.load_signer(str(path))
    signing.verifier_from_public_key(key.public_key()).verify(signer.sign(b"a"), b"a")


def test_certificate_pubref(tmp_path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    signature = signing.signer_from_private_key(key).sign(b"a")
    signing.load_verifier(pem).verify(signature, b"a")
    # a certificate whose key algorithm cryptography does not know is an InputError
    der = cert.public_bytes(serialization.Encoding.DER)
    ec_oid = bytes.fromhex("06072a8648ce3d0201")
    assert der.count(ec_oid) == 1
    unknown = x509.load_der_x509_certificate(
        der.replace(ec_oid, bytes.fromhex("06072a8648ce3d0209"))
    ).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(InputError, match="certificate"):
        signing.load_verifier(unknown)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "empty key reference"),
        ("foo://bar", "unsupported key reference scheme 'foo'"),
        ("/definitely/not/here.key", "cannot read key file"),
    ],
)
def test_bad_signer_refs(ref: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        signing.load_signer(ref)


def test_public_key_is_not_a_signer(cosign_dir: Path) -> None:
    with pytest.raises(InputError, match="expected a private key") as info:
        signing.load_signer(str(cosign_dir / "test.pub"))
    assert "cosign.pub" in (info.value.hint or "")


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"A" * (1024 * 1024 + 10))
    with pytest.raises(InputError, match="too large"):
        signing.load_verifier(str(path))


def test_secrets_callback_may_return_str(cosign_dir: Path) -> None:
    signing.load_signer(
        str(cosign_dir / "test-legacy.key"),
        secrets=lambda w: "konflux-test",  # type: ignore[arg-type,return-value]
    )


def test_registry_lists_builtin_schemes() -> None:
    assert {"awskms", "gcpkms", "azurekms", "hashivault", "openbao", "pkcs11", "k8s"} <= set(
        signing.registered_schemes()
    )


def test_register_backend_dispatches(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ec.generate_private_key(ec.SECP256R1())

    class Fake:
        SCHEMES = ("fake",)

        @staticmethod
        def signer_from_uri(uri: str, *, secrets: object, config: object) -> signing.Signer:
            assert uri == "fake://x"
            return signing.signer_from_private_key(key)

        @staticmethod
        def verifier_from_uri(uri: str, *, secrets: object, config: object) -> signing.Verifier:
            return signing.verifier_from_public_key(key.public_key())

    monkeypatch.setitem(_backends._BACKENDS, "fake", Fake)
    signature = signing.load_signer("fake://x").sign(b"z")
    signing.load_verifier("fake://x").verify(signature, b"z")
    with pytest.raises(InputError):
        signing.register_backend("Bad Scheme", Fake)
