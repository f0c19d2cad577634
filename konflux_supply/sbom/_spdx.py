"""SPDX 2.2/2.3 (read-only): a typed view over an SPDX JSON document.

Tag-value documents are converted to the same JSON shape first (:mod:`._tagvalue`), so one
reader and one set of checks serve both. Reading checks integrity (unique SPDXIDs, every
relationship end resolves); :func:`spdx_spec_issues` checks the fields and values the SPDX 2.3
specification requires (clause numbers in the messages' wording follow the spec's field names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from konflux_supply.errors import field_path

from ._common import SPDX_VERSIONS, Collector, SbomFormat
from ._cyclonedx import Hash
from ._json import clone_json, dump_json

__all__ = [
    "SpdxDocument",
    "SpdxPackage",
    "SpdxRelationship",
    "read_spdx",
    "spdx_spec_issues",
]

_ELEMENT_LISTS = ("packages", "files", "snippets")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
# fmt: off
_CHECKSUM_ALGORITHMS = frozenset({
    "SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "MD2", "MD4", "MD5", "MD6", "SHA3-256",
    "SHA3-384", "SHA3-512", "BLAKE2b-256", "BLAKE2b-384", "BLAKE2b-512", "BLAKE3", "ADLER32",
})
_REFERENCE_CATEGORIES = frozenset({
    "SECURITY", "PACKAGE-MANAGER", "PACKAGE_MANAGER", "PERSISTENT-ID", "PERSISTENT_ID", "OTHER",
})
_PURPOSES = frozenset({
    "APPLICATION", "FRAMEWORK", "LIBRARY", "CONTAINER", "OPERATING-SYSTEM", "OPERATING_SYSTEM",
    "DEVICE", "FIRMWARE", "SOURCE", "ARCHIVE", "FILE", "INSTALL", "OTHER",
})
_RELATIONSHIP_TYPES = frozenset({
    "DESCRIBES", "DESCRIBED_BY", "CONTAINS", "CONTAINED_BY", "DEPENDS_ON", "DEPENDENCY_OF",
    "DEPENDENCY_MANIFEST_OF", "BUILD_DEPENDENCY_OF", "DEV_DEPENDENCY_OF",
    "OPTIONAL_DEPENDENCY_OF", "PROVIDED_DEPENDENCY_OF", "TEST_DEPENDENCY_OF",
    "RUNTIME_DEPENDENCY_OF", "EXAMPLE_OF", "GENERATES", "GENERATED_FROM", "ANCESTOR_OF",
    "DESCENDANT_OF", "VARIANT_OF", "DISTRIBUTION_ARTIFACT", "PATCH_FOR", "PATCH_APPLIED",
    "COPY_OF", "FILE_ADDED", "FILE_DELETED", "FILE_MODIFIED", "EXPANDED_FROM_ARCHIVE",
    "DYNAMIC_LINK", "STATIC_LINK", "DATA_FILE_OF", "TEST_CASE_OF", "BUILD_TOOL_OF",
    "DEV_TOOL_OF", "TEST_OF", "TEST_TOOL_OF", "DOCUMENTATION_OF", "OPTIONAL_COMPONENT_OF",
    "METAFILE_OF", "PACKAGE_OF", "AMENDS", "PREREQUISITE_FOR", "HAS_PREREQUISITE",
    "REQUIREMENT_DESCRIPTION_FOR", "SPECIFICATION_FOR", "OTHER",
})
# fmt: on
_NO_ELEMENT = ("NONE", "NOASSERTION")


@dataclass(frozen=True, slots=True)
class SpdxPackage:
    """An SPDX package: the fields policies read, plus the JSON object as written."""

    spdx_id: str
    name: str
    version: str | None = None
    purls: tuple[str, ...] = ()
    checksums: tuple[Hash, ...] = ()
    license_declared: str | None = None
    license_concluded: str | None = None
    download_location: str | None = None
    path: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)


@dataclass(frozen=True, slots=True)
class SpdxRelationship:
    """``element`` —``type``→ ``related`` (e.g. ``SPDXRef-image CONTAINS SPDXRef-Package-x``)."""

    element: str
    type: str
    related: str
    path: str = ""


@dataclass(frozen=True)
class SpdxDocument:
    """A parsed SPDX 2.2/2.3 document, JSON or tag-value (``format`` says which).

    ``data`` is the document as SPDX JSON (for tag-value: the fields read, converted);
    ``raw`` the bytes it was parsed from, which :meth:`to_bytes` returns unchanged.
    """

    spec_version: str
    name: str | None
    namespace: str | None
    packages: tuple[SpdxPackage, ...]
    relationships: tuple[SpdxRelationship, ...]
    describes: tuple[str, ...]
    data: Mapping[str, Any] = field(repr=False, hash=False)
    raw: bytes | None = field(default=None, repr=False, compare=False, hash=False)
    format: SbomFormat = SbomFormat.SPDX_JSON

    @property
    def media_type(self) -> str:
        """``text/spdx+json`` or ``text/spdx`` (tag-value)."""
        return self.format.media_type

    @property
    def predicate_type(self) -> str:
        """``https://spdx.dev/Document``."""
        return self.format.predicate_type

    def purls(self) -> tuple[str, ...]:
        """Every purl of every package, in document order."""
        return tuple(purl for package in self.packages for purl in package.purls)

    def package(self, spdx_id: str) -> SpdxPackage | None:
        """The package with this SPDXID, if any."""
        for candidate in self.packages:
            if candidate.spdx_id == spdx_id:
                return candidate
        return None

    def to_json(self, *, indent: int | None = 2) -> bytes:
        """``data`` as JSON. For tag-value input this holds only the fields read."""
        return dump_json(self.data, indent=indent)

    def to_bytes(self) -> bytes:
        """The bytes to store: the original bytes when parsed from bytes, else :meth:`to_json`."""
        if self.raw is not None:
            return self.raw
        return self.to_json()

    def predicate(self) -> Any:
        """The in-toto predicate cosign writes: an object (``spdxjson``) or the text (``spdx``)."""
        if self.format is SbomFormat.SPDX_TAG_VALUE:
            if self.raw is None:
                raise ValueError("a tag-value document without its text has no predicate")
            return self.raw.decode("utf-8-sig")
        return dict(clone_json(dict(self.data)))


