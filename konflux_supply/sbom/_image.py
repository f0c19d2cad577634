"""An SBOM for an image: the image (or index) as ``metadata.component``, identified by its
``pkg:oci`` purl, one component per platform manifest of an index, plus caller components.

I/O is injected: the caller passes a :class:`~konflux_supply.oci.Registry` (HTTP or OCI
layout; a tag is resolved once, then only digests are read), the manifest bytes, or a
``fetch(digest) -> bytes``. Every byte fetched is checked against the digest it was asked for.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from konflux_supply.errors import BackendUnavailable, InputError, RegistryError

from ._common import CYCLONEDX_VERSIONS, Collector
from ._cyclonedx import CycloneDxBom, read_component, read_cyclonedx
from ._json import clone_json
from ._write import format_timestamp, make_serial_number, make_tools

if TYPE_CHECKING:
    from konflux_supply.oci import Reference, Registry

__all__ = [
    "INDEX_MEDIA_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "ImageName",
    "generate",
    "image_component",
    "oci_purl",
    "verify_digest",
]

INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_HASH_ALGS = {"sha256": "SHA-256", "sha512": "SHA-512"}
#: Manifests are capped at 4 MiB by registries; an image config is small too.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 16 * 1024 * 1024
PLATFORM_PROPERTY = "konflux-supply:oci:platform"


@dataclass(frozen=True)
class ImageName:
    """The parts of an image reference an SBOM's purl needs.

    ``repository`` is ``registry/path`` (``quay.io/org/app``, Docker Hub as ``docker.io``) or
    ``None`` for an image known only by a local name (an OCI layout); ``name`` is the purl
    name (last path segment). :meth:`parse` reads a purl-style name without I/O (sha512
    digests allowed); :meth:`from_reference` converts an :class:`~konflux_supply.oci.Reference`.
    """

    name: str
    repository: str | None
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> ImageName:
        """Read ``registry/repo[:tag][@sha256:…]`` (Docker Hub names are expanded)."""
        rest, _, digest = text.partition("@")
        if digest and not _DIGEST.match(digest):
            raise InputError(f"{digest!r} is not a sha256/sha512 digest", field="image")
        tag = None
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > slash:
            rest, tag = rest[:colon], rest[colon + 1 :]
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
                raise InputError(f"{tag!r} is not a valid tag", field="image")
        parts = rest.split("/")
        if len(parts) == 1 or not ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
            parts = ["docker.io", *(["library"] if len(parts) == 1 else []), *parts]
        if parts[0] == "index.docker.io":
            parts[0] = "docker.io"
        path = parts[1:]
        if not path or not all(re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", p) for p in path):
            raise InputError(f"{text!r} is not a valid image reference", field="image")
        return cls(path[-1], "/".join(parts), tag, digest or None)

    @classmethod
    def from_reference(cls, reference: Reference, *, repository: str | None = None) -> ImageName:
        """The purl naming of an OCI reference; ``repository`` names an ``oci:DIR`` image."""
        if reference.layout:
            base = _layout_name(reference.repository, repository)
            return cls(base.name, base.repository, reference.tag, reference.digest)
        registry = "docker.io" if reference.registry == "index.docker.io" else reference.registry
        name = reference.repository.rsplit("/", 1)[-1]
        return cls(name, f"{registry}/{reference.repository}", reference.tag, reference.digest)


def _name(image: ImageName | Reference | str, repository: str | None = None) -> ImageName:
    if isinstance(image, ImageName):
        return image
    if isinstance(image, str):
        if not image.startswith("oci:"):
            return ImageName.parse(image)
        from konflux_supply.oci import parse_reference

        image = parse_reference(image, default_tag=None)
    return ImageName.from_reference(image, repository=repository)


def verify_digest(data: bytes, digest: str, *, what: str) -> None:
    """Raise :class:`RegistryError` unless ``data`` hashes to ``digest``."""
    if not _DIGEST.match(digest):
        raise InputError(f"{digest!r} is not a sha256/sha512 digest", field="digest")
    algorithm, _, expected = digest.partition(":")
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise RegistryError(f"{what} does not match its digest {digest} (got {algorithm}:{actual})")


def oci_purl(
    image: ImageName | Reference | str,
    *,
    digest: str | None = None,
    arch: str | None = None,
    with_tag: bool = False,
) -> str:
    """``pkg:oci/<name>@<digest>?arch=…&repository_url=<registry/repo>`` for an image.

    The form Konflux and Conforma use: the name is the repository's last path segment and
    ``repository_url`` names where it lives. ``with_tag`` adds the ``tag`` qualifier.
    """
    try:
        from packageurl import PackageURL
    except ModuleNotFoundError:
        raise BackendUnavailable.missing_extra("sbom", "packageurl-python") from None
    name = _name(image)
    digest = digest or name.digest
    if digest is None:
        raise InputError("an image purl needs a digest", field="image")
    qualifiers: dict[str, str] = {}
    if arch:
        qualifiers["arch"] = arch
    if name.repository:
        qualifiers["repository_url"] = name.repository
    if with_tag and name.tag:
        qualifiers["tag"] = name.tag
    return str(PackageURL("oci", None, name.name, digest, qualifiers or None).to_string())


def _hash(digest: str) -> dict[str, str]:
    algorithm, _, content = digest.partition(":")
    return {"alg": _HASH_ALGS[algorithm], "content": content}


def _platform_properties(platform: Mapping[str, Any]) -> list[dict[str, str]]:
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    text = "/".join(str(p) for p in parts if isinstance(p, str) and p)
    out = [{"name": PLATFORM_PROPERTY, "value": text}] if text else []
    if isinstance(platform.get("os.version"), str):
        out.append({"name": f"{PLATFORM_PROPERTY}:os.version", "value": platform["os.version"]})
    return out


def image_component(
    image: ImageName | Reference | str,
    *,
    digest: str | None = None,
    platform: Mapping[str, Any] | None = None,
    repository: str | None = None,
) -> dict[str, Any]:
    """The CycloneDX component for an image or index (type ``container``, bom-ref = purl).

    ``image`` is ``registry/repo[:tag]@sha256:…``, ``oci:DIR@sha256:…`` or a pinned
    :class:`~konflux_supply.oci.Reference`; ``repository`` names an ``oci:DIR`` image.
    """
    name = _name(image, repository)
    digest = digest or name.digest
    if digest is None:
        raise InputError(
            "an image component needs a digest",
            field="image",
            hint="give IMAGE@sha256:…, or resolve its tag through a registry first",
        )
    arch = platform.get("architecture") if platform else None
    purl = oci_purl(name, digest=digest, arch=arch if isinstance(arch, str) else None)
    component: dict[str, Any] = {
        "bom-ref": purl,
        "type": "container",
        "name": name.name,
        "purl": purl,
        "hashes": [_hash(digest)],
    }
    properties = _platform_properties(platform) if platform else []
    if properties:
        component["properties"] = properties
    return component


def _load_manifest(data: bytes, digest: str) -> dict[str, Any]:
    if len(data) > MAX_MANIFEST_BYTES:
        raise InputError(f"manifest {digest} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = json.loads(data)
    except RecursionError:
        raise InputError(f"manifest {digest} is nested too deeply", field="manifest") from None
    except ValueError:
        raise InputError(f"manifest {digest} is not JSON", field="manifest") from None
    if not isinstance(manifest, dict):
        raise InputError(f"manifest {digest} is not a JSON object", field="manifest")
    return manifest


def _is_index(manifest: Mapping[str, Any]) -> bool:
    media_type = manifest.get("mediaType")
    if media_type in INDEX_MEDIA_TYPES:
        return True
    if media_type in MANIFEST_MEDIA_TYPES:
        return False
    if media_type is None and isinstance(manifest.get("manifests"), list):
        return True
    if media_type is None and isinstance(manifest.get("layers"), list):
        return False
    raise InputError(
        f"not an image manifest or index (mediaType {media_type!r})", field="manifest.mediaType"
    )


def _platform_entries(index: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(digest, platform) of each platform manifest (attestation manifests are not platforms)."""
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise InputError("an index needs a 'manifests' array", field="manifest.manifests")
    out = []
    seen = set()
    for position, entry in enumerate(entries):
        path = f"manifest.manifests[{position}]"
        if not isinstance(entry, dict):
            raise InputError("must be an object", field=path)
        digest = entry.get("digest")
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise InputError("needs a sha256/sha512 digest", field=f"{path}.digest")
        annotations = entry.get("annotations") or {}
        platform = entry.get("platform") or {}
        if not isinstance(platform, dict) or not isinstance(annotations, dict):
            raise InputError("platform and annotations must be objects", field=path)
        if annotations.get("vnd.docker.reference.type") == "attestation-manifest" or (
            platform.get("os") == "unknown" and platform.get("architecture") == "unknown"
        ):
            continue
        if digest in seen:
            continue
        seen.add(digest)
        out.append((digest, platform))
    return out


