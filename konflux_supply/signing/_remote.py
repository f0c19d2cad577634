"""Shared pieces of the backends whose private key lives elsewhere (KMS, HSM, Vault).

A :class:`RemoteSigner` hashes on the client (the KMS signs a digest, as cosign does),
converts the answer to ASN.1 DER when needed, and **checks every signature it returns against
the key's public key** before handing it out: a backend that answers with a wrong signature
(moto_server's ``MessageType=DIGEST``, a misconfigured HSM mechanism, a swapped key) is a
:class:`BackendUnavailable`, never a stored signature that nobody can verify.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import utils

from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing._keys import KeyVerifier, PublicKey, public_key_pem

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def hash_named(name: str) -> hashes.HashAlgorithm:
    """A ``cryptography`` hash object by name (``sha256``/``sha384``/``sha512``)."""
    return _HASHES[name]()


def digest(data: bytes, hash_name: str) -> bytes:
    """The digest of ``data`` with the named SHA-2 hash."""
    h = hashes.Hash(hash_named(hash_name))
    h.update(data)
    return h.finalize()


def raw_to_der(raw: bytes) -> bytes:
    """An ECDSA ``r || s`` signature (PKCS#11, JWS) as ASN.1 DER."""
    if not raw or len(raw) % 2:
        raise BackendUnavailable(f"the backend returned a malformed ECDSA signature ({len(raw)} B)")
    half = len(raw) // 2
    return utils.encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


class RemoteSigner:
    """A signer over a remote private key: ``sign`` = hash locally, sign remotely, check."""

    def __init__(
        self,
        public_key: PublicKey,
        *,
        hash_name: str,
        describe: str,
        sign_digest: Callable[[bytes, bytes], bytes],
        algorithm: str,
    ) -> None:
        self._verifier = KeyVerifier(public_key, source=describe)
        self._pem = public_key_pem(public_key)
        self._hash_name = hash_name
        self._sign_digest = sign_digest
        self.describe = describe
        self.algorithm = algorithm
        self._lock = threading.Lock()

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``: the digest goes to the backend; the answer is checked here."""
        value = digest(data, self._hash_name)
        with self._lock:
            signature = self._sign_digest(value, data)
        if not self._verifier.check(signature, data):
            raise BackendUnavailable(
                f"{self.describe} returned a signature that does not verify with its own "
                "public key",
                hint="check the key's algorithm and the backend (moto_server, for one, does not "
                "implement MessageType=DIGEST)",
            )
        return signature

    def public_key(self) -> PublicKey:
        """The public key, as a ``cryptography`` object."""
        return self._verifier.public_key()

    def public_key_pem(self) -> bytes:
        """PKIX PEM of the public key."""
        return self._pem

    def __repr__(self) -> str:
        return f"RemoteSigner({self.describe}, {self.algorithm})"


def require(value: Any, message: str, *, field: str | None = None) -> Any:
    """``value`` unless it is empty, else :class:`InputError`."""
    if not value:
        raise InputError(message, field=field)
    return value
