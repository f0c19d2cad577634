"""Loading signers and verifiers from KEYREF/PUBREF strings and key bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.signing import _keyfile, _keys
from konflux_supply.signing._backends import backend_for
from konflux_supply.signing._keys import KeySigner, KeyVerifier
from konflux_supply.signing._pem import looks_like_pem
from konflux_supply.signing._protocols import (
    SECRET_PASSWORD,
    BackendConfig,
    SecretsCallback,
    Signer,
    Verifier,
)

__all__ = ["load_signer", "load_verifier", "signer_from_pem", "verifier_from_pem"]


def _read_key_file(path: str) -> bytes:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(_keyfile.MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise InputError(f"cannot read key file: {error.strerror or error}", source=path) from None
    if len(data) > _keyfile.MAX_KEY_FILE_BYTES:
        raise InputError("key file is too large to be a key", source=path)
    return data


def _password(secrets: SecretsCallback | None) -> bytes:
    if secrets is None:
        return b""  # cosign: no password function means the empty password
    value = secrets(SECRET_PASSWORD)
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _signer_from_pem(data: bytes, *, secrets: SecretsCallback | None, source: str) -> KeySigner:
    from konflux_supply.signing._pem import decode_pem

    block = decode_pem(data, source=source)
    if block.type in _keyfile.ENCRYPTED_LABELS:
        key = _keyfile.decrypt_private_key(data, _password(secrets), source=source)
    elif block.type in ("PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"):
        raise InputError(
            f"expected a private key, found a {block.type}",
            source=source,
            hint="signing needs the private key (cosign.key), not cosign.pub",
        )
    else:
        key = _keyfile.parse_unencrypted_private_key(block, source=source)
    # Ed25519 file keys sign pure Ed25519: the one form every cosign verifies (ADR 0021).
    return KeySigner(key, ed25519ph=False)


def load_signer(
    keyref: str,
    *,
    secrets: SecretsCallback | None = None,
    config: BackendConfig | None = None,
) -> Signer:
    """A signer for a KEYREF: a cosign key file path or a KMS/HSM/Kubernetes URI.

    Key files may be cosign-encrypted (password from ``secrets(SECRET_PASSWORD)``; no callback
    means the empty password, as in cosign) or unencrypted PEM keys accepted by
    ``cosign import-key-pair``.
    """
    if not isinstance(keyref, str) or not keyref:
        raise InputError("empty key reference", field="key")
    config = config or BackendConfig()
    found = backend_for(keyref)
    if found is not None:
        return found[1].signer_from_uri(keyref, secrets=secrets, config=config)
    return _signer_from_pem(_read_key_file(keyref), secrets=secrets, source=keyref)


def load_verifier(
    pubref: str | bytes,
    *,
    secrets: SecretsCallback | None = None,
    config: BackendConfig | None = None,
) -> Verifier:
    """A verifier for a PUBREF: a public-key PEM/DER file, inline PEM, or any KEYREF.

    A KMS/HSM reference fetches the public key once and verifies locally. A private key file
    (cosign.key) is accepted too: its public half is used (password via ``secrets``).
    """
    if isinstance(pubref, bytes):
        return _verifier_from_bytes(pubref, secrets=secrets, source="(inline key)")
    if not isinstance(pubref, str) or not pubref:
        raise InputError("empty public key reference", field="key")
    if looks_like_pem(pubref):
        return _verifier_from_bytes(pubref.encode("utf-8"), secrets=secrets, source="(inline key)")
    config = config or BackendConfig()
    found = backend_for(pubref)
    if found is not None:
        return found[1].verifier_from_uri(pubref, secrets=secrets, config=config)
    return _verifier_from_bytes(_read_key_file(pubref), secrets=secrets, source=pubref)


def _verifier_from_bytes(
    data: bytes, *, secrets: SecretsCallback | None, source: str
) -> KeyVerifier:
    if looks_like_pem(data):
        from konflux_supply.signing._pem import decode_pem

        block = decode_pem(data, source=source)
        if block.type not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            if "PRIVATE KEY" in block.type:
                signer = _signer_from_pem(data, secrets=secrets, source=source)
                return KeyVerifier(signer.public_key(), source=source)
            if block.type == "CERTIFICATE":
                from cryptography import x509
                from cryptography.exceptions import UnsupportedAlgorithm

                try:
                    cert = x509.load_der_x509_certificate(block.der)
                    key: Any = cert.public_key()
                except (ValueError, UnsupportedAlgorithm) as error:
                    detail = str(error).split("\n")[0][:120] or type(error).__name__
                    raise InputError(f"malformed certificate: {detail}", source=source) from None
                _keys.check_key(key, source=source)
                return KeyVerifier(key, source=source)
    return KeyVerifier(_keys.load_public_key(data, source=source), source=source)


def signer_from_pem(
    data: bytes, *, secrets: SecretsCallback | None = None, source: str = "(key bytes)"
) -> KeySigner:
    """A signer from key-file bytes (cosign-encrypted or an unencrypted PEM private key)."""
    return _signer_from_pem(data, secrets=secrets, source=source)


def verifier_from_pem(
    data: bytes, *, secrets: SecretsCallback | None = None, source: str = "(key bytes)"
) -> KeyVerifier:
    """A verifier from public-key PEM/DER bytes (or a private key file's bytes)."""
    return _verifier_from_bytes(data, secrets=secrets, source=source)