@dataclass(frozen=True)
class _Reader:
    """Where an image's manifests and blobs come from; every read is digest-checked."""

    manifest: Callable[[str], bytes]
    blob: Callable[[Mapping[str, Any]], bytes]


def _fetch_reader(fetch: Callable[[str], bytes]) -> _Reader:
    def manifest(digest: str) -> bytes:
        data = fetch(digest)
        verify_digest(data, digest, what=f"the manifest {digest}")
        return data

    def blob(descriptor: Mapping[str, Any]) -> bytes:
        data = fetch(descriptor["digest"])
        verify_digest(data, descriptor["digest"], what="image config")
        return data

    return _Reader(manifest, blob)


def _registry_reader(registry: Registry, repository: str) -> _Reader:
    from konflux_supply.models.oci import Descriptor

    def manifest(digest: str) -> bytes:
        raw = registry.get_manifest(repository, digest)
        if raw is None:
            raise RegistryError(f"the index lists {digest}, but {registry.name} does not have it")
        return raw.data

    def blob(descriptor: Mapping[str, Any]) -> bytes:
        size = descriptor.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError("needs a size", field="manifest.config.size")
        wanted = Descriptor(
            media_type=str(descriptor.get("mediaType") or ""),
            size=size,
            digest=descriptor["digest"],
        )
        return registry.get_blob(repository, wanted, limit=MAX_CONFIG_BYTES)

    return _Reader(manifest, blob)


