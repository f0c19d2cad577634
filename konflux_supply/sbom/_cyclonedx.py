"""CycloneDX JSON 1.4 to 1.6: a typed, read-only view over the document as parsed.

The document is kept as the JSON tree it was (``data``), so nothing a generator wrote is lost on
a round trip; typed views (:class:`Component`, :class:`Dependency`) are built over it for the
fields that consumers read: bom-refs, purls, hashes, properties, licenses, the dependency graph
and ``metadata.component``. Reading checks the integrity rules a schema cannot express: bom-refs
are unique and every dependency reference resolves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from konflux_supply.errors import field_path

from ._common import (
    CYCLONEDX_VERSIONS,
    MEDIA_TYPE_CYCLONEDX_JSON,
    PREDICATE_CYCLONEDX,
    Collector,
    SbomFormat,
)
from ._json import clone_json, dump_json

__all__ = [
    "Component",
    "CycloneDxBom",
    "Dependency",
    "Hash",
    "Property",
    "read_cyclonedx",
]


@dataclass(frozen=True, slots=True)
class Hash:
    """A digest of a component: ``alg`` as the format spells it (``SHA-256``), hex ``content``."""

    alg: str
    content: str


@dataclass(frozen=True, slots=True)
class Property:
    """A name/value pair (CycloneDX ``properties``); ``value`` may be absent."""

    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Component:
    """A CycloneDX component: the fields policies read, plus the JSON object as written.

    ``path`` is where it sits in the document (``components[3].components[0]``); ``data`` is the
    original object (treat it as read-only).
    """

    type: str
    name: str
    bom_ref: str | None = None
    version: str | None = None
    group: str | None = None
    purl: str | None = None
    hashes: tuple[Hash, ...] = ()
    properties: tuple[Property, ...] = ()
    licenses: tuple[str, ...] = ()
    path: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)


@dataclass(frozen=True, slots=True)
class Dependency:
    """One entry of ``dependencies``: ``ref`` depends on each of ``depends_on``."""

    ref: str
    depends_on: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    path: str = ""


@dataclass(frozen=True)
class CycloneDxBom:
    """A parsed CycloneDX JSON document (read with :func:`konflux_supply.sbom.parse`).

    ``components`` lists every component in document order, nested ones included (their
    ``path`` says where); ``metadata_component`` is the described component, if any. ``raw``
    holds the bytes it was parsed from (what to upload unchanged), ``data`` the JSON tree.
    """

    spec_version: str
    serial_number: str | None
    version: int | None
    metadata_component: Component | None
    components: tuple[Component, ...]
    dependencies: tuple[Dependency, ...]
    data: Mapping[str, Any] = field(repr=False, hash=False)
    raw: bytes | None = field(default=None, repr=False, compare=False, hash=False)

    format: ClassVar[SbomFormat] = SbomFormat.CYCLONEDX_JSON
    media_type: ClassVar[str] = MEDIA_TYPE_CYCLONEDX_JSON
    predicate_type: ClassVar[str] = PREDICATE_CYCLONEDX

    @property
    def timestamp(self) -> str | None:
        """``metadata.timestamp`` as written."""
        metadata = self.data.get("metadata")
        value = metadata.get("timestamp") if isinstance(metadata, dict) else None
        return value if isinstance(value, str) else None

    def purls(self) -> tuple[str, ...]:
        """The purl of every component that has one, in document order."""
        return tuple(c.purl for c in self.components if c.purl)

    def component(self, bom_ref: str) -> Component | None:
        """The component (or ``metadata.component``) with this bom-ref, if any."""
        if self.metadata_component and self.metadata_component.bom_ref == bom_ref:
            return self.metadata_component
        for candidate in self.components:
            if candidate.bom_ref == bom_ref:
                return candidate
        return None

    def to_json(self, *, indent: int | None = 2) -> bytes:
        """The document as JSON (keys in the order read), UTF-8, newline-terminated."""
        return dump_json(self.data, indent=indent)

    def to_bytes(self) -> bytes:
        """The bytes to store: the original bytes when parsed from bytes, else :meth:`to_json`."""
        return self.raw if self.raw is not None else self.to_json()

    def predicate(self) -> dict[str, Any]:
        """The in-toto predicate for ``cosign attest --type cyclonedx``: the BOM as an object."""
        return dict(clone_json(dict(self.data)))


# ---------------------------------------------------------------------------------------------
# Reading


def _opt_str(obj: Mapping[str, Any], key: str, path: str, col: Collector) -> str | None:
    value = obj.get(key)
    if value is None and key not in obj:
        return None
    if not isinstance(value, str):
        col.add(field_path(path, key), "must be a string")
        return None
    return value


def _objects(value: Any, path: str, col: Collector) -> list[tuple[str, dict[str, Any]]]:
    """The objects of a JSON array, each with its path (non-objects are reported)."""
    if value is None:
        return []
    if not isinstance(value, list):
        col.add(path, "must be an array")
        return []
    out = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if isinstance(item, dict):
            out.append((item_path, item))
        else:
            col.add(item_path, "must be an object")
    return out


def _hashes(obj: Mapping[str, Any], path: str, col: Collector) -> tuple[Hash, ...]:
    out = []
    for item_path, item in _objects(obj.get("hashes"), field_path(path, "hashes"), col):
        alg, content = item.get("alg"), item.get("content")
        if not isinstance(alg, str) or not isinstance(content, str):
            col.add(item_path, "a hash needs string 'alg' and 'content'")
            continue
        out.append(Hash(alg, content))
    return tuple(out)


def _properties(obj: Mapping[str, Any], path: str, col: Collector) -> tuple[Property, ...]:
    out = []
    for item_path, item in _objects(obj.get("properties"), field_path(path, "properties"), col):
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not (value is None or isinstance(value, str)):
            col.add(item_path, "a property needs a string 'name' and a string 'value'")
            continue
        out.append(Property(name, value))
    return tuple(out)


def _licenses(obj: Mapping[str, Any], path: str, col: Collector) -> tuple[str, ...]:
    out = []
    for item_path, item in _objects(obj.get("licenses"), field_path(path, "licenses"), col):
        if isinstance(item.get("expression"), str):
            out.append(item["expression"])
            continue
        license_ = item.get("license")
        if isinstance(license_, dict):
            for key in ("id", "name"):
                if isinstance(license_.get(key), str):
                    out.append(license_[key])
                    break
            else:
                col.add(field_path(item_path, "license"), "a license needs an 'id' or a 'name'")
        else:
            col.add(item_path, "a license choice needs 'license' or 'expression'")
    return tuple(out)


def read_component(obj: Mapping[str, Any], path: str, col: Collector) -> Component | None:
    """Build the typed view of one component object (issues go to ``col``)."""
    type_, name = obj.get("type"), obj.get("name")
    ok = True
    if not isinstance(type_, str):
        col.add(field_path(path, "type"), "a component needs a string 'type'")
        ok = False
    if not isinstance(name, str):
        col.add(field_path(path, "name"), "a component needs a string 'name'")
        ok = False
    bom_ref = _opt_str(obj, "bom-ref", path, col)
    version = _opt_str(obj, "version", path, col)
    group = _opt_str(obj, "group", path, col)
    purl = _opt_str(obj, "purl", path, col)
    hashes = _hashes(obj, path, col)
    properties = _properties(obj, path, col)
    licenses = _licenses(obj, path, col)
    if not ok or not isinstance(type_, str) or not isinstance(name, str):
        return None
    return Component(
        type=type_,
        name=name,
        bom_ref=bom_ref,
        version=version,
        group=group,
        purl=purl,
        hashes=hashes,
        properties=properties,
        licenses=licenses,
        path=path,
        data=obj,
    )


def _walk(value: Any, path: str, key: str, col: Collector) -> Iterator[tuple[str, dict[str, Any]]]:
    """Pre-order walk over an array of objects and their nested ``key`` arrays (no recursion)."""
    stack = list(reversed(_objects(value, path, col)))
    while stack:
        item_path, item = stack.pop()
        yield item_path, item
        if key in item:
            stack.extend(reversed(_objects(item[key], field_path(item_path, key), col)))


def _ref_list(value: Any, path: str, col: Collector) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        col.add(path, "must be an array of bom-refs")
        return ()
    out = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            out.append(item)
        else:
            col.add(f"{path}[{index}]", "a bom-ref must be a string")
    return tuple(out)


def read_cyclonedx(
    data: dict[str, Any], *, col: Collector, raw: bytes | None = None
) -> CycloneDxBom:
    """Build a :class:`CycloneDxBom` from a parsed document whose format is already known.

    Issues (wrong types in the fields read, duplicate bom-refs, dangling dependency references)
    go to ``col``; a strict collector raises the first as :class:`InputError`.
    """
    spec_version = data.get("specVersion")
    if spec_version not in CYCLONEDX_VERSIONS:
        col.add(
            "specVersion",
            f"unsupported CycloneDX version {spec_version!r} "
            f"(supported: {', '.join(CYCLONEDX_VERSIONS)})",
        )
        spec_version = CYCLONEDX_VERSIONS[-1]
    serial_number = _opt_str(data, "serialNumber", "", col)
    version = data.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        col.add("version", "must be an integer")
        version = None

    refs: dict[str, str] = {}  # bom-ref -> path of its first owner

    def claim(ref: str | None, path: str) -> None:
        if ref is None:
            return
        first = refs.setdefault(ref, path)
        if first != path:
            col.add(field_path(path, "bom-ref"), f"duplicate bom-ref {ref!r} (first at {first})")

    metadata = data.get("metadata")
    metadata_component = None
    if metadata is not None and not isinstance(metadata, dict):
        col.add("metadata", "must be an object")
        metadata = None
    if metadata and "component" in metadata:
        root = metadata["component"]
        if isinstance(root, dict):
            metadata_component = read_component(root, "metadata.component", col)
            if metadata_component is not None:
                claim(metadata_component.bom_ref, "metadata.component")
            nested = root.get("components")
            for path, obj in _walk(nested, "metadata.component.components", "components", col):
                part = read_component(obj, path, col)
                if part is not None:
                    claim(part.bom_ref, path)
        else:
            col.add("metadata.component", "must be an object")

    components = []
    for path, obj in _walk(data.get("components"), "components", "components", col):
        component = read_component(obj, path, col)
        if component is not None:
            components.append(component)
            claim(component.bom_ref, path)
    for path, obj in _walk(data.get("services"), "services", "services", col):
        claim(_opt_str(obj, "bom-ref", path, col), path)

    dependencies = []
    for path, obj in _objects(data.get("dependencies"), "dependencies", col):
        ref = obj.get("ref")
        if not isinstance(ref, str):
            col.add(field_path(path, "ref"), "a dependency needs a string 'ref'")
            continue
        if ref not in refs:
            col.add(field_path(path, "ref"), f"dangling reference {ref!r}: no such bom-ref")
        depends_on = _ref_list(obj.get("dependsOn"), field_path(path, "dependsOn"), col)
        provides = _ref_list(obj.get("provides"), field_path(path, "provides"), col)
        for key, targets in (("dependsOn", depends_on), ("provides", provides)):
            for index, target in enumerate(targets):
                if target not in refs:
                    col.add(
                        f"{field_path(path, key)}[{index}]",
                        f"dangling reference {target!r}: no such bom-ref",
                    )
        dependencies.append(Dependency(ref, depends_on, provides, path))

    return CycloneDxBom(
        spec_version=spec_version,
        serial_number=serial_number,
        version=version,
        metadata_component=metadata_component,
        components=tuple(components),
        dependencies=tuple(dependencies),
        data=data,
        raw=raw,
    )
