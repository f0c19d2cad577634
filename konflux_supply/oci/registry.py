"""The :class:`Registry` protocol and the errors and results its implementations share.

Two implementations: the distribution API over HTTP(S) (one connection pool per registry
host) and an OCI image layout directory (``oci:DIR``); :mod:`.pool` opens them. Both check
every manifest and blob against the digest asked for and cap what they read
(:class:`~.options.Limits`).

A layout directory holds one repository: the ``repository`` argument of the methods is
ignored there; tags are ``org.opencontainers.image.ref.name`` annotations in ``index.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from konflux_supply.errors import RegistryError
from konflux_supply.models.oci import Descriptor, ImageIndex, RawManifest
from konflux_supply.oci.options import Limits

__all__ = ["PutResult", "Registry", "SizeLimitExceeded", "TransientError"]


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
