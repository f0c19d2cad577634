"""``ec.oci.*``: manifests, indexes, descriptors, blobs and files from registries, as Rego values.

Shapes follow Conforma's builtins field for field (reference/conforma.md §5): descriptors
always carry ``mediaType, size, digest, data, urls, annotations, artifactType`` (empty when
absent) and ``platform`` when present; manifests ``schemaVersion, mediaType, config, layers,
annotations`` and ``subject`` when present. A manifest asked for through an image index is
the ``linux/amd64`` image, as go-containerregistry's ``remote.Image`` picks it.

Every function returns ``None`` (*undefined* in Rego) on failure and records registry and
content failures on the context; results are memoised on the context.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import posixpath
import tarfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import is_digest
from konflux_supply.oci import Reference
from konflux_supply.policy import _ec_adapter as adapter
from konflux_supply.policy._ec_context import BuiltinContext, FailureKind
from konflux_supply.policy._ec_files import (
    ArchiveError,
    BlobStream,
    FileBudget,
    clean_path,
    read_archive,
)

__all__ = [
    "blob",
    "blob_files",
    "descriptor",
    "image_files",
    "image_index",
    "image_manifest",
    "image_manifests",
    "image_referrers",
    "image_tag_refs",
    "parsed_blob",
]

_T = TypeVar("_T")


class _Failed(Exception):
    """A failure to record as ``kind`` (raised inside a guarded builtin)."""

    def __init__(self, cause: str, kind: FailureKind) -> None:
        super().__init__(cause)
        self.cause = cause
        self.kind = kind


def _guarded(ctx: BuiltinContext, name: str, ref: Any, run: Callable[[], _T]) -> _T | None:
    """Run one builtin body: registry and content failures become ``None``, recorded."""
    label = ref if isinstance(ref, str) else repr(ref)[:200]
    try:
        return run()
    except RegistryError as error:
        ctx.record_registry(name, label, error)
    except _Failed as failure:
        ctx.record(name, label, failure.cause, failure.kind)
    except ArchiveError as error:
        kind: FailureKind = "unavailable" if error.kind == "unavailable" else "unreadable"
        ctx.record(name, label, error.cause, kind)
    except InputError:
        pass  # the policy's own argument is malformed: undefined, as in Conforma
    return None


def _memo(
    ctx: BuiltinContext, name: str, args: tuple[Any, ...], run: Callable[[], _T]
) -> _T | None:
    return ctx.memo(name, args, lambda: _guarded(ctx, name, args[0], run))


def _reference(text: Any, *, digest: bool = False) -> Reference:
    if not isinstance(text, str):
        raise InputError("the reference is not a string", field="ref")
    ref = adapter.parse_reference(text)
    if digest and not (ref.digest and is_digest(ref.digest)):
        raise InputError("a digest reference is required", field="ref")
    return ref


def _pinned(ctx: BuiltinContext, ref: Reference) -> Reference:
    """``ref`` with its digest (a tag resolved by HEAD)."""
    if ref.digest:
        return ref
    found = adapter.head_manifest(ctx.pool(), ref)
    if found is None:
        raise _Failed(f"{ref} does not exist", "missing")
    return ref.with_digest(found.digest)


# -- Rego shapes ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _annotations(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _data(value: Any) -> str:
    """A descriptor's embedded ``data`` as Conforma shows it: the decoded bytes as text."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""


def _platform(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "architecture": _text(value.get("architecture")),
        "os": _text(value.get("os")),
        "os.version": _text(value.get("os.version")),
        "os.features": _strings(value.get("os.features")),
        "variant": _text(value.get("variant")),
        "features": _strings(value.get("features")),
    }


def descriptor_term(value: Any) -> dict[str, Any]:
    """A descriptor (JSON object) in Conforma's shape."""
    doc = value if isinstance(value, dict) else {}
    size = doc.get("size")
    out: dict[str, Any] = {
        "mediaType": _text(doc.get("mediaType")),
        "size": size if isinstance(size, int) and not isinstance(size, bool) else 0,
        "digest": _text(doc.get("digest")),
        "data": _data(doc.get("data")),
        "urls": _strings(doc.get("urls")),
        "annotations": _annotations(doc.get("annotations")),
        "artifactType": _text(doc.get("artifactType")),
    }
    if isinstance(doc.get("platform"), dict):
        out["platform"] = _platform(doc["platform"])
    return out


