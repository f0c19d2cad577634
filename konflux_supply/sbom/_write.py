"""Helpers for the documents this package writes: serial numbers, timestamps, tools, purls."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from konflux_supply import __version__
from konflux_supply.errors import BackendUnavailable, InputError

__all__ = [
    "TOOL_NAME",
    "canonical_purl",
    "check_tools",
    "format_timestamp",
    "make_serial_number",
    "make_tools",
]

TOOL_NAME = "konflux-supply"
_SERIAL = re.compile(
    r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def make_serial_number(value: str | None) -> str:
    """``value`` checked against the schema's pattern, or a fresh random ``urn:uuid:``."""
    if value is None:
        return uuid.uuid4().urn
    if not _SERIAL.match(value):
        raise InputError(
            f"{value!r} is not an RFC 4122 UUID URN: the serial number must be "
            "urn:uuid:xxxxxxxx-xxxx-Vxxx-Nxxx-xxxxxxxxxxxx in lower-case hex, with version V "
            "1 to 5 and variant N 8, 9, a or b (as CycloneDX's schema requires)",
            field="serialNumber",
            hint="omit --serial-number for a random one, or use `uuidgen | tr A-Z a-z`",
        )
    return value


def format_timestamp(value: datetime | None) -> str:
    """RFC 3339 UTC with seconds (``2024-01-31T12:00:00Z``); ``None`` means now."""
    if value is None:
        value = datetime.now(UTC)
    elif value.tzinfo is None or value.utcoffset() is None:
        raise InputError("a timestamp needs a time zone (e.g. 2024-01-31T12:00:00Z)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise InputError(
            f"timestamp {value.isoformat()} is outside the years 1 to 9999 in UTC",
            field="timestamp",
        ) from None
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_tools(spec_version: str, inherited: list[Any]) -> Any:
    """``metadata.tools`` naming us first, then the tools of the inputs (deduplicated).

    CycloneDX 1.4 has only the legacy array of tools; 1.5 and 1.6 prefer the object form
    (``{"components": [...], "services": [...]}``). ``inherited`` holds each input's value.
    """
    legacy = spec_version == "1.4"
    components: list[dict[str, Any]] = [
        {"vendor": TOOL_NAME, "name": TOOL_NAME, "version": __version__}
        if legacy
        else {"type": "application", "name": TOOL_NAME, "version": __version__}
    ]
    services: list[Any] = []
    for value in inherited:
        if isinstance(value, list):
            components.extend(item if legacy else _tool_as_component(item) for item in value)
        elif isinstance(value, dict):
            for item in value.get("components") or ():
                components.append(_component_as_tool(item) if legacy else item)
            if not legacy:
                services.extend(value.get("services") or ())
    components = _unique(components)
    if legacy:
        return components
    out: dict[str, Any] = {"components": components}
    if services:
        out["services"] = _unique(services)
    return out


def check_tools(value: Any, *, source: str) -> None:
    """Raise :class:`InputError` unless ``metadata.tools`` has a shape :func:`make_tools` reads:
    an array, or an object whose ``components`` and ``services`` are arrays."""
    if isinstance(value, list):
        return
    if not isinstance(value, dict):
        raise InputError("must be an array or an object", field="metadata.tools", source=source)
    for key in ("components", "services"):
        if value.get(key) is not None and not isinstance(value[key], list):
            raise InputError("must be an array", field=f"metadata.tools.{key}", source=source)


def _tool_as_component(tool: Any) -> Any:
    if not isinstance(tool, dict):
        return tool
    component: dict[str, Any] = {"type": "application"}
    if "vendor" in tool:
        component["group"] = tool["vendor"]
    component["name"] = tool.get("name", "unknown")
    for key in ("version", "hashes", "externalReferences"):
        if key in tool:
            component[key] = tool[key]
    return component


def _component_as_tool(component: Any) -> Any:
    if not isinstance(component, dict):
        return component
    tool: dict[str, Any] = {}
    if "group" in component:
        tool["vendor"] = component["group"]
    for key in ("name", "version", "hashes", "externalReferences"):
        if key in component:
            tool[key] = component[key]
    return tool


def _unique(items: list[Any]) -> list[Any]:
    from konflux_supply.models.canonical import dumps_sorted

    seen: set[bytes] = set()
    out = []
    for item in items:
        key = dumps_sorted(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def canonical_purl(purl: str) -> str | None:
    """The purl in canonical form (type-specific normalisation, sorted qualifiers), or None.

    Two spellings of one package (``pkg:PyPI/Django_X@1.0`` and ``pkg:pypi/django-x@1.0``) give
    the same string; every qualifier is kept, so a different ``download_url`` or ``checksum``
    stays a different package.
    """
    try:
        from packageurl import PackageURL
    except ModuleNotFoundError:
        raise BackendUnavailable.missing_extra("sbom", "packageurl-python") from None
    try:
        return str(PackageURL.from_string(purl).to_string())
    except ValueError:
        return None
