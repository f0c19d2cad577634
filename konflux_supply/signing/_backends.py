"""The backend registry: KEYREF URI schemes to backend modules, filled from each backend's
own ``SCHEMES`` (imported on first use; each backend imports its SDK even later)."""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any, Protocol

from konflux_supply.errors import InputError
from konflux_supply.signing._protocols import BackendConfig, SecretsCallback, Signer, Verifier

__all__ = ["backend_for", "register_backend", "registered_schemes"]


class _Backend(Protocol):
    SCHEMES: tuple[str, ...]

    def signer_from_uri(
        self, uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
    ) -> Signer: ...

    def verifier_from_uri(
        self, uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
    ) -> Verifier: ...


#: The built-in backend modules; each declares the schemes it serves in its ``SCHEMES``.
_BUILTIN = ("_pkcs11", "_awskms", "_gcpkms", "_azurekms", "_hashivault", "_k8s")

_BACKENDS: dict[str, _Backend] = {}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):(//)?")
_loaded = False


def _builtin_backends() -> None:
    """Register the built-in backends under their own ``SCHEMES`` (once, on first use: a
    backend module is small; its SDK is imported only when a key is used)."""
    global _loaded
    if _loaded:
        return
    for name in _BUILTIN:
        module = importlib.import_module(f"konflux_supply.signing.{name}")
        for scheme in module.SCHEMES:
            _BACKENDS.setdefault(scheme, module)
    _loaded = True


def register_backend(scheme: str, backend: ModuleType | Any) -> None:
    """Register a backend: an object with ``signer_from_uri`` and ``verifier_from_uri``."""
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        raise InputError(f"invalid URI scheme {scheme!r}")
    _builtin_backends()
    _BACKENDS[scheme] = backend


def registered_schemes() -> list[str]:
    """The URI schemes :func:`load_signer` / :func:`load_verifier` dispatch on."""
    _builtin_backends()
    return sorted(_BACKENDS)


def backend_for(ref: str) -> tuple[str, _Backend] | None:
    """The backend for a KEYREF's URI scheme; ``None`` for a plain path."""
    match = _SCHEME.match(ref)
    if match is None:
        return None
    _builtin_backends()
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
    return scheme, backend