def _schema_version(doc: dict[str, Any]) -> int:
    value = doc.get("schemaVersion")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def manifest_term(doc: dict[str, Any]) -> dict[str, Any]:
    """An image manifest (JSON object) in Conforma's shape."""
    layers = doc.get("layers")
    out: dict[str, Any] = {
        "schemaVersion": _schema_version(doc),
        "mediaType": _text(doc.get("mediaType")),
        "config": descriptor_term(doc.get("config")),
        "layers": [descriptor_term(d) for d in layers] if isinstance(layers, list) else [],
        "annotations": _annotations(doc.get("annotations")),
    }
    if isinstance(doc.get("subject"), dict):
        out["subject"] = descriptor_term(doc["subject"])
    return out


def index_term(doc: dict[str, Any]) -> dict[str, Any]:
    """An image index (JSON object) in Conforma's shape."""
    manifests = doc.get("manifests")
    out: dict[str, Any] = {
        "schemaVersion": _schema_version(doc),
        "mediaType": _text(doc.get("mediaType")),
        "manifests": [descriptor_term(d) for d in manifests] if isinstance(manifests, list) else [],
        "annotations": _annotations(doc.get("annotations")),
    }
    if isinstance(doc.get("subject"), dict):
        out["subject"] = descriptor_term(doc["subject"])
    return out


# -- fetching ---------------------------------------------------------------------------------


def _document(ctx: BuiltinContext, ref: Reference) -> tuple[Reference, dict[str, Any], bool]:
    """(digest reference, parsed JSON, is an index) of the manifest at ``ref``."""
    raw = adapter.get_manifest(ctx.pool(), ref)
    if raw is None:
        raise _Failed(f"{ref} does not exist", "missing")
    doc = json.loads(raw.data)
    return ref.with_digest(raw.digest), doc, raw.is_index


def _image(ctx: BuiltinContext, ref: Reference) -> tuple[Reference, dict[str, Any]]:
    """The image manifest at ``ref``; through an index, its ``linux/amd64`` image."""
    pinned, doc, is_index = _document(ctx, ref)
    if not is_index:
        return pinned, doc
    for entry in doc.get("manifests") or []:
        platform = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(platform, dict):
            continue
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            child = pinned.with_digest(str(entry.get("digest")))
            pinned, doc, is_index = _document(ctx, child)
            if is_index:
                raise InputError("nested image index", field="ref")
            return pinned, doc
    raise InputError(f"{ref} is an image index without a linux/amd64 image", field="ref")


def image_manifest(ctx: BuiltinContext, ref: Any) -> dict[str, Any] | None:
    """``ec.oci.image_manifest(ref)``."""

    def run() -> dict[str, Any]:
        return manifest_term(_image(ctx, _reference(ref))[1])

    return _memo(ctx, "ec.oci.image_manifest", (ref,), run)


def image_manifests(ctx: BuiltinContext, refs: Any) -> dict[str, Any] | None:
    """``ec.oci.image_manifests(refs)``: ``{ref: manifest}`` for the refs that could be read,
    fetched in parallel by a small thread pool (failures recorded by ``image_manifest``)."""
    if not isinstance(refs, set | frozenset | list | tuple):
        return None
    if not all(isinstance(r, str) for r in refs):
        return None  # a non-string element: undefined, as in Conforma
    wanted = sorted(set(refs))
    if len(wanted) > ctx.limits.max_batch:
        ctx.record(
            "ec.oci.image_manifests",
            f"({len(wanted)} references)",
            f"more than the limit of {ctx.limits.max_batch} references",
            "unavailable",
        )
        return None
    if len(wanted) <= 1:
        results = [image_manifest(ctx, r) for r in wanted]
    else:
        workers = min(ctx.limits.workers, len(wanted))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ec-oci") as pool:
            results = list(pool.map(lambda r: image_manifest(ctx, r), wanted))
    return {r: m for r, m in zip(wanted, results, strict=True) if m is not None}