def _str(obj: Mapping[str, Any], key: str, path: str, col: Collector, *, required: bool) -> Any:
    value = obj.get(key)
    if value is None and key not in obj:
        if required:
            col.add(field_path(path, key), f"missing required string {key!r}")
        return None
    if not isinstance(value, str):
        col.add(field_path(path, key), "must be a string")
        return None
    return value


def _objects(data: Mapping[str, Any], key: str, path: str, col: Collector) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        col.add(field_path(path, key), "must be an array")
        return []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            col.add(f"{field_path(path, key)}[{index}]", "must be an object")
    return value


def _package(obj: dict[str, Any], path: str, col: Collector) -> SpdxPackage | None:
    spdx_id = _str(obj, "SPDXID", path, col, required=True)
    name = _str(obj, "name", path, col, required=True)
    version = _str(obj, "versionInfo", path, col, required=False)
    purls = []
    for index, ref in enumerate(_objects(obj, "externalRefs", path, col)):
        if not isinstance(ref, dict):
            continue
        ref_path = f"{field_path(path, 'externalRefs')}[{index}]"
        kind = _str(ref, "referenceType", ref_path, col, required=True)
        locator = _str(ref, "referenceLocator", ref_path, col, required=True)
        if kind == "purl" and locator is not None:
            purls.append(locator)
    checksums = []
    for index, item in enumerate(_objects(obj, "checksums", path, col)):
        if not isinstance(item, dict):
            continue
        item_path = f"{field_path(path, 'checksums')}[{index}]"
        alg = _str(item, "algorithm", item_path, col, required=True)
        value = _str(item, "checksumValue", item_path, col, required=True)
        if alg is not None and value is not None:
            checksums.append(Hash(alg, value))
    if spdx_id is None or name is None:
        return None
    return SpdxPackage(
        spdx_id=spdx_id,
        name=name,
        version=version,
        purls=tuple(purls),
        checksums=tuple(checksums),
        license_declared=_str(obj, "licenseDeclared", path, col, required=False),
        license_concluded=_str(obj, "licenseConcluded", path, col, required=False),
        download_location=_str(obj, "downloadLocation", path, col, required=False),
        path=path,
        data=obj,
    )


