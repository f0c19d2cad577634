"""The :class:`Registry` protocol and how to open one for a reference.

Two implementations: the distribution API over HTTP(S) (one connection pool per registry
host) and an OCI image layout directory (``oci:DIR``). Both check every manifest and blob
against the digest asked for and cap what they read (:class:`~.options.Limits`).

A layout directory holds one repository: the ``repository`` argument of the methods is
ignored there; tags are ``org.opencontainers.image.ref.name`` annotations in ``index.json``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from konflux_supply.errors import RegistryError
from konflux_supply.models.oci import Descriptor, ImageIndex, RawManifest
from konflux_supply.oci.options import Limits, RegistryOptions
from konflux_supply.oci.reference import Reference, parse_reference

__all__ = [
    "PutResult",
    "Registry",
    "RegistryPool",
    "SizeLimitExceeded",
    "TransientError",
    "open_registry",
]


class SizeLimitExceeded(RegistryError):
    """Content larger than the configured cap; nothing past the cap was read."""


class TransientError(RegistryError):
    """One attempt failed in a way worth retrying (raised when the caller asked for no retry)."""


@dataclass(frozen=True)
class PutResult:
    """What a manifest PUT told us: the digest, and whether the registry processed ``subject``
    (``OCI-Subject`` header: it maintains the referrers list itself)."""

    digest: str
    subject_processed: bool


@runtime_checkable
class Registry(Protocol):
    """Storage for manifests and blobs, addressed by repository and tag/digest."""

    @property
    def name(self) -> str:
        """The registry host, or ``oci:DIR`` for a layout."""
        ...

    @property
    def limits(self) -> Limits:
        """The size and count caps on what is read from it (:attr:`RegistryOptions.limits`):
        the one place they are set, for the registry and every reader over it."""
        ...

    def get_manifest(self, repository: str, reference: str) -> RawManifest | None:
        """The manifest/index for a tag or digest (digest-checked), ``None`` if missing."""
        ...

    def head_manifest(self, repository: str, reference: str) -> Descriptor | None:
        """The descriptor of a manifest, ``None`` if missing."""
        ...

    def put_manifest(
        self, repository: str, reference: str, manifest: RawManifest, *, retry: bool = True
    ) -> PutResult:
        """Store exact manifest bytes under a tag or under their digest.

        With ``retry=False`` a transient failure raises :class:`TransientError` at once (the
        lossless append re-reads the tag rather than re-sending a stale write).
        """
        ...

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest."""
        ...

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        """A blob, capped at ``min(limit, descriptor.size)`` and digest-checked."""
        ...

    def iter_blob(self, repository: str, descriptor: Descriptor) -> Iterator[bytes]:
        """Stream a blob; raises before the last chunk if its size or digest is wrong."""
        ...

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether a blob exists."""
        ...

    def put_blob(
        self,
        repository: str,
        data: bytes,
        *,
        digest: str | None = None,
        mount_from: str | None = None,
    ) -> str:
        """Store a blob (skipped when present); returns its digest."""
        ...

    def upload(
        self,
        repository: str,
        digest: str,
        size: int,
        open_chunks: Callable[[], Iterable[bytes]],
        *,
        mount_from: str | None = None,
    ) -> None:
        """Store a blob streamed from a re-openable source (checked against ``digest``)."""
        ...

    def list_tags(self, repository: str) -> list[str]:
        """Every tag of the repository."""
        ...

    def referrers(
        self, repository: str, digest: str, *, artifact_type: str | None = None
    ) -> ImageIndex | None:
        """Referrers of ``digest`` from the referrers API, ``None`` if there is no such API."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _new(reference: Reference, options: RegistryOptions) -> Registry:
    if reference.layout:
        from konflux_supply.oci._layout import LayoutRegistry

        return LayoutRegistry(reference.repository, options)
    from konflux_supply.oci._http import HttpRegistry

    return HttpRegistry(reference.registry, options)


def open_registry(
    reference: str | Reference, *, options: RegistryOptions | None = None
) -> tuple[Registry, Reference]:
    """Parse ``reference`` (if a string) and open the registry or layout that holds it.

    The caller closes the registry (``registry.close()``) when done.
    """
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    return _new(ref, options or RegistryOptions()), ref


class RegistryPool:
    """Registries opened once and shared (one connection pool per host), thread-safe.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions()
        self._lock = threading.Lock()
        self._open: dict[tuple[bool, str], Registry] = {}

    def open(self, reference: str | Reference) -> tuple[Registry, Reference]:
        """The (shared) registry for ``reference``, and the parsed reference."""
        ref = parse_reference(reference) if isinstance(reference, str) else reference
        key = (ref.layout, ref.repository if ref.layout else ref.registry)
        with self._lock:
            registry = self._open.get(key)
            if registry is None:
                registry = _new(ref, self.options)
                self._open[key] = registry
        return registry, ref

    def close(self) -> None:
        """Close every registry opened through this pool."""
        with self._lock:
            registries = list(self._open.values())
            self._open.clear()
        for registry in registries:
            registry.close()

    def __enter__(self) -> RegistryPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
