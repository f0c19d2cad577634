"""Entry points for reading: format detection, :func:`parse`, :func:`validate`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from konflux_supply.errors import InputError

from ._common import (
    CYCLONEDX_VERSIONS,
    MAX_ISSUES,
    PREDICATE_CYCLONEDX,
    PREDICATE_SPDX,
    SPDX_VERSIONS,
    Collector,
    SbomFormat,
    ValidationIssue,
)
from ._cyclonedx import CycloneDxBom, read_cyclonedx
from ._json import ParseLimits, load_json
from ._spdx import SpdxDocument, read_spdx, spdx_spec_issues
from ._tagvalue import looks_like_tag_value, tag_value_to_json

__all__ = [
    "Sbom",
    "Validation",
    "parse",
    "parse_components",
    "parse_cyclonedx",
    "parse_predicate",
    "validate",
]

#: A parsed SBOM of any supported format.
Sbom = CycloneDxBom | SpdxDocument


@dataclass(frozen=True)
class Validation:
    """The outcome of :func:`validate`: the document read, and every issue found in it."""

    document: Sbom
    issues: tuple[ValidationIssue, ...]
    schema_checked: bool

    @property
    def ok(self) -> bool:
        """True when no issue was found."""
        return not self.issues


def _detect(tree: Any, source: str | None) -> SbomFormat:
    if not isinstance(tree, dict):
        raise InputError("an SBOM must be a JSON object", source=source)
    if "bomFormat" in tree:
        if tree["bomFormat"] != "CycloneDX":
            raise InputError(
                f"bomFormat is {tree['bomFormat']!r}, expected 'CycloneDX'",
                field="bomFormat",
                source=source,
            )
        version = tree.get("specVersion")
        if version not in CYCLONEDX_VERSIONS:
            raise InputError(
                f"unsupported CycloneDX version {version!r} "
                f"(supported: {', '.join(CYCLONEDX_VERSIONS)})",
                field="specVersion",
                source=source,
            )
        return SbomFormat.CYCLONEDX_JSON
    if "spdxVersion" in tree:
        version = tree["spdxVersion"]
        if version not in SPDX_VERSIONS:
            raise InputError(
                f"unsupported SPDX version {version!r} (supported: {', '.join(SPDX_VERSIONS)})",
                field="spdxVersion",
                source=source,
            )
        return SbomFormat.SPDX_JSON
    hint = None
    if "predicate" in tree and "_type" in tree:
        hint = "this is an in-toto Statement; the SBOM is its 'predicate'"
    elif "payload" in tree and "payloadType" in tree:
        hint = "this is a DSSE envelope; verify it and read the SBOM from its statement"
    raise InputError(
        "not a CycloneDX or SPDX document (no 'bomFormat' or 'spdxVersion')",
        source=source,
        hint=hint,
    )


def _check_media_type(fmt: SbomFormat, media_type: str | None, source: str | None) -> None:
    if media_type is None:
        return
    declared = media_type.split(";", 1)[0].strip().lower()
    if declared != fmt.media_type:
        raise InputError(
            f"media type {media_type!r} does not match the document ({fmt.media_type})",
            source=source,
        )


def _load(
    data: bytes, source: str | None, limits: ParseLimits | None
) -> tuple[SbomFormat, dict[str, Any]]:
    limits = limits or ParseLimits()
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith((b"{", b"[")) and len(data) <= limits.max_bytes:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = ""
        if text and looks_like_tag_value(text):
            tree = tag_value_to_json(text, source=source)
            if tree.get("spdxVersion") not in SPDX_VERSIONS:
                raise InputError(
                    f"unsupported SPDX version {tree.get('spdxVersion')!r} "
                    f"(supported: {', '.join(SPDX_VERSIONS)})",
                    field="SPDXVersion",
                    source=source,
                )
            return SbomFormat.SPDX_TAG_VALUE, tree
    tree = load_json(data, source=source, limits=limits)
    return _detect(tree, source), tree


def _read(fmt: SbomFormat, tree: dict[str, Any], raw: bytes | None, col: Collector) -> Sbom:
    if fmt is SbomFormat.CYCLONEDX_JSON:
        return read_cyclonedx(tree, col=col, raw=raw)
    return read_spdx(tree, col=col, raw=raw, fmt=fmt)


def parse(
    data: bytes,
    *,
    source: str | None = None,
    limits: ParseLimits | None = None,
    media_type: str | None = None,
) -> Sbom:
    """Parse CycloneDX JSON 1.4 to 1.6 or SPDX 2.2/2.3 (JSON or tag-value).

    Raises :class:`InputError` (with ``source`` and the JSON path) for malformed JSON, an
    unsupported format or version, a document above ``limits.max_bytes``, duplicate bom-refs or
    SPDXIDs, and references that resolve to nothing. Schema validation is not done here (it is
    slow at scale): call :func:`validate` for that. ``media_type``, when given (e.g. from an OCI
    layer), must agree with the document.
    """
    fmt, tree = _load(data, source, limits)
    _check_media_type(fmt, media_type, source)
    return _read(fmt, tree, data, Collector(strict=True, source=source))


def parse_cyclonedx(
    data: bytes, *, source: str | None = None, limits: ParseLimits | None = None
) -> CycloneDxBom:
    """:func:`parse`, but anything other than CycloneDX JSON is an :class:`InputError`."""
    document = parse(data, source=source, limits=limits)
    if not isinstance(document, CycloneDxBom):
        raise InputError(
            f"expected a CycloneDX document, got {document.format.value}", source=source
        )
    return document


def parse_components(
    data: bytes, *, source: str | None = None, limits: ParseLimits | None = None
) -> list[dict[str, Any]]:
    """Components for :func:`generate`: a JSON array of component objects, or the top-level
    ``components`` of a CycloneDX SBOM (read as strictly as :func:`parse` reads)."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        items = load_json(data, source=source, limits=limits)
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise InputError(
                    "must be a CycloneDX component object", field=f"[{index}]", source=source
                )
        return list(items)
    document = parse_cyclonedx(data, source=source, limits=limits)
    return list(document.data.get("components") or [])