def _config_platform(manifest: Mapping[str, Any], reader: _Reader | None) -> dict[str, Any] | None:
    config = manifest.get("config")
    if reader is None or not isinstance(config, dict):
        return None
    digest = config.get("digest")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InputError("needs a sha256/sha512 digest", field="manifest.config.digest")
    size = config.get("size")
    if isinstance(size, int) and size > MAX_CONFIG_BYTES:
        raise InputError(f"image config is larger than {MAX_CONFIG_BYTES} bytes")
    data = reader.blob(config)
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError("the image config is not JSON", field="manifest.config") from None
    if not isinstance(parsed, dict):
        return None
    return {k: parsed[k] for k in ("os", "architecture", "variant", "os.version") if k in parsed}


def _children(
    name: ImageName, index: Mapping[str, Any], reader: _Reader | None
) -> list[dict[str, Any]]:
    """One component per platform manifest; with a reader, each manifest is fetched (so the
    index is known to be complete) and supplies the platform when the index does not."""
    out = []
    for child, platform in _platform_entries(index):
        if reader is not None:
            parsed = _load_manifest(reader.manifest(child), child)
            if not platform and isinstance(parsed.get("layers"), list):
                platform = _config_platform(parsed, reader) or {}
        out.append(image_component(name, digest=child, platform=platform or None))
    return out


def _layout_name(directory: str, repository: str | None) -> ImageName:
    if repository is not None:
        return ImageName.parse(repository)
    base = re.sub(r"[^a-z0-9]+", "-", directory.rstrip("/").rsplit("/", 1)[-1].lower())
    return ImageName(base.strip("-") or "image", None, None, None)


