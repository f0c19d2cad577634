"""OCI policy bundles: read (pull into a directory) and write (``policy push``).

The one module of :mod:`konflux_supply.policy` that talks to :mod:`konflux_supply.oci`, and it
uses only the basic calls (open a registry, get/put a manifest, get/put a blob).

What is read (what ``conftest push``, ``oras push`` of directories and Conforma's own test
bundles write): an image manifest whose config is one of :data:`CONFIG_MEDIA_TYPES` and whose
layers are one of :data:`LAYER_MEDIA_TYPES`, each named by its
``org.opencontainers.image.title`` annotation. A Rego or data layer becomes the file of that
name; a ``tar+gzip`` layer (``oras push DIR``, Conforma's release bundles) is unpacked with
:mod:`tarfile`'s ``data`` filter under a cap on its unpacked size. Titles must be relative
paths that stay inside the destination. What is written: ``conftest push``'s layout (one layer
per file, Rego and data media types, titles ``<dir name>/<path>``, config ``{}``), in a
deterministic order so the same files give the same digest.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from konflux_supply.errors import InputError
from konflux_supply.models.document import parse_document
from konflux_supply.models.oci import OCI_MANIFEST, Descriptor, ImageManifest, RawManifest
from konflux_supply.oci import (
    Reference,
    Registry,
    RegistryOptions,
    RegistryPool,
    is_loopback,
    parse_reference,
)
from konflux_supply.policy._files import read_capped, walk

__all__ = [
    "CONFIG_MEDIA_TYPES",
    "DATA_LAYER",
    "LAYER_MEDIA_TYPES",
    "POLICY_CONFIG",
    "POLICY_LAYER",
    "BundleReader",
    "collect_files",
    "is_loopback",
    "pin",
    "push_tree",
]

POLICY_LAYER = "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego"
DATA_LAYER = "application/vnd.cncf.openpolicyagent.data.layer.v1+json"
POLICY_CONFIG = "application/vnd.cncf.openpolicyagent.config.v1+json"
TAR_GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
# oras push FILE (not a directory) labels the raw file with this type; it is not a tar.
ORAS_FILE_LAYER = "application/vnd.oci.image.layer.v1.tar"
TITLE = "org.opencontainers.image.title"

CONFIG_MEDIA_TYPES = frozenset(
    {
        POLICY_CONFIG,  # conftest before 0.46
        "application/vnd.unknown.config.v1+json",  # conftest, oras 1.0
        "application/vnd.oci.empty.v1+json",  # oras 1.1+
        "application/vnd.oci.image.config.v1+json",  # Conforma's acceptance bundles
    }
)
DATA_SUFFIXES = (".json", ".yaml", ".yml")
LAYER_MEDIA_TYPES = frozenset({POLICY_LAYER, DATA_LAYER, TAR_GZIP_LAYER, ORAS_FILE_LAYER})

#: Unpacked bytes of all tar+gzip layers of one bundle, and their number of members.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 100_000


def pin(location: str, digest: str) -> str:
    """``oci::<location without digest>@<digest>`` (the tag kept, as Conforma prints it; an
    OCI layout directory, which has no tag@digest form, as ``oci::oci:DIR@digest``)."""
    ref = parse_reference(location)
    if ref.layout:
        return f"oci::oci:{ref.repository}@{digest}"
    return f"oci::{location.partition('@')[0]}@{digest}"


def _title(layer: Descriptor, index: int, ref: str) -> PurePosixPath:
    title = (layer.annotations or {}).get(TITLE)
    where = f"layers[{index}].annotations.{TITLE}"
    if not title:
        raise InputError(f"policy bundle layer has no title annotation in {ref!r}", field=where)
    path = PurePosixPath(title)
    if path.is_absolute() or ".." in path.parts or "\\" in title or "\x00" in title:
        raise InputError(
            f"policy bundle layer title {title!r} leaves the bundle directory in {ref!r}",
            field=where,
        )
    if path.parts in ((), (".",)):
        raise InputError(f"empty policy bundle layer title in {ref!r}", field=where)
    return path


class BundleReader:
    """Resolves and pulls bundles; one registry connection pool per cache."""

    def __init__(self, options: RegistryOptions | None) -> None:
        self.options = options or RegistryOptions()
        self._pool = RegistryPool(self.options)

    def close(self) -> None:
        """Release the registry connections."""
        self._pool.close()

    @staticmethod
    def parse(location: str) -> Reference:
        """Check a bundle reference (``registry/repo:tag``, ``…@sha256:…``)."""
        return parse_reference(location)

    def resolve(self, location: str) -> tuple[Registry, Reference, RawManifest]:
        """The bundle's manifest (by tag or digest, digest-checked)."""
        registry, ref = self._pool.open(location)
        manifest = registry.get_manifest(ref.repository, ref.identifier)
        if manifest is None:
            raise InputError(f"policy bundle {location!r} not found in the registry", field="url")
        if manifest.is_index:
            raise InputError(
                f"policy bundle {location!r} is an image index; a bundle is one image manifest",
                field="url",
            )
        return registry, ref, manifest

    def pull(self, registry: Registry, ref: Reference, manifest: RawManifest, dest: Path) -> None:
        """Write every layer of the bundle under ``dest`` (created)."""
        text = str(ref)
        document = manifest.manifest
        config_type = document.config.media_type
        if config_type not in CONFIG_MEDIA_TYPES:
            raise InputError(
                f"{text!r} is not a policy bundle: config media type {config_type!r}",
                field="config.mediaType",
                hint="bundles are what `konflux-supply policy push` or `conftest push` write",
            )
        limits = self.options.limits
        if len(document.layers) > limits.max_layers:
            raise InputError(f"policy bundle {text!r} has too many layers", field="layers")
        if not document.layers:
            raise InputError(f"policy bundle {text!r} has no layers", field="layers")
        dest.mkdir(parents=True)
        seen: set[PurePosixPath] = set()
        budget = [MAX_UNPACKED_BYTES, MAX_MEMBERS]
        for index, layer in enumerate(document.layers):
            if layer.media_type not in LAYER_MEDIA_TYPES:
                raise InputError(
                    f"policy bundle {text!r} has a layer of media type {layer.media_type!r}",
                    field=f"layers[{index}].mediaType",
                )
            title = _title(layer, index, text)
            if title in seen:
                raise InputError(
                    f"policy bundle {text!r} has two layers titled {str(title)!r}",
                    field=f"layers[{index}]",
                )
            seen.add(title)
            data = registry.get_blob(ref.repository, layer, limit=limits.max_attachment_bytes)
            if layer.media_type == TAR_GZIP_LAYER:
                _unpack(data, dest, text, index, budget)
            else:
                target = dest.joinpath(*title.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    raise InputError(
                        f"policy bundle {text!r} writes {str(title)!r} twice",
                        field=f"layers[{index}]",
                    )
                target.write_bytes(data)


def _unpack(data: bytes, dest: Path, ref: str, index: int, budget: list[int]) -> None:
    where = f"layers[{index}]"
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
            members = tar.getmembers()
            budget[1] -= len(members)
            budget[0] -= sum(member.size for member in members if member.isfile())
            if budget[0] < 0 or budget[1] < 0:
                raise InputError(
                    f"policy bundle {ref!r} unpacks to more than "
                    f"{MAX_UNPACKED_BYTES} bytes or {MAX_MEMBERS} files",
                    field=where,
                )
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(
            f"cannot unpack layer {index} of policy bundle {ref!r}: {error}", field=where
        ) from None


def collect_files(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[str, Path, bool]]:
    """``(title, file, is_rego)`` for every Rego and data file under ``paths``, Rego first,
    each group sorted by title; titles as ``conftest push`` names them."""
    found: dict[str, tuple[Path, bool]] = {}
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise InputError("no such file or directory", source=str(given))
        base = root.resolve().name or "bundle"
        for file in walk(root):
            suffix = file.suffix.lower()
            if suffix not in (".rego", *DATA_SUFFIXES):
                continue
            title = f"{base}/{file.relative_to(root).as_posix()}" if root.is_dir() else root.name
            if title in found:
                raise InputError(
                    f"two files would have the same title {title!r} in the bundle",
                    source=str(file),
                    hint="push directories with different names",
                )
            found[title] = (file, suffix == ".rego")
    return sorted(
        ((title, file, is_rego) for title, (file, is_rego) in found.items()),
        key=lambda item: (not item[2], item[0]),
    )


def push_tree(
    paths: Sequence[str | os.PathLike[str]], ref_text: str, options: RegistryOptions | None
) -> str:
    """Check and push the files under ``paths`` as a bundle; the pinned ``oci::…@sha256:…``."""
    ref = parse_reference(ref_text)
    if ref.digest is not None:
        raise InputError(
            f"push to a tag, not a digest: {ref_text!r}", field="REF", hint="e.g. repo:v1"
        )
    layers: list[tuple[str, bytes, str]] = []
    for title, file, is_rego in collect_files(paths):
        content = read_capped(file, str(file))
        if is_rego:
            try:
                content.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("a Rego file must be UTF-8 text", source=str(file)) from None
        elif not isinstance(parse_document(content, source=str(file), unique_keys=True), dict):
            raise InputError("a data document must be an object at the top level", source=str(file))
        layers.append((title, content, POLICY_LAYER if is_rego else DATA_LAYER))
    if not any(media_type == POLICY_LAYER for _, _, media_type in layers):
        raise InputError(
            "no Rego files to push", field="DIR", hint="give the directories holding *.rego"
        )
    descriptors = []
    with RegistryPool(options or RegistryOptions()) as pool:
        registry, ref = pool.open(ref)
        for title, content, media_type in layers:
            registry.put_blob(ref.repository, content)
            descriptors.append(
                Descriptor.for_bytes(content, media_type, annotations={TITLE: title})
            )
        config = b"{}"
        registry.put_blob(ref.repository, config)
        manifest = ImageManifest(
            schema_version=2,
            media_type=OCI_MANIFEST,
            config=Descriptor.for_bytes(config, POLICY_CONFIG),
            layers=descriptors,
        )
        result = registry.put_manifest(
            ref.repository, ref.tag or "latest", RawManifest.of(manifest)
        )
    return pin(ref_text, result.digest)