def parse_predicate(predicate_type: str, predicate: Any, *, source: str | None = None) -> Sbom:
    """Read the SBOM carried by an in-toto statement's predicate (after verification).

    ``https://cyclonedx.org/bom`` carries CycloneDX JSON as an object; ``https://spdx.dev/Document``
    carries SPDX JSON as an object or SPDX tag-value as a string (``cosign attest --type spdx``).
    """
    if predicate_type not in (PREDICATE_CYCLONEDX, PREDICATE_SPDX):
        raise InputError(f"{predicate_type!r} is not an SBOM predicate type", source=source)
    if isinstance(predicate, str) and predicate_type == PREDICATE_SPDX:
        data = predicate.encode("utf-8")
    elif isinstance(predicate, dict):
        try:
            text = json.dumps(predicate, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise InputError(
                f"the predicate is not JSON: {reason}", field="predicate", source=source
            ) from None
        data = text.encode("utf-8")
    else:
        raise InputError("the predicate is not an SBOM document", field="predicate", source=source)
    document = parse(data, source=source)
    if document.predicate_type != predicate_type:
        raise InputError(
            f"predicate type {predicate_type!r} does not match the document "
            f"({document.predicate_type})",
            field="predicateType",
            source=source,
        )
    return document


def validate(
    document: bytes | Sbom,
    *,
    schema: bool = True,
    source: str | None = None,
    limits: ParseLimits | None = None,
) -> Validation:
    """Check a document and report every issue found, with JSON paths.

    Integrity (unique bom-refs/SPDXIDs, no dangling reference, the types of the fields read) is
    always checked. With ``schema=True``, CycloneDX is checked against its official JSON schema
    for the document's version and SPDX against the fields and values SPDX 2.3 requires.
    Raises :class:`InputError` only when the bytes cannot be read as an SBOM at all.
    """
    if isinstance(document, bytes):
        fmt, tree = _load(document, source, limits)
        raw: bytes | None = document
    else:
        fmt, tree, raw = document.format, dict(document.data), document.raw
    col = Collector(strict=False, source=source)
    read = _read(fmt, tree, raw, col)
    issues = list(col.issues)
    if schema:
        if isinstance(read, CycloneDxBom):
            from ._schema import schema_issues

            try:
                issues.extend(schema_issues(tree, read.spec_version, limit=MAX_ISSUES))
            except RecursionError:
                # jsonschema walks the tree recursively, several frames per level: a document
                # the parser accepted can still be too deep to check. Never a pass.
                raise InputError(
                    "the document is nested too deeply to check against the schema",
                    source=source,
                ) from None
        else:
            spec = Collector(strict=False, source=source)
            spdx_spec_issues(tree, spec)
            issues.extend(spec.issues)
    return Validation(read, tuple(dict.fromkeys(issues)), schema)
