"""An OCI image layout directory as a :class:`~konflux_supply.oci.registry.Registry`.

``oci-layout``, ``index.json`` and ``blobs/<alg>/<hex>`` as in the image-spec. Tags are the
``org.opencontainers.image.ref.name`` annotation of ``index.json`` entries; manifests pushed
by digest (referrers) are listed untagged so that they stay reachable. Every write goes to a
temporary file that is fsynced and renamed into place; ``index.json`` is replaced by rename
under an exclusive lock (``index.json.lock``, a host file lock plus a thread lock), so
concurrent writers in several processes never lose an entry and readers never see a torn
file. Referrers are found by scanning the listed manifests for a matching ``subject``.

The entries also carry the ``kind`` annotation of cosign's own layout (``cosign save``), which
is all ``cosign verify --local-image`` reads: a ``sha256-<hex>.sig``/``.att`` tag gets
``dev.cosignproject.cosign/sigs``/``atts``, and the image it belongs to, when listed,
``dev.cosignproject.cosign/image`` (``imageIndex`` for an index). A layout written by
``cosign save`` (those annotations and no tags) is read the same way: its ``.sig``/``.att``
images are found by their ``kind``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.canonical import dumps_go
from konflux_supply.models.oci import (
    INDEX_MEDIA_TYPES,
    OCI_INDEX,
    Descriptor,
    ImageIndex,
    ImageManifest,
    RawManifest,
    is_digest,
    parse_manifest,
)
from konflux_supply.oci.options import Limits, RegistryOptions
from konflux_supply.oci.registry import PutResult, SizeLimitExceeded

__all__ = ["REF_NAME", "LayoutRegistry"]

REF_NAME = "org.opencontainers.image.ref.name"
#: cosign's layout annotation (``pkg/oci/layout``): what an ``index.json`` entry is.
COSIGN_KIND = "kind"
_COSIGN_TAG = re.compile(r"^(sha256)-([0-9a-f]{64})\.(sig|att)$")
_COSIGN_KINDS = {"sig": "dev.cosignproject.cosign/sigs", "att": "dev.cosignproject.cosign/atts"}


def _cosign_kinds(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``manifests`` with cosign's ``kind`` annotations on attachment tags and their images."""
    subjects = set()
    out = []
    for entry in manifests:
        annotations = entry.get("annotations") or {}
        match = _COSIGN_TAG.match(str(annotations.get(REF_NAME, "")))
        if match and COSIGN_KIND not in annotations:
            entry = {**entry, "annotations": {**annotations, COSIGN_KIND: _COSIGN_KINDS[match[3]]}}
        if match:
            subjects.add(f"{match[1]}:{match[2]}")
        out.append(entry)
    marked = {e.get("digest") for e in out if COSIGN_KIND in (e.get("annotations") or {})}
    for index, entry in enumerate(out):
        digest = entry.get("digest")
        if digest in subjects and digest not in marked:
            kind = "imageIndex" if entry.get("mediaType") in INDEX_MEDIA_TYPES else "image"
            annotations = {
                **(entry.get("annotations") or {}),
                COSIGN_KIND: f"dev.cosignproject.cosign/{kind}",
            }
            out[index] = {**entry, "annotations": annotations}
            marked.add(digest)
    return out


_LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'


def _cosign_saved(descriptors: list[Descriptor], reference: str) -> Descriptor | None:
    """In a layout ``cosign save`` wrote (``kind`` annotations, no tags), the ``.sig``/``.att``
    image of its one image: ``sha256-<hex>.sig`` when that image is ``sha256:<hex>``."""
    match = _COSIGN_TAG.match(reference)
    if match is None:
        return None
    kinds = {(d.annotations or {}).get(COSIGN_KIND): d for d in reversed(descriptors)}
    image = kinds.get("dev.cosignproject.cosign/image") or kinds.get(
        "dev.cosignproject.cosign/imageIndex"
    )
    if image is None or image.digest != f"{match[1]}:{match[2]}":
        return None
    return kinds.get(_COSIGN_KINDS[match[3]])