def image_index(ctx: BuiltinContext, ref: Any) -> dict[str, Any] | None:
    """``ec.oci.image_index(ref)``: undefined unless ``ref`` is an image index."""

    def run() -> dict[str, Any] | None:
        _, doc, is_index = _document(ctx, _reference(ref))
        return index_term(doc) if is_index else None

    return _memo(ctx, "ec.oci.image_index", (ref,), run)


def descriptor(ctx: BuiltinContext, ref: Any) -> dict[str, Any] | None:
    """``ec.oci.descriptor(ref)``: what a HEAD of the manifest reports."""

    def run() -> dict[str, Any]:
        parsed = _reference(ref)
        found = adapter.head_manifest(ctx.pool(), parsed)
        if found is None:
            raise _Failed(f"{parsed} does not exist", "missing")
        return descriptor_term(found.to_obj())

    return _memo(ctx, "ec.oci.descriptor", (ref,), run)


def image_tag_refs(ctx: BuiltinContext, ref: Any) -> list[str] | None:
    """``ec.oci.image_tag_refs(ref)``: the cosign ``.sig``/``.att``/``.sbom`` tags that exist.

    Unlike Conforma, a tag the registry could not be asked about makes the answer undefined
    (and recorded) instead of being left out of the list.
    """

    def run() -> list[str]:
        pinned = _pinned(ctx, _reference(ref))
        found = []
        for suffix in adapter.TAG_SUFFIXES:
            tag = adapter.tag_reference(pinned, suffix)
            if adapter.head_manifest(ctx.pool(), tag) is not None:
                found.append(str(tag))
        return found

    return _memo(ctx, "ec.oci.image_tag_refs", (ref,), run)


def image_referrers(ctx: BuiltinContext, ref: Any) -> list[dict[str, Any]] | None:
    """``ec.oci.image_referrers(ref)``: OCI referrers (API, else the fallback tag)."""

    def run() -> list[dict[str, Any]]:
        pinned = _pinned(ctx, _reference(ref))
        return [
            {
                "mediaType": _text(d.get("mediaType")),
                "size": d.get("size", 0),
                "digest": _text(d.get("digest")),
                "artifactType": _text(d.get("artifactType")),
                "ref": f"{pinned.name}@{d.get('digest')}",
                "annotations": _annotations(d.get("annotations")),
            }
            for d in adapter.referrers(ctx.pool(), pinned)
        ]

    return _memo(ctx, "ec.oci.image_referrers", (ref,), run)


# -- blobs ------------------------------------------------------------------------------------


def _blob_size(ctx: BuiltinContext, ref: Reference) -> int:
    size = adapter.blob_size(ctx.pool(), ref)
    if size is None:
        raise _Failed(f"blob {ref.digest} does not exist in {ref.name}", "missing")
    return size


def blob(ctx: BuiltinContext, ref: Any) -> str | None:
    """``ec.oci.blob(ref)``: the blob as text, digest-checked and capped.

    The digest is checked on the bytes as stored; they are returned as they are (Conforma
    checks the digest after decompression, so a compressed blob is undefined there too: its
    bytes are not UTF-8 text).
    """

    def run() -> str | None:
        parsed = _reference(ref, digest=True)
        size = _blob_size(ctx, parsed)
        limit = ctx.limits.max_blob_bytes
        if size > limit:
            raise _Failed(
                f"the blob is {size} bytes, more than the limit of {limit}", "unavailable"
            )
        data = adapter.get_blob(ctx.pool(), parsed, parsed.digest or "", size, limit=limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None  # the content's own answer (not text), not a failure to read it

    return _memo(ctx, "ec.oci.blob", (ref,), run)


def parsed_blob(ctx: BuiltinContext, ref: Any) -> Any:
    """``ec.oci.parsed_blob(ref)``: the blob parsed as JSON (undefined if it is not JSON)."""

    def run() -> Any:
        text = blob(ctx, ref)
        if text is None:
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return None

    return ctx.memo("ec.oci.parsed_blob", (ref,), run)


def _paths(value: Any) -> list[str]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise InputError("paths must be an array of strings", field="paths")
    paths = list(value)
    if not all(isinstance(p, str) for p in paths):
        raise InputError("paths must be an array of strings", field="paths")
    return paths


def _stream(
    ctx: BuiltinContext, ref: Reference, digest: str, size: int, budget: list[int]
) -> BlobStream:
    if size > budget[0]:
        raise _Failed(f"blob {digest} is larger than the archive limit", "unavailable")
    return BlobStream(adapter.iter_blob(ctx.pool(), ref, digest, size), budget)


def _budget(ctx: BuiltinContext) -> FileBudget:
    limits = ctx.limits
    return FileBudget(limits.max_file_bytes, limits.max_files_bytes, limits.max_expanded_bytes)


def _open_tar(stream: BlobStream) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=io.BufferedReader(stream), mode="r|*")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise ArchiveError(f"not a tar archive: {error}") from None


