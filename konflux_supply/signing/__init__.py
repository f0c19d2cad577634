"""cosign-compatible keys, signers and verifiers.

::

    from konflux_supply import signing

    signer = signing.load_signer("cosign.key", secrets=lambda what: b"password")
    signature = signer.sign(data)                 # DER for ECDSA, with the key's own hash
    verifier = signing.load_verifier("cosign.pub")
    verifier.verify(signature, data)              # raises VerificationError

Key references (KEYREF) are dispatched by URI scheme through a registry filled from each
backend's ``SCHEMES``: a cosign key file path (the default), ``pkcs11:``, ``awskms://``,
``gcpkms://``, ``azurekms://``, ``hashivault://`` / ``openbao://`` and ``k8s://ns/secret``.
A public-key reference (PUBREF) may also be a PEM file or inline PEM. Backends import their SDK
only when used; a missing one raises :meth:`BackendUnavailable.missing_extra`.

Secrets never come from the environment here: ``secrets`` is a callback ``(name) -> bytes``
asked for :data:`SECRET_PASSWORD` (cosign key files), :data:`SECRET_PKCS11_PIN` or
:data:`SECRET_VAULT_TOKEN`, and only when needed. Other tunables are a frozen
:class:`BackendConfig`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing import _keyfile, _keys
from konflux_supply.signing._keyfile import LEGACY, OWASP, STANDARD, ScryptParams
from konflux_supply.signing._keys import KeySigner, KeyVerifier, PrivateKey, PublicKey
from konflux_supply.signing._pem import looks_like_pem

__all__ = [
    "LEGACY_SCRYPT",
    "OWASP_SCRYPT",
    "SECRET_PASSWORD",
    "SECRET_PKCS11_PIN",
    "SECRET_VAULT_TOKEN",
    "STANDARD_SCRYPT",
    "BackendConfig",
    "KeyPair",
    "KeySigner",
    "KeyVerifier",
    "PrivateKey",
    "PublicKey",
    "ScryptParams",
    "SecretsCallback",
    "Signer",
    "Verifier",
    "blob",
    "bundle",
    "decrypt_private_key",
    "dsse",
    "encrypt_private_key",
    "generate_key_pair",
    "import_key_pair",
    "keyid",
    "load_public_key",
    "load_signer",
    "load_verifier",
    "public_key_pem",
    "register_backend",
    "registered_schemes",
    "signer_from_pem",
    "signer_from_private_key",
    "simple_signing",
    "verifier_from_pem",
    "verifier_from_public_key",
    "write_key_pair",
]

SECRET_PASSWORD = "password"
"""Name passed to the secrets callback for a cosign key file's password."""
SECRET_PKCS11_PIN = "pkcs11-pin"
"""Name passed to the secrets callback for a PKCS#11 user PIN (unless the URI has pin-value)."""
SECRET_VAULT_TOKEN = "vault-token"
"""Name passed to the secrets callback for a Vault/OpenBao token."""

LEGACY_SCRYPT = LEGACY
STANDARD_SCRYPT = STANDARD
OWASP_SCRYPT = OWASP

SecretsCallback = Callable[[str], bytes]
"""``secrets(name) -> bytes``: asked for a secret (see ``SECRET_*``) only when one is needed."""


@runtime_checkable
class Signer(Protocol):
    """Anything that signs bytes the cosign way and can show its public key."""

    def sign(self, data: bytes) -> bytes:
        """Signature over ``data`` with the key's own hash (DER for ECDSA)."""
        ...

    def public_key_pem(self) -> bytes:
        """The PKIX PEM of the public key."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """Anything that checks a signature over bytes and can show its public key."""

    def verify(self, signature: bytes, data: bytes) -> None:
        """Return if ``signature`` is valid for ``data``; raise ``VerificationError`` if not."""
        ...

    def public_key_pem(self) -> bytes:
        """The PKIX PEM of the public key."""
        ...


@dataclass(frozen=True)
class BackendConfig:
    """Tunables for KMS/HSM backends; the CLI fills it from cosign's environment variables.

    ``clients`` injects ready-made SDK clients by scheme: ``awskms`` (a boto3 KMS client),
    ``hashivault`` (an ``hvac.Client``), ``k8s`` (a ``kubernetes`` ``CoreV1Api``). ``tokens``
    injects bearer-token providers for the REST backends ``gcpkms`` and ``azurekms``. Tests and
    controllers use them for fakes or pre-authenticated clients.
    """

    pkcs11_module_path: str | None = None
    vault_address: str | None = None
    vault_transit_path: str = "transit"
    vault_namespace: str | None = None
    aws_region: str | None = None
    aws_endpoint_url: str | None = None
    gcp_endpoint: str = "https://cloudkms.googleapis.com"
    azure_vault_url: str | None = None
    timeout: float = 30.0
    clients: Mapping[str, Any] = field(default_factory=dict)
    tokens: Mapping[str, Callable[[], str]] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyPair:
    """A cosign key pair: the encrypted private key file and ``cosign.pub`` bytes."""

    private_pem: bytes
    public_pem: bytes

    def __repr__(self) -> str:
        return f"KeyPair(public_pem={self.public_pem!r})"


class _Backend(Protocol):
    SCHEMES: tuple[str, ...]

    def signer_from_uri(
        self, uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
    ) -> Signer: ...

    def verifier_from_uri(
        self, uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
    ) -> Verifier: ...


_BACKENDS: dict[str, _Backend | str] = {}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):(//)?")


def _builtin_backends() -> None:
    # Module names only: a backend module is imported on first use (its SDK even later).
    for name, schemes in (
        ("_pkcs11", ("pkcs11",)),
        ("_awskms", ("awskms",)),
        ("_gcpkms", ("gcpkms",)),
        ("_azurekms", ("azurekms",)),
        ("_hashivault", ("hashivault", "openbao")),
        ("_k8s", ("k8s",)),
    ):
        for scheme in schemes:
            _BACKENDS.setdefault(scheme, f"konflux_supply.signing.{name}")


def register_backend(scheme: str, backend: ModuleType | Any) -> None:
    """Register a backend: an object with ``signer_from_uri`` and ``verifier_from_uri``."""
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        raise InputError(f"invalid URI scheme {scheme!r}")
    _BACKENDS[scheme] = backend


def registered_schemes() -> list[str]:
    """The URI schemes :func:`load_signer` / :func:`load_verifier` dispatch on."""
    return sorted(_BACKENDS)


def _backend_for(ref: str) -> tuple[str, _Backend] | None:
    match = _SCHEME.match(ref)
    if match is None:
        return None
    scheme = match.group(1)
    backend = _BACKENDS.get(scheme)
    if backend is None:
        if match.group(2):
            raise InputError(
                f"unsupported key reference scheme {scheme!r}",
                hint="supported: a key file path, "
                + ", ".join(s + ":" for s in registered_schemes()),
            )
        return None  # e.g. "file:name" without // is a plain path
    if isinstance(backend, str):
        import importlib

        try:
            module = importlib.import_module(backend)
        except ModuleNotFoundError:  # pragma: no cover - only if a backend file is missing
            raise BackendUnavailable(f"backend for {scheme}: is not available") from None
        _BACKENDS[scheme] = module
        backend = module
    return scheme, backend


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
    found = _backend_for(keyref)
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
    found = _backend_for(pubref)
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


# -- key generation, import, encryption ------------------------------------------------------


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


_builtin_backends()

# Public submodules, importable as attributes: ``signing.dsse.sign(...)``.
from konflux_supply.signing import blob, bundle, dsse, simple_signing  # noqa: E402
