"""JSON/YAML files read out of tar streams, for ``ec.oci.blob_files`` and ``ec.oci.image_files``.

Archives are read strictly front to back (``tarfile`` stream mode): nothing but the wanted
files is kept, each capped. Layers are flattened as go-containerregistry's
``mutate.Extract`` does when read from the top layer down: the first layer that has a path
wins, a whiteout (``.wh.NAME``) hides the path and everything below it in lower layers, and
a non-directory hides its own subtree.
"""

from __future__ import annotations

import datetime
import io
import json
import lzma
import math
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "ArchiveError",
    "BlobStream",
    "FileBudget",
    "clean_path",
    "parse_structured",
    "read_archive",
]

_WHITEOUT = ".wh."


class ArchiveError(Exception):
    """An archive could not be read (``unreadable``) or broke a cap (``unavailable``)."""

    def __init__(self, cause: str, kind: str = "unreadable") -> None:
        super().__init__(cause)
        self.cause = cause
        self.kind = kind


@dataclass
class FileBudget:
    """What may still be read: one file's cap, the bytes of wanted files left for the whole
    call, and the archive bytes (as unpacked) left for the whole call — a small compressed
    layer can unpack to very much, and every byte of it is read to find the files."""

    max_file_bytes: int
    remaining: int
    expanded: int = 1 << 62


class BlobStream(io.RawIOBase):
    """A read-only stream over blob chunks; ``budget[0]`` (shared by the blobs of one call)
    is what may still be read, going below zero raises :class:`ArchiveError` (``unavailable``)."""

    def __init__(self, chunks: Iterable[bytes], budget: list[int]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._budget[0] -= len(chunk)
            if self._budget[0] < 0:
                raise ArchiveError("more bytes than the archive limit", "unavailable")
            self._pending = chunk
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        """Close the blob's response (an unfinished stream is not verified, only dropped)."""
        closer = getattr(self._chunks, "close", None)
        if callable(closer):
            closer()
        super().close()

    def drain(self) -> None:
        """Read to the end, so that the blob's size and digest are checked."""
        while self.readinto(bytearray(1024 * 1024)):
            pass


def clean_path(name: str) -> str:
    """Go's ``path.Clean``: ``./a//b/`` → ``a/b``, ``//a`` → ``/a``, empty → ``.``."""
    cleaned = posixpath.normpath(name) if name else "."
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


class _Loader(yaml.SafeLoader):
    """YAML as sigs.k8s.io/yaml reads it into JSON: timestamps stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"a {type(value).__name__} cannot be a JSON key")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"a {type(value).__name__} is not JSON")


def parse_structured(data: bytes) -> Any:
    """A JSON or YAML document (the first one) as JSON values; ``ValueError`` if neither."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        documents = yaml.load_all(text, Loader=_Loader)  # a SafeLoader subclass
        return _jsonable(next(iter(documents), None))
    except (yaml.YAMLError, RecursionError) as error:
        raise ValueError(f"not JSON or YAML: {str(error).splitlines()[0][:120]}") from None


def _hidden(flatten: dict[str, bool], name: str) -> bool:
    """Whether a path above ``name`` was whited out or is a file in an upper layer."""
    current = name
    while current:
        parent = posixpath.dirname(current) or "."
        if parent == current:
            return False
        if flatten.get(parent):
            return True
        current = parent
    return False


def _visible(member: tarfile.TarInfo, flatten: dict[str, bool] | None) -> str | None:
    """The flattened path of ``member``, or ``None`` if an upper layer hides it or it is a
    whiteout (which then hides the path for the layers below)."""
    name = clean_path(member.name)
    if flatten is None:
        return member.name
    base = posixpath.basename(name)
    tombstone = base.startswith(_WHITEOUT)
    if tombstone:
        name = posixpath.join(posixpath.dirname(name), base[len(_WHITEOUT) :])
    if name in flatten or _hidden(flatten, name):
        return None
    flatten[name] = tombstone or not member.isdir()
    return None if tombstone else name


def read_archive(
    archive: tarfile.TarFile,
    match: Callable[[str], bool],
    budget: FileBudget,
    *,
    on_skip: Callable[[str], None],
    flatten: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """``{path: parsed value}`` of the regular files that ``match``, reading the archive once.

    ``flatten`` (shared across the layers of one image, top layer first) applies the
    layer-flattening rules; without it, names are taken as they are in the archive. A file
    over ``budget.max_file_bytes`` is skipped and reported through ``on_skip``; going over
    ``budget.remaining`` raises :class:`ArchiveError` (``unavailable``). A file that is
    neither JSON nor YAML is left out, as in Conforma.
    """
    found: dict[str, Any] = {}
    try:
        start = budget.expanded
        for member in archive:
            budget.expanded = start - member.offset_data - member.size
            if budget.expanded < 0:
                raise ArchiveError("the archive unpacks to more than the limit", "unavailable")
            name = _visible(member, flatten)
            if name is None or not member.isfile() or not match(name):
                continue
            if member.size > budget.max_file_bytes:
                on_skip(f"{name} is {member.size} bytes, more than {budget.max_file_bytes}")
                continue
            budget.remaining -= member.size
            if budget.remaining < 0:
                raise ArchiveError("the files are larger than the limit", "unavailable")
            handle = archive.extractfile(member)
            data = handle.read(member.size) if handle is not None else b""
            try:
                found[name] = parse_structured(data)
            except ValueError:
                continue
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as error:
        raise ArchiveError(f"not a readable tar archive: {error}") from None
    budget.expanded = start - archive.offset
    return found