def read_spdx(
    data: dict[str, Any],
    *,
    col: Collector,
    raw: bytes | None = None,
    fmt: SbomFormat = SbomFormat.SPDX_JSON,
) -> SpdxDocument:
    """Build an :class:`SpdxDocument` from SPDX JSON (or tag-value converted to that shape).

    Integrity issues — duplicate SPDXIDs, relationships or ``documentDescribes`` entries that
    name no element of the document — go to ``col``.
    """
    spec_version = data.get("spdxVersion")
    if spec_version not in SPDX_VERSIONS:
        col.add(
            "spdxVersion",
            f"unsupported SPDX version {spec_version!r} (supported: {', '.join(SPDX_VERSIONS)})",
        )
        spec_version = SPDX_VERSIONS[-1]
    document_id = _str(data, "SPDXID", "", col, required=True)
    ids: dict[str, str] = {}
    if document_id is not None:
        ids[document_id] = "SPDXID"
    external = set()
    for index, item in enumerate(_objects(data, "externalDocumentRefs", "", col)):
        if isinstance(item, dict):
            ref = _str(
                item, "externalDocumentId", f"externalDocumentRefs[{index}]", col, required=True
            )
            if ref is not None:
                external.add(ref)

    packages = []
    for key in _ELEMENT_LISTS:
        for index, obj in enumerate(_objects(data, key, "", col)):
            if not isinstance(obj, dict):
                continue
            path = f"{key}[{index}]"
            if key == "packages":
                package = _package(obj, path, col)
                element_id = package.spdx_id if package else None
                if package is not None:
                    packages.append(package)
            else:
                element_id = _str(obj, "SPDXID", path, col, required=True)
            if element_id is None:
                continue
            first = ids.setdefault(element_id, path)
            if first != path:
                col.add(
                    field_path(path, "SPDXID"),
                    f"duplicate SPDXID {element_id!r} (first at {first})",
                )

    def resolves(ref: str, *, allow_none: bool) -> bool:
        if ref in ids or (allow_none and ref in _NO_ELEMENT):
            return True
        prefix, sep, _ = ref.partition(":")
        return bool(sep) and prefix in external

    describes = []
    described = data.get("documentDescribes")
    if described is not None:
        if not isinstance(described, list):
            col.add("documentDescribes", "must be an array")
            described = []
        for index, ref in enumerate(described):
            if not isinstance(ref, str) or not resolves(ref, allow_none=False):
                col.add(f"documentDescribes[{index}]", f"dangling reference {ref!r}")
            else:
                describes.append(ref)

    relationships = []
    for index, obj in enumerate(_objects(data, "relationships", "", col)):
        if not isinstance(obj, dict):
            continue
        path = f"relationships[{index}]"
        element = _str(obj, "spdxElementId", path, col, required=True)
        kind = _str(obj, "relationshipType", path, col, required=True)
        related = _str(obj, "relatedSpdxElement", path, col, required=True)
        if element is not None and not resolves(element, allow_none=False):
            col.add(field_path(path, "spdxElementId"), f"dangling reference {element!r}")
        if related is not None and not resolves(related, allow_none=True):
            col.add(field_path(path, "relatedSpdxElement"), f"dangling reference {related!r}")
        if element is None or kind is None or related is None:
            continue
        relationships.append(SpdxRelationship(element, kind, related, path))
        if kind == "DESCRIBES" and element == document_id:
            describes.append(related)

    listed = data.get("packages")
    for index, obj in enumerate(listed if isinstance(listed, list) else ()):
        files = obj.get("hasFiles") if isinstance(obj, dict) else None
        if isinstance(files, list):
            for file_index, ref in enumerate(files):
                if not isinstance(ref, str) or ref not in ids:
                    col.add(
                        f"packages[{index}].hasFiles[{file_index}]", f"dangling reference {ref!r}"
                    )

    return SpdxDocument(
        spec_version=spec_version,
        name=data.get("name") if isinstance(data.get("name"), str) else None,
        namespace=(
            data.get("documentNamespace")
            if isinstance(data.get("documentNamespace"), str)
            else None
        ),
        packages=tuple(packages),
        relationships=tuple(relationships),
        describes=tuple(dict.fromkeys(describes)),
        data=data,
        raw=raw,
        format=fmt,
    )


