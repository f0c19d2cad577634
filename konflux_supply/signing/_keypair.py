"""Key pairs in cosign's format, and key conversions (generation, import, encryption)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from konflux_supply.errors import InputError
from konflux_supply.signing import _keyfile, _keys
from konflux_supply.signing._keyfile import LEGACY, OWASP, STANDARD, ScryptParams
from konflux_supply.signing._keys import KeySigner, KeyVerifier, PrivateKey, PublicKey

__all__ = [
    "LEGACY_SCRYPT",
    "OWASP_SCRYPT",
    "STANDARD_SCRYPT",
    "KeyPair",
    "decrypt_private_key",
    "encrypt_private_key",
    "generate_key_pair",
    "import_key_pair",
    "keyid",
    "load_public_key",
    "public_key_pem",
    "signer_from_private_key",
    "verifier_from_public_key",
    "write_key_pair",
]

LEGACY_SCRYPT = LEGACY
STANDARD_SCRYPT = STANDARD
OWASP_SCRYPT = OWASP


@dataclass(frozen=True)
class KeyPair:
    """A cosign key pair: the encrypted private key file and ``cosign.pub`` bytes."""

    private_pem: bytes
    public_pem: bytes

    def __repr__(self) -> str:
        return f"KeyPair(public_pem={self.public_pem!r})"


def generate_key_pair(password: bytes, *, scrypt: ScryptParams = STANDARD) -> KeyPair:
    """A new ECDSA P-256 pair in cosign's format (what ``cosign generate-key-pair`` writes)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return KeyPair(
        _keyfile.encrypt_private_key(key, password, params=scrypt),
        _keys.public_key_pem(key.public_key()),
    )


def import_key_pair(
    private_pem: bytes,
    password: bytes,
    *,
    source: str | None = None,
    scrypt: ScryptParams = STANDARD,
) -> KeyPair:
    """Re-wrap an unencrypted PEM key as a cosign pair, with ``cosign import-key-pair``'s rules.

    Accepted: ``RSA PRIVATE KEY`` (PKCS#1), ``EC PRIVATE KEY`` (SEC1), ``PRIVATE KEY`` (PKCS#8)
    holding RSA 2048/3072/4096, ECDSA P-256/P-384/P-521 or Ed25519. Everything else is an
    :class:`InputError` with cosign's wording.
    """
    key = _keyfile.import_private_key(private_pem, source=source)
    return KeyPair(
        _keyfile.encrypt_private_key(key, password, params=scrypt),
        _keys.public_key_pem(key.public_key()),
    )


def write_key_pair(
    pair: KeyPair, prefix: str | Path = "cosign", *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write ``<prefix>.key`` (mode 0600) and ``<prefix>.pub`` (0644) atomically."""
    base = Path(prefix)
    key_path = base.with_name(base.name + ".key")
    pub_path = base.with_name(base.name + ".pub")
    _keyfile.write_files_atomically(
        [(key_path, pair.private_pem, 0o600), (pub_path, pair.public_pem, 0o644)],
        overwrite=overwrite,
    )
    return key_path, pub_path


def encrypt_private_key(
    key: PrivateKey, password: bytes, *, scrypt: ScryptParams = STANDARD
) -> bytes:
    """A private key as cosign key-file bytes (``ENCRYPTED SIGSTORE PRIVATE KEY``, PKCS#8)."""
    return _keyfile.encrypt_private_key(key, password, params=scrypt)


def decrypt_private_key(pem: bytes, password: bytes, *, source: str | None = None) -> PrivateKey:
    """Decrypt cosign key-file bytes (either label); PKCS#8 is enforced as in cosign."""
    return _keyfile.decrypt_private_key(pem, password, source=source)


def load_public_key(data: bytes, *, source: str | None = None) -> PublicKey:
    """Parse a PKIX/PKCS#1 PEM or PKIX DER public key that cosign accepts."""
    return _keys.load_public_key(data, source=source)


def signer_from_private_key(key: PrivateKey, *, ed25519ph: bool = True) -> KeySigner:
    """A signer over an in-memory key (Ed25519 signs Ed25519ph unless ``ed25519ph=False``)."""
    return KeySigner(key, ed25519ph=ed25519ph)


def verifier_from_public_key(key: PublicKey) -> KeyVerifier:
    """A verifier over an in-memory public key."""
    return KeyVerifier(key)


def _as_public_key(obj: object) -> PublicKey:
    if isinstance(obj, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return obj
    if isinstance(obj, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return obj.public_key()
    if isinstance(obj, str):
        obj = obj.encode("utf-8")
    if isinstance(obj, bytes | bytearray):
        return _keys.load_public_key(bytes(obj))
    getter = getattr(obj, "public_key", None)
    if callable(getter):
        return _as_public_key(getter())
    pem = getattr(obj, "public_key_pem", None)
    if callable(pem):
        return _keys.load_public_key(pem())
    raise InputError(f"cannot get a public key from {type(obj).__name__}")


def keyid(public_key: object) -> str:
    """Chains' DSSE keyid: ``SHA256:`` + unpadded base64 SHA-256 of the SSH wire public key.

    Accepts a ``cryptography`` key, PEM/DER bytes, or any signer/verifier.
    """
    return _keys.ssh_fingerprint(_as_public_key(public_key))


def public_key_pem(public_key: object) -> bytes:
    """PKIX PEM (cosign.pub layout) of a key, PEM/DER bytes, signer or verifier."""
    return _keys.public_key_pem(_as_public_key(public_key))
