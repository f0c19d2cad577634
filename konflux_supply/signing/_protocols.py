"""The signing protocols and the tunables every backend shares (no logic)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "SECRET_PASSWORD",
    "SECRET_PKCS11_PIN",
    "SECRET_VAULT_TOKEN",
    "BackendConfig",
    "SecretsCallback",
    "Signer",
    "Verifier",
]

SECRET_PASSWORD = "password"
"""Name passed to the secrets callback for a cosign key file's password."""
SECRET_PKCS11_PIN = "pkcs11-pin"
"""Name passed to the secrets callback for a PKCS#11 user PIN (unless the URI has pin-value)."""
SECRET_VAULT_TOKEN = "vault-token"
"""Name passed to the secrets callback for a Vault/OpenBao token."""

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