def _check_enum(
    obj: Mapping[str, Any], key: str, allowed: frozenset[str], path: str, col: Collector
) -> None:
    value = obj.get(key)
    if key in obj and (not isinstance(value, str) or value not in allowed):
        col.add(field_path(path, key), f"{value!r} is not one of the values SPDX 2.3 allows")


def spdx_spec_issues(data: Mapping[str, Any], col: Collector) -> None:
    """Check what the SPDX 2.3 JSON schema encodes: required fields, JSON types, vocabularies.

    Plus the two document constants the specification fixes (``dataLicense`` ``CC0-1.0``,
    ``SPDXID`` ``SPDXRef-DOCUMENT``). Character-level rules of the specification text that the
    JSON schema does not encode (the SPDXID alphabet, creator prefixes) are not checked, so the
    verdict matches schema-based checkers such as Conforma's ``sbom_spdx.valid``.
    """
    if data.get("dataLicense") != "CC0-1.0":
        col.add("dataLicense", "must be 'CC0-1.0'")
    if data.get("SPDXID") != "SPDXRef-DOCUMENT":
        col.add("SPDXID", "must be 'SPDXRef-DOCUMENT'")
    _str(data, "name", "", col, required=True)
    _str(data, "documentNamespace", "", col, required=True)
    info = data.get("creationInfo")
    if not isinstance(info, dict):
        col.add("creationInfo", "missing required object")
    else:
        _str(info, "created", "creationInfo", col, required=True)
        creators = info.get("creators")
        if not isinstance(creators, list) or not creators:
            col.add("creationInfo.creators", "must be a non-empty array")
        else:
            for index, creator in enumerate(creators):
                if not isinstance(creator, str):
                    col.add(f"creationInfo.creators[{index}]", "must be a string")
    for list_key in _ELEMENT_LISTS:
        items = data.get(list_key)
        if not isinstance(items, list):
            continue
        for index, obj in enumerate(items):
            if not isinstance(obj, dict):
                continue
            path = f"{list_key}[{index}]"
            _checksums(obj, path, col)
            if list_key == "packages":
                _package_spec(obj, path, col)
            elif list_key == "files":
                _str(obj, "fileName", path, col, required=True)
                if not obj.get("checksums"):
                    col.add(field_path(path, "checksums"), "a file needs at least a SHA1 checksum")
    relationships = data.get("relationships")
    if isinstance(relationships, list):
        for index, obj in enumerate(relationships):
            if isinstance(obj, dict):
                _check_enum(
                    obj, "relationshipType", _RELATIONSHIP_TYPES, f"relationships[{index}]", col
                )
    refs = data.get("externalDocumentRefs")
    if isinstance(refs, list):
        for index, obj in enumerate(refs):
            if isinstance(obj, dict):
                path = f"externalDocumentRefs[{index}]"
                _str(obj, "spdxDocument", path, col, required=True)
                if not isinstance(obj.get("checksum"), dict):
                    col.add(field_path(path, "checksum"), "missing required object")


def _checksums(obj: Mapping[str, Any], path: str, col: Collector) -> None:
    items = obj.get("checksums")
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        item_path = f"{field_path(path, 'checksums')}[{index}]"
        _check_enum(item, "algorithm", _CHECKSUM_ALGORITHMS, item_path, col)
        value = item.get("checksumValue")
        if isinstance(value, str) and not _HEX.match(value):
            col.add(field_path(item_path, "checksumValue"), "must be hexadecimal")


def _package_spec(obj: Mapping[str, Any], path: str, col: Collector) -> None:
    _str(obj, "downloadLocation", path, col, required=True)
    if "filesAnalyzed" in obj and not isinstance(obj["filesAnalyzed"], bool):
        col.add(field_path(path, "filesAnalyzed"), "must be a boolean")
    _check_enum(obj, "primaryPackagePurpose", _PURPOSES, path, col)
    refs = obj.get("externalRefs")
    if isinstance(refs, list):
        for index, ref in enumerate(refs):
            if isinstance(ref, dict):
                _check_enum(
                    ref,
                    "referenceCategory",
                    _REFERENCE_CATEGORIES,
                    f"{field_path(path, 'externalRefs')}[{index}]",
                    col,
                )
    for key in ("licenseConcluded", "licenseDeclared", "copyrightText", "supplier", "originator"):
        if key in obj and not isinstance(obj[key], str):
            col.add(field_path(path, key), "must be a string")