def _files(
    stream: BlobStream,
    match: Callable[[str], bool],
    budget: FileBudget,
    on_skip: Callable[[str], None],
    flatten: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """The wanted files of one streamed blob, its size and digest checked to the end."""
    try:
        try:
            with _open_tar(stream) as archive:
                found = read_archive(archive, match, budget, on_skip=on_skip, flatten=flatten)
        except ArchiveError as error:
            if error.kind == "unreadable":
                stream.drain()  # bytes that broke the digest are the registry's failure
            raise
        stream.drain()
        return found
    finally:
        stream.close()


def blob_files(ctx: BuiltinContext, ref: Any, paths: Any) -> dict[str, Any] | None:
    """``ec.oci.blob_files(ref, paths)``: JSON/YAML files at exactly these paths of a tar
    blob (compressed or not), streamed."""
    name = "ec.oci.blob_files"

    def run() -> dict[str, Any]:
        parsed = _reference(ref, digest=True)
        wanted = set(_paths(paths))
        size = _blob_size(ctx, parsed)
        if not wanted:
            return {}
        stream = _stream(ctx, parsed, parsed.digest or "", size, [ctx.limits.max_archive_bytes])
        return _files(
            stream,
            wanted.__contains__,
            _budget(ctx),
            lambda cause: ctx.record(name, str(ref), cause, "unavailable"),
        )

    return _memo(ctx, name, (ref, paths), run)


def image_files(ctx: BuiltinContext, ref: Any, paths: Any) -> dict[str, Any] | None:
    """``ec.oci.image_files(ref, paths)``: JSON/YAML files directly inside the directories
    ``paths`` of the image's flattened filesystem (upper layers and whiteouts win), streamed
    layer by layer from the top."""
    name = "ec.oci.image_files"

    def run() -> dict[str, Any]:
        parsed = _reference(ref, digest=True)
        wanted = {clean_path(p).lower() for p in _paths(paths)}
        pinned, manifest = _image(ctx, parsed)
        if not wanted:
            return {}
        layers = [d for d in manifest.get("layers") or [] if isinstance(d, dict)]
        if len(layers) > ctx.limits.max_layers:
            raise _Failed(
                f"{len(layers)} layers, more than the limit of {ctx.limits.max_layers}",
                "unavailable",
            )
        archive_budget = [ctx.limits.max_archive_bytes]
        budget = _budget(ctx)
        flatten: dict[str, bool] = {}
        found: dict[str, Any] = {}
        for layer in reversed(layers):
            digest, size = str(layer.get("digest")), layer.get("size")
            if not is_digest(digest) or not isinstance(size, int):
                raise _Failed(f"malformed layer descriptor {digest[:80]}", "unreadable")
            stream = _stream(ctx, pinned, digest, size, archive_budget)
            found.update(
                _files(
                    stream,
                    lambda path: _in_directory(path, wanted),
                    budget,
                    lambda cause: ctx.record(name, str(ref), cause, "unavailable"),
                    flatten,
                )
            )
        return found

    return _memo(ctx, name, (ref, paths), run)


_EXTENSIONS = (".yaml", ".yml", ".json")


def _in_directory(name: str, directories: set[str]) -> bool:
    """Conforma's path matcher: a JSON/YAML file directly inside one of ``directories``."""
    if not name.lower().endswith(_EXTENSIONS):
        return False
    return (posixpath.dirname(name) or ".").lower() in directories
