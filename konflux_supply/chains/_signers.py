"""Signers built once per configuration and shared by every run (Chains rebuilds them per run).

Keys are found where Chains finds them: for ``x509``, ``x509.pem`` (PKCS#8 ECDSA) else
``cosign.key`` + ``cosign.password`` in the signing-secrets directory (Chains mounts the
``signing-secrets`` Secret at ``/etc/signing-secrets``); for ``kms``, the config's
``signers.kms.kmsref`` (any key reference :func:`konflux_supply.signing.load_signer` takes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from konflux_supply import signing
from konflux_supply.chains._config import Config
from konflux_supply.errors import InputError
from konflux_supply.signing import BackendConfig, Signer

__all__ = ["DEFAULT_SECRETS_DIR", "Signers"]

DEFAULT_SECRETS_DIR = "/etc/signing-secrets"
#: A key file larger than this is not a key.
_MAX_KEY_BYTES = 1024 * 1024


def _read(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", source=str(path)) from None
    if len(data) > _MAX_KEY_BYTES:
        raise InputError("larger than a key file can be", source=str(path))
    return data


def load_from_secrets(directory: str | Path) -> Signer:
    """The x509 signer Chains builds from its signing secrets: ``x509.pem``, else
    ``cosign.key`` with ``cosign.password`` (a missing password file is an error, as in
    Chains)."""
    base = Path(directory)
    pem = _read(base / "x509.pem")
    if pem is not None and pem.strip():
        return signing.signer_from_pem(pem, source=str(base / "x509.pem"))
    key = _read(base / "cosign.key")
    if key is not None and key.strip():
        password = _read(base / "cosign.password")
        if password is None:
            raise InputError("cosign.key needs cosign.password next to it", source=str(base))
        # The file's exact bytes, as Chains reads them (a trailing newline is part of it).
        return signing.signer_from_pem(
            key, secrets=lambda _what: password, source=str(base / "cosign.key")
        )
    raise InputError(
        "no valid private key found, looked for: [x509.pem, cosign.key]",
        source=str(base),
        hint="mount the signing-secrets Secret there, or pass --signing-secrets DIR",
    )


class Signers:
    """A thread-safe cache of signers keyed by what builds them (the signer type, the
    secrets directory, the KMS reference). One instance serves every run of a controller;
    ``builds`` counts how many signers were actually built. A failure is not cached: the
    next run tries again (a Secret may have been mounted since).
    """

    def __init__(
        self,
        *,
        secrets_dir: str | Path = DEFAULT_SECRETS_DIR,
        backend_config: BackendConfig | None = None,
        secrets: Callable[[str], bytes] | None = None,
    ) -> None:
        self.secrets_dir = Path(secrets_dir)
        self._backend_config = backend_config
        self._secrets = secrets
        self._lock = threading.Lock()
        self._built: dict[tuple[str, str], Signer] = {}
        self.builds = 0

    def _key(self, kind: str, config: Config) -> tuple[str, str]:
        if kind == "x509":
            return ("x509", str(self.secrets_dir))
        if kind == "kms":
            return ("kms", config.kms_ref)
        raise InputError(f"unknown signer {kind!r} (x509, kms or none)", field="signer")

    def get(self, kind: str, config: Config) -> Signer:
        """The signer of ``kind`` (``x509``/``kms``) for ``config``; built on first use.

        Raises :class:`InputError` (no key, bad key) or
        :class:`~konflux_supply.errors.BackendUnavailable` (KMS extra missing/unreachable).
        """
        key = self._key(kind, config)
        with self._lock:
            found = self._built.get(key)
            if found is not None:
                return found
            signer = self._build(kind, config)
            self._built[key] = signer
            self.builds += 1
            return signer

    def _build(self, kind: str, config: Config) -> Signer:
        if kind == "x509":
            return load_from_secrets(self.secrets_dir)
        if not config.kms_ref:
            raise InputError("signer kms needs signers.kms.kmsref", field="signers.kms.kmsref")
        return signing.load_signer(
            config.kms_ref, secrets=self._secrets, config=self._backend_config
        )