_EMPTY_INDEX = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: str) -> threading.Lock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(path, threading.Lock())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc``); else
    read once by setting and restoring it (under a lock)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _THREAD_LOCKS_GUARD:
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _file_mode() -> int:
    """The mode ``cp`` would give a new file (0644 under umask 022): a layout is meant to be
    read by other users (``skopeo inspect``, an air-gapped copy), unlike mkstemp's 0600."""
    return 0o666 & ~_umask()


def _write_atomic(target: Path, chunks: Iterable[bytes], *, check: Callable[[], None]) -> None:
    """Write chunks to a temporary file beside ``target``, run ``check``, rename into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        check()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _open_regular(path: Path) -> int:
    """A read descriptor for ``path`` if it is a regular file (following symlinks).

    A layout may come from elsewhere: a FIFO would block ``open`` and a device never end.
    Raises ``FileNotFoundError`` or ``IsADirectoryError``-style :class:`OSError` as ``open``
    does, and :class:`OSError` ``EINVAL`` for anything but a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def _read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of the regular file ``path``."""
    with os.fdopen(_open_regular(path), "rb") as handle:
        return handle.read(limit)


class _Malformed(Exception):
    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _check_descriptor(entry: Any, where: str) -> None:
    """One ``index.json`` entry as a descriptor, or :class:`_Malformed` in one line naming
    the field (never pydantic's multi-line dump)."""
    from pydantic import ValidationError

    if not isinstance(entry, dict):
        raise _Malformed("an entry is not a JSON object", where)
    try:
        Descriptor.model_validate(entry)
    except ValidationError as error:
        first = error.errors()[0]
        parts = [str(part) for part in first["loc"]]
        field = ".".join([where, *parts]) if parts else where
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _Malformed(message, field) from None


class LayoutRegistry:
    """An OCI image layout directory (created on first write)."""

    def __init__(self, path: str | Path, options: RegistryOptions | None = None) -> None:
        self.path = Path(path)
        self.options = options or RegistryOptions()
        self._subjects: dict[str, tuple[str | None, Descriptor | None]] = {}

    @property
    def name(self) -> str:
        return f"oci:{self.path}"

    @property
    def limits(self) -> Limits:
        return self.options.limits

    def close(self) -> None:
        """Nothing to release."""

    # -- files ----------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise InputError(f"malformed digest {digest!r}", source=self.name)
        algorithm, hexpart = digest.split(":", 1)
        return self.path / "blobs" / algorithm / hexpart

    def _exists(self) -> bool:
        """True for a layout; False for a missing or empty directory; else InputError."""
        if (self.path / "index.json").is_file():
            return True
        if not self.path.exists():
            return False
        if not self.path.is_dir():
            raise InputError("not a directory", source=str(self.path))
        ours = {"index.json.lock", "oci-layout", "blobs"}
        if any(p.name not in ours and not p.name.startswith(".") for p in self.path.iterdir()):
            raise InputError("not an OCI image layout (no index.json)", source=str(self.path))
        return False

    def _read_index(self) -> dict[str, Any]:
        index_path = self.path / "index.json"
        limit = self.options.limits.max_manifest_bytes
        try:
            raw = _read_regular(index_path, limit + 1)
        except FileNotFoundError:
            if self.path.is_dir() and not any(self.path.iterdir()):
                return dict(_EMPTY_INDEX, manifests=[])
            raise InputError(
                "not an OCI image layout (no index.json)", source=str(self.path)
            ) from None
        except OSError as error:
            raise InputError(
                f"cannot read index.json: {error.strerror}", source=str(self.path)
            ) from None
        if len(raw) > limit:
            raise InputError(f"index.json is larger than {limit} bytes", source=str(self.path))
        self._check_layout_version()
        try:
            document = json.loads(raw)
            if not isinstance(document, dict):
                raise _Malformed("not a JSON object")
            manifests = document.get("manifests")
            if not isinstance(manifests, list):
                raise _Malformed("'manifests' is not a list", "manifests")
            for position, entry in enumerate(manifests):
                _check_descriptor(entry, f"manifests[{position}]")
        except _Malformed as error:
            raise InputError(
                f"malformed index.json: {error.reason}", field=error.field, source=str(self.path)
            ) from None
        except ValueError as error:  # not JSON
            reason = getattr(error, "msg", None) or "not JSON"
            raise InputError(f"malformed index.json: {reason}", source=str(self.path)) from None
        except RecursionError:
            raise InputError(
                "malformed index.json: nested too deeply", source=str(self.path)
            ) from None
        return dict(document)

    def _check_layout_version(self) -> None:
        """The ``oci-layout`` file, when there, must say ``1.0.0`` (as containers/image
        checks): a layout of another version may mean something else."""
        try:
            raw = _read_regular(self.path / "oci-layout", 4096)
        except FileNotFoundError:
            return
        except OSError as error:
            raise InputError(
                f"cannot read oci-layout: {error.strerror}", source=str(self.path)
            ) from None
        try:
            version = json.loads(raw).get("imageLayoutVersion")
        except (ValueError, AttributeError, RecursionError):
            raise InputError("malformed oci-layout file", source=str(self.path)) from None
        if version != "1.0.0":
            raise InputError(
                f"unsupported imageLayoutVersion {version!r} (only 1.0.0 is read)",
                field="oci-layout.imageLayoutVersion",
                source=str(self.path),
            )

    def _descriptors(self) -> list[Descriptor]:
        return [Descriptor.model_validate(d) for d in self._read_index()["manifests"]]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        lock_path = self.path / "index.json.lock"
        with _thread_lock(str(lock_path.resolve())):
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _ensure_layout(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        marker = self.path / "oci-layout"
        if not marker.exists():
            _write_atomic(marker, [_LAYOUT_FILE], check=lambda: None)
        if not (self.path / "index.json").exists():
            self._write_index(dict(_EMPTY_INDEX, manifests=[]))

    def _write_index(self, document: dict[str, Any]) -> None:
        data = dumps_go(document)
        _write_atomic(self.path / "index.json", [data], check=lambda: None)

    def _update_index(self, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
        with self._locked():
            self._ensure_layout()
            document = self._read_index()
            document["manifests"] = change(list(document["manifests"]))
            self._write_index(document)

    # -- reading --------------------------------------------------------------------------

    def _read_blob(self, descriptor: Descriptor, limit: int) -> bytes:
        if descriptor.size > limit:
            raise SizeLimitExceeded(
                f"blob {descriptor.digest} is {descriptor.size} bytes, more than the limit "
                f"of {limit}"
            )
        path = self._blob_path(descriptor.digest)
        try:
            data = _read_regular(path, descriptor.size + 1)
        except FileNotFoundError:
            raise RegistryError(f"blob {descriptor.digest} is missing", url=self.name) from None
        except OSError as error:
            raise RegistryError(f"cannot read blob: {error.strerror}", url=self.name) from None
        self._check(descriptor.digest, data, descriptor.size)
        return data

    def _check(self, digest: str, data: bytes, size: int | None) -> None:
        algorithm = digest.split(":", 1)[0]
        got = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
        if got != digest or (size is not None and len(data) != size):
            raise RegistryError(
                f"blob {digest} in the layout is corrupt (content is {got}, {len(data)} bytes)",
                url=self.name,
            )

    def _find(self, reference: str) -> Descriptor | None:
        if not self._exists():
            return None
        descriptors = self._descriptors()
        if is_digest(reference):
            for descriptor in descriptors:
                if descriptor.digest == reference:
                    return descriptor
            if self._blob_path(reference).is_file():
                return Descriptor(media_type="", size=0, digest=reference)
            return None
        if reference == "":
            if len(descriptors) != 1:
                raise InputError(
                    f"the layout holds {len(descriptors)} manifests: name one with :TAG or "
                    "@sha256:…",
                    source=str(self.path),
                )
            return descriptors[0]
        found = [d for d in descriptors if (d.annotations or {}).get(REF_NAME) == reference]
        if found:
            return found[-1]
        return _cosign_saved(descriptors, reference)

    def get_manifest(self, repository: str, reference: str) -> RawManifest | None:
        """A manifest by ``ref.name`` tag or digest (``""`` = the only one)."""
        descriptor = self._find(reference)
        if descriptor is None:
            return None
        path = self._blob_path(descriptor.digest)
        limit = self.options.limits.max_manifest_bytes
        try:
            data = _read_regular(path, limit + 1)
        except FileNotFoundError:
            if is_digest(reference):
                return None
            raise RegistryError(
                f"index.json lists {descriptor.digest} but its blob is missing", url=self.name
            ) from None
        except OSError as error:
            raise RegistryError(f"cannot read manifest: {error.strerror}", url=self.name) from None
        if len(data) > limit:
            raise SizeLimitExceeded(f"manifest {descriptor.digest} is larger than {limit} bytes")
        self._check(descriptor.digest, data, descriptor.size or None)
        try:
            return parse_manifest(
                data, descriptor.media_type or None, digest=descriptor.digest, source=self.name
            )
        except InputError as error:
            raise RegistryError(
                f"invalid manifest in the layout: {error.summary()}", url=self.name
            ) from None

    def head_manifest(self, repository: str, reference: str) -> Descriptor | None:
        """The descriptor of a manifest (read from disk to know its media type)."""
        manifest = self.get_manifest(repository, reference)
        return None if manifest is None else manifest.descriptor()

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        """A blob, size-capped and digest-checked."""
        return self._read_blob(descriptor, limit)

    def iter_blob(self, repository: str, descriptor: Descriptor) -> Iterator[bytes]:
        """Stream a blob, checking size and digest before the last chunk."""
        path = self._blob_path(descriptor.digest)
        algorithm = descriptor.digest.split(":", 1)[0]
        hasher = hashlib.new(algorithm)
        seen = 0
        pending: bytes | None = None
        try:
            with os.fdopen(_open_regular(path), "rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    seen += len(chunk)
                    if seen > descriptor.size:
                        break
                    hasher.update(chunk)
                    if pending is not None:
                        yield pending
                    pending = chunk
        except FileNotFoundError:
            raise RegistryError(f"blob {descriptor.digest} is missing", url=self.name) from None
        except OSError as error:
            raise RegistryError(f"cannot read blob: {error.strerror}", url=self.name) from None
        got = f"{algorithm}:{hasher.hexdigest()}"
        if seen != descriptor.size or got != descriptor.digest:
            raise RegistryError(f"blob {descriptor.digest} in the layout is corrupt", url=self.name)
        if pending is not None:
            yield pending

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether the blob file exists."""
        return self._blob_path(digest).is_file()

    def list_tags(self, repository: str) -> list[str]:
        """The ``ref.name`` annotations of ``index.json``."""
        if not self._exists():
            return []
        names = [(d.annotations or {}).get(REF_NAME) for d in self._descriptors()]
        return [name for name in names if name]

    def _subject_of(self, descriptor: Descriptor) -> tuple[str | None, Descriptor | None]:
        cached = self._subjects.get(descriptor.digest)
        if cached is not None:
            return cached
        result: tuple[str | None, Descriptor | None] = (None, None)
        with contextlib.suppress(RegistryError, InputError):
            manifest = self.get_manifest("", descriptor.digest)
            if manifest is not None:
                doc = manifest.document
                subject = doc.subject.digest if doc.subject else None
                result = (subject, manifest.descriptor(annotations=doc.annotations))
        self._subjects[descriptor.digest] = result
        return result

    def referrers(
        self, repository: str, digest: str, *, artifact_type: str | None = None
    ) -> ImageIndex:
        """Manifests in the layout whose ``subject`` is ``digest``, sorted by digest."""
        found: dict[str, Descriptor] = {}
        if self._exists():
            for descriptor in self._descriptors():
                subject, described = self._subject_of(descriptor)
                if subject == digest and described is not None:
                    found[described.digest] = described
        manifests = sorted(found.values(), key=lambda d: d.digest)
        if artifact_type:
            manifests = [d for d in manifests if d.artifact_type == artifact_type]
        if len(manifests) > self.options.limits.max_referrers:
            raise SizeLimitExceeded(f"more than {self.options.limits.max_referrers} referrers")
        return ImageIndex(schema_version=2, media_type=OCI_INDEX, manifests=manifests)

    # -- writing --------------------------------------------------------------------------

    def _store(self, digest: str, chunks: Iterable[bytes], size: int) -> None:
        target = self._blob_path(digest)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        algorithm = digest.split(":", 1)[0]
        hasher = hashlib.new(algorithm)
        count = [0]

        def counted() -> Iterator[bytes]:
            for chunk in chunks:
                hasher.update(chunk)
                count[0] += len(chunk)
                yield chunk

        def check() -> None:
            got = f"{algorithm}:{hasher.hexdigest()}"
            if got != digest or count[0] != size:
                raise RegistryError(f"content for {digest} has digest {got}, {count[0]} bytes")

        try:
            _write_atomic(target, counted(), check=check)
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise RegistryError("no space left writing the layout", url=self.name) from None
            raise RegistryError(f"cannot write blob: {error.strerror}", url=self.name) from None

    def put_blob(
        self,
        repository: str,
        data: bytes,
        *,
        digest: str | None = None,
        mount_from: str | None = None,
    ) -> str:
        """Store a blob atomically (skipped when present)."""
        actual = f"sha256:{hashlib.sha256(data).hexdigest()}"
        if digest and digest != actual:
            if digest.startswith("sha512:"):
                actual = f"sha512:{hashlib.sha512(data).hexdigest()}"
            if digest != actual:
                raise InputError(f"blob content does not match digest {digest}")
        self._ensure_dirs()
        self._store(actual, [data], len(data))
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
        """Store a streamed blob; nothing is left behind if the source is wrong."""
        self._ensure_dirs()
        self._store(digest, open_chunks(), size)

    def _ensure_dirs(self) -> None:
        if (self.path / "index.json").is_file():
            return
        with self._locked():
            if not self._exists():
                self._ensure_layout()

    def put_manifest(
        self, repository: str, reference: str, manifest: RawManifest, *, retry: bool = True
    ) -> PutResult:
        """Store a manifest blob and list it in ``index.json`` (tagged or by digest)."""
        if is_digest(reference) and reference != manifest.digest:
            raise InputError(f"manifest digest {manifest.digest} is not {reference}")
        self._ensure_dirs()
        self._store(manifest.digest, [manifest.data], len(manifest.data))
        entry = Descriptor(
            media_type=manifest.media_type, size=len(manifest.data), digest=manifest.digest
        )
        doc = manifest.document
        if isinstance(doc, ImageManifest | ImageIndex) and doc.artifact_type:
            entry = entry.model_copy(update={"artifact_type": doc.artifact_type})
        tagged = not is_digest(reference)
        if tagged:
            entry = entry.model_copy(update={"annotations": {REF_NAME: reference}})

        def change(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if tagged:
                kept = [
                    m for m in manifests if (m.get("annotations") or {}).get(REF_NAME) != reference
                ]
            else:
                if any(m.get("digest") == manifest.digest for m in manifests):
                    return manifests
                kept = manifests
            return _cosign_kinds([*kept, entry.to_obj()])

        self._update_index(change)
        return PutResult(manifest.digest, subject_processed=doc.subject is not None)

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Remove every ``index.json`` entry for ``digest`` (the blob stays)."""
        if not self._exists():
            return
        self._update_index(lambda ms: [m for m in ms if m.get("digest") != digest])
