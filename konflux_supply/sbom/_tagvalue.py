"""SPDX 2.x tag-value → the SPDX JSON shape (read-only, the fields this package reads).

Lines are ``Tag: value``; a value may span lines inside ``<text>…</text>``; ``#`` starts a
comment line. ``PackageName``, ``FileName`` and ``SnippetSPDXID`` open a new element, later tags
belong to it. One leniency, for real generator output (spdx-sbom-generator, used by cosign's own
test data): ``Relationship A TYPE B`` without the colon is read as ``Relationship: A TYPE B``.
A tag that may appear once but appears twice in one element is an error, as a repeated JSON key
is.
"""

from __future__ import annotations

import re
from typing import Any

from konflux_supply.errors import InputError

__all__ = ["looks_like_tag_value", "tag_value_to_json"]

_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*):[ \t]*(.*)$")
_BARE_RELATIONSHIP = re.compile(r"^Relationship[ \t]+(\S+[ \t]+\S+[ \t]+\S+)[ \t]*$")

# tag -> (JSON key, kind); kind "one" = single value, "many" = appended to a list,
# "bool" = true/false, "checksum" = "ALG: value" appended to "checksums".
_DOCUMENT = {
    "SPDXVersion": ("spdxVersion", "one"),
    "DataLicense": ("dataLicense", "one"),
    "SPDXID": ("SPDXID", "one"),
    "DocumentName": ("name", "one"),
    "DocumentNamespace": ("documentNamespace", "one"),
    "DocumentComment": ("comment", "one"),
}
_CREATION = {
    "Creator": ("creators", "many"),
    "Created": ("created", "one"),
    "CreatorComment": ("comment", "one"),
    "LicenseListVersion": ("licenseListVersion", "one"),
}
_PACKAGE = {
    "SPDXID": ("SPDXID", "one"),
    "PackageVersion": ("versionInfo", "one"),
    "PackageFileName": ("packageFileName", "one"),
    "PackageSupplier": ("supplier", "one"),
    "PackageOriginator": ("originator", "one"),
    "PackageDownloadLocation": ("downloadLocation", "one"),
    "FilesAnalyzed": ("filesAnalyzed", "bool"),
    "PackageChecksum": ("checksums", "checksum"),
    "PackageHomePage": ("homepage", "one"),
    "PackageSourceInfo": ("sourceInfo", "one"),
    "PackageLicenseConcluded": ("licenseConcluded", "one"),
    "PackageLicenseInfoFromFiles": ("licenseInfoFromFiles", "many"),
    "PackageLicenseDeclared": ("licenseDeclared", "one"),
    "PackageLicenseComments": ("licenseComments", "one"),
    "PackageCopyrightText": ("copyrightText", "one"),
    "PackageSummary": ("summary", "one"),
    "PackageDescription": ("description", "one"),
    "PackageComment": ("comment", "one"),
    "PackageAttributionText": ("attributionTexts", "many"),
    "PrimaryPackagePurpose": ("primaryPackagePurpose", "one"),
    "ReleaseDate": ("releaseDate", "one"),
    "BuiltDate": ("builtDate", "one"),
    "ValidUntilDate": ("validUntilDate", "one"),
}
_FILE = {
    "SPDXID": ("SPDXID", "one"),
    "FileType": ("fileTypes", "many"),
    "FileChecksum": ("checksums", "checksum"),
    "LicenseConcluded": ("licenseConcluded", "one"),
    "LicenseInfoInFile": ("licenseInfoInFiles", "many"),
    "LicenseComments": ("licenseComments", "one"),
    "FileCopyrightText": ("copyrightText", "one"),
    "FileComment": ("comment", "one"),
    "FileNotice": ("noticeText", "one"),
    "FileContributor": ("fileContributors", "many"),
    "FileAttributionText": ("attributionTexts", "many"),
}
_SNIPPET = {
    "SnippetFromFileSPDXID": ("snippetFromFile", "one"),
    "SnippetLicenseConcluded": ("licenseConcluded", "one"),
    "SnippetCopyrightText": ("copyrightText", "one"),
    "SnippetComment": ("comment", "one"),
    "SnippetName": ("name", "one"),
}


