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

# Public submodules, importable as attributes: ``signing.dsse.sign(...)``.
from konflux_supply.signing import blob, bundle, dsse, rekor, simple_signing
from konflux_supply.signing._backends import register_backend, registered_schemes
from konflux_supply.signing._keyfile import ScryptParams
from konflux_supply.signing._keypair import (
    LEGACY_SCRYPT,
    OWASP_SCRYPT,
    STANDARD_SCRYPT,
    KeyPair,
    decrypt_private_key,
    encrypt_private_key,
    generate_key_pair,
    import_key_pair,
    keyid,
    load_public_key,
    public_key_pem,
    signer_from_private_key,
    verifier_from_public_key,
    write_key_pair,
)
from konflux_supply.signing._keys import KeySigner, KeyVerifier, PrivateKey, PublicKey
from konflux_supply.signing._load import (
    load_signer,
    load_verifier,
    signer_from_pem,
    verifier_from_pem,
)
from konflux_supply.signing._protocols import (
    SECRET_PASSWORD,
    SECRET_PKCS11_PIN,
    SECRET_VAULT_TOKEN,
    BackendConfig,
    SecretsCallback,
    Signer,
    Verifier,
)

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
    "rekor",
    "signer_from_pem",
    "signer_from_private_key",
    "simple_signing",
    "verifier_from_pem",
    "verifier_from_public_key",
    "write_key_pair",
]