def _caller_components(components: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    extra = []
    col = Collector(strict=True, source="components")
    for position, item in enumerate(components):
        if not isinstance(item, Mapping) or read_component(item, f"[{position}]", col) is None:
            raise InputError("must be a CycloneDX component object", field=f"[{position}]")
        extra.append(clone_json(dict(item), field=f"[{position}]", source="components"))
    return extra


def _from_registry(
    image: str | Reference, registry: Registry | None, repository: str | None
) -> tuple[ImageName, str, bytes, _Reader]:
    """Resolve ``image`` once (tag → digest) and read its manifest or index."""
    from konflux_supply import oci

    ref = oci.parse_reference(image) if isinstance(image, str) else image
    if registry is None:
        if not ref.layout:
            raise InputError(
                "give the manifest bytes, a fetch function, or a registry to read the image from",
                field="image",
                hint="registry, ref = konflux_supply.oci.open_registry(image, options=…)",
            )
        registry = oci.open_registry(ref)[0]
    pinned, raw = oci.resolve(registry, ref)
    name = ImageName.from_reference(pinned, repository=repository)
    return name, raw.digest, raw.data, _registry_reader(registry, pinned.repository)


def generate(
    image: str | Reference,
    *,
    registry: Registry | None = None,
    manifest: bytes | None = None,
    fetch: Callable[[str], bytes] | None = None,
    repository: str | None = None,
    components: Iterable[Mapping[str, Any]] = (),
    serial_number: str | None = None,
    timestamp: datetime | None = None,
    spec_version: str = "1.6",
) -> CycloneDxBom:
    """Build a CycloneDX SBOM whose ``metadata.component`` is the image.

    ``image`` is ``registry/repo[:tag][@sha256:…]``, an OCI layout ``oci:DIR@sha256:…`` /
    ``oci:DIR:tag`` / ``oci:DIR``, or an :class:`~konflux_supply.oci.Reference`. Where the
    image comes from, in order: ``manifest`` (bytes, checked against the digest when there is
    one; without a digest, the digest is computed from them), ``fetch(digest)`` (manifests and
    blobs by digest), or ``registry`` (a tag is resolved once, then everything is read by
    digest; an ``oci:`` layout is opened when no registry is given). For an index, each
    platform manifest becomes a component (type ``container``, purl with ``arch``, the platform
    as a property) that the index depends on; with ``fetch``/``registry`` each platform
    manifest is read too, and its config supplies a platform the index does not state. For a
    single manifest, its config supplies ``arch``. ``components`` (CycloneDX component objects)
    are added as dependencies of the image. ``repository`` (``registry/repo``) names a layout
    image in its purl. ``serial_number`` / ``timestamp`` default to random / now.
    """
    if spec_version not in CYCLONEDX_VERSIONS:
        raise InputError(f"cannot write CycloneDX {spec_version!r}", field="specVersion")
    extra = _caller_components(components)
    reader: _Reader | None
    if manifest is None and fetch is None:
        name, digest, manifest, reader = _from_registry(image, registry, repository)
    else:
        name = _name(image, repository)
        reader = _fetch_reader(fetch) if fetch is not None else None
        if name.digest is not None:
            digest = name.digest
        elif manifest is not None:
            digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        else:
            raise InputError("give the manifest bytes, or an image digest and a fetch function")
        if manifest is None:
            assert reader is not None
            manifest = reader.manifest(digest)
        else:
            try:
                verify_digest(manifest, digest, what="the manifest")
            except RegistryError as error:
                raise InputError(error.message, field="manifest") from None
    parsed = _load_manifest(manifest, digest)

    if _is_index(parsed):
        root = image_component(name, digest=digest)
        children = _children(name, parsed, reader)
    else:
        root = image_component(name, digest=digest, platform=_config_platform(parsed, reader))
        children = []
    listed = children + extra
    dependencies = [
        {"ref": root["bom-ref"], "dependsOn": [c["bom-ref"] for c in listed if "bom-ref" in c]}
    ]
    dependencies += [{"ref": c["bom-ref"], "dependsOn": []} for c in children]
    document: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "serialNumber": make_serial_number(serial_number),
        "version": 1,
        "metadata": {
            "timestamp": format_timestamp(timestamp),
            "tools": make_tools(spec_version, []),
            "component": root,
        },
        "components": listed,
        "dependencies": dependencies,
    }
    return read_cyclonedx(document, col=Collector(strict=True, source="generated SBOM"))