def looks_like_tag_value(text: str) -> bool:
    """True when the first line that is not blank or a comment is an ``SPDXVersion:`` tag."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return stripped.startswith("SPDXVersion:")
    return False


def _logical_lines(text: str, source: str | None) -> list[tuple[int, str, str]]:
    """(line number, tag, value) for each tag, with ``<text>`` values joined."""
    out: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if match is None:
            bare = _BARE_RELATIONSHIP.match(stripped)
            if bare is None:
                raise InputError(f"line {number}: expected 'Tag: value'", source=source)
            out.append((number, "Relationship", bare.group(1)))
            continue
        tag, value = match.group(1), match.group(2)
        if value.startswith("<text>"):
            value = value[len("<text>") :]
            parts = [value]
            while "</text>" not in parts[-1]:
                if index >= len(lines):
                    raise InputError(f"line {number}: <text> is never closed", source=source)
                parts.append(lines[index])
                index += 1
            joined = "\n".join(parts)
            value = joined[: joined.index("</text>")]
        out.append((number, tag, value.strip()))
    return out


def _set(
    element: dict[str, Any],
    spec: tuple[str, str],
    value: str,
    number: int,
    tag: str,
    source: str | None,
) -> None:
    key, kind = spec
    if kind == "one":
        if key in element:
            raise InputError(f"line {number}: {tag} appears twice for one element", source=source)
        element[key] = value
    elif kind == "many":
        element.setdefault(key, []).append(value)
    elif kind == "bool":
        if value not in ("true", "false"):
            raise InputError(f"line {number}: {tag} must be true or false", source=source)
        element[key] = value == "true"
    else:  # checksum
        algorithm, sep, digest = value.partition(":")
        if not sep:
            raise InputError(f"line {number}: {tag} must be 'ALGORITHM: value'", source=source)
        element.setdefault(key, []).append(
            {"algorithm": algorithm.strip(), "checksumValue": digest.strip()}
        )


def tag_value_to_json(text: str, *, source: str | None = None) -> dict[str, Any]:
    """Convert SPDX tag-value text to a dict shaped like SPDX JSON."""
    doc: dict[str, Any] = {}
    creation: dict[str, Any] = {}
    packages: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    snippets: list[dict[str, Any]] = []
    relationships: list[dict[str, Any]] = []
    current: dict[str, Any] = doc
    table = _DOCUMENT
    last_ref: dict[str, Any] | None = None
    last_relationship: dict[str, Any] | None = None
    for number, tag, value in _logical_lines(text, source):
        if tag == "PackageName":
            current, table = {"name": value}, _PACKAGE
            packages.append(current)
        elif tag == "FileName":
            current, table = {"fileName": value}, _FILE
            files.append(current)
        elif tag == "SnippetSPDXID":
            current, table = {"SPDXID": value}, _SNIPPET
            snippets.append(current)
        elif tag == "Relationship":
            parts = value.split()
            if len(parts) != 3:
                raise InputError(f"line {number}: Relationship needs 'A TYPE B'", source=source)
            last_relationship = {
                "spdxElementId": parts[0],
                "relationshipType": parts[1],
                "relatedSpdxElement": parts[2],
            }
            relationships.append(last_relationship)
        elif tag == "RelationshipComment" and last_relationship is not None:
            last_relationship["comment"] = value
        elif tag == "ExternalRef" and table is _PACKAGE:
            parts = value.split(None, 2)
            if len(parts) != 3:
                raise InputError(
                    f"line {number}: ExternalRef needs 'CATEGORY TYPE LOCATOR'", source=source
                )
            last_ref = {
                "referenceCategory": parts[0],
                "referenceType": parts[1],
                "referenceLocator": parts[2],
            }
            current.setdefault("externalRefs", []).append(last_ref)
        elif tag == "ExternalRefComment" and last_ref is not None:
            last_ref["comment"] = value
        elif tag == "ExternalDocumentRef":
            parts = value.split(None, 2)
            if len(parts) != 3 or ":" not in parts[2]:
                raise InputError(
                    f"line {number}: ExternalDocumentRef needs 'DocumentRef-x URI SHA1: value'",
                    source=source,
                )
            algorithm, _, digest = parts[2].partition(":")
            doc.setdefault("externalDocumentRefs", []).append(
                {
                    "externalDocumentId": parts[0],
                    "spdxDocument": parts[1],
                    "checksum": {"algorithm": algorithm.strip(), "checksumValue": digest.strip()},
                }
            )
        elif tag in _CREATION and table is _DOCUMENT:
            _set(creation, _CREATION[tag], value, number, tag, source)
        elif tag in table:
            _set(current, table[tag], value, number, tag, source)
        # Other tags (annotations, extracted licences, …) are kept only in the raw text.
    if creation:
        doc["creationInfo"] = creation
    for key, items in (
        ("packages", packages),
        ("files", files),
        ("snippets", snippets),
        ("relationships", relationships),
    ):
        if items:
            doc[key] = items
    return doc
