"""An in-memory :class:`~konflux_supply.oci.Registry` with optional latency (to widen races)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from konflux_supply.models.oci import Descriptor, ImageIndex, RawManifest, digest_of, is_digest
from konflux_supply.oci import (
    Limits,
)
from konflux_supply.oci.registry import PutResult


class MemoryRegistry:
    """Last write wins, like a registry without conditional requests."""

    def __init__(
        self, *, latency: float = 0.0, referrers_api: bool = False, limits: Limits | None = None
    ) -> None:
        self.limits = limits or Limits()
        self.latency = latency
        self.referrers_api = referrers_api
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, RawManifest] = {}
        self.tags: dict[str, str] = {}
        self.puts = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "memory"

    def _wait(self) -> None:
        if self.latency:
            time.sleep(self.latency)

    def get_manifest(self, repository: str, reference: str) -> RawManifest | None:
        self._wait()
        with self._lock:
            digest = reference if is_digest(reference) else self.tags.get(reference)
            return self.manifests.get(digest) if digest else None

    def head_manifest(self, repository: str, reference: str) -> Descriptor | None:
        found = self.get_manifest(repository, reference)
        return found.descriptor() if found else None

    def put_manifest(
        self, repository: str, reference: str, manifest: RawManifest, *, retry: bool = True
    ) -> PutResult:
        self._wait()
        with self._lock:
            self.puts += 1
            self.manifests[manifest.digest] = manifest
            if not is_digest(reference):
                self.tags[reference] = manifest.digest
        return PutResult(
            manifest.digest, self.referrers_api and manifest.document.subject is not None
        )

    def delete_manifest(self, repository: str, digest: str) -> None:
        with self._lock:
            self.manifests.pop(digest, None)

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        data = self.blobs[descriptor.digest]
        assert len(data) <= limit
        return data

    def iter_blob(self, repository: str, descriptor: Descriptor) -> Iterator[bytes]:
        yield self.blobs[descriptor.digest]

    def has_blob(self, repository: str, digest: str) -> bool:
        return digest in self.blobs

    def put_blob(
        self,
        repository: str,
        data: bytes,
        *,
        digest: str | None = None,
        mount_from: str | None = None,
    ) -> str:
        actual = digest_of(data)
        with self._lock:
            self.blobs[actual] = data
        return actual

    def upload(
        self,
        repository: str,
        digest: str,
        size: int,
        open_chunks: Callable[[], Iterable[bytes]],
        *,
        mount_from: str | None = None,
    ) -> None:
        data = b"".join(open_chunks())
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        self.blobs[digest] = data

    def list_tags(self, repository: str) -> list[str]:
        return sorted(self.tags)

    def referrers(
        self, repository: str, digest: str, *, artifact_type: str | None = None
    ) -> ImageIndex | None:
        if not self.referrers_api:
            return None
        with self._lock:
            found = [
                m.descriptor(annotations=m.document.annotations)
                for m in self.manifests.values()
                if m.document.subject is not None and m.document.subject.digest == digest
            ]
        if artifact_type:
            found = [d for d in found if d.artifact_type == artifact_type]
        return ImageIndex(schema_version=2, manifests=sorted(found, key=lambda d: d.digest))

    def close(self) -> None:
        pass
