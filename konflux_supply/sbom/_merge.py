"""Merge CycloneDX SBOMs into one document describing one subject (decisions: ADR 0042).

* A component's identity is its purl in canonical form, all qualifiers kept (no purl: its
  bom-ref with type/group/name/version; neither: the whole object). Components with one
  identity become one: ``hashes``, ``properties``, ``externalReferences`` and ``licenses`` are
  unions, other fields come from the first input that has them (a differing value is reported
  through ``on_conflict``, never silently replaced).
* bom-refs are document-local, so each input gets its own old→new map: a deduplicated
  component's refs point at the kept one, a ref that clashes with a different component is
  renamed (``ref-2``), and every reference (dependencies, compositions, vulnerabilities,
  annotations) is rewritten through the map of the input it came from.
* The subject (or, without one, the first input's ``metadata.component``) is the described
  component; every input's ``metadata.component`` is mapped onto it.
* Output order is input order; serial number and timestamp are parameters, so equal inputs and
  parameters give equal bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.models.canonical import dumps_sorted

from ._common import CYCLONEDX_VERSIONS, Collector
from ._cyclonedx import CycloneDxBom, read_component, read_cyclonedx
from ._write import (
    canonical_purl,
    check_tools,
    format_timestamp,
    make_serial_number,
    make_tools,
)

__all__ = ["merge"]

_UNION = ("hashes", "properties", "externalReferences")
_METADATA_UNION = ("properties", "lifecycles", "authors")
_TOP_ORDER = (
    "bomFormat",
    "specVersion",
    "serialNumber",
    "version",
    "metadata",
    "components",
    "services",
    "externalReferences",
    "dependencies",
    "compositions",
    "vulnerabilities",
    "annotations",
    "formulation",
    "properties",
)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _union(first: list[Any], second: list[Any]) -> list[Any]:
    seen = {dumps_sorted(item) for item in first}
    out = list(first)
    for item in second:
        key = dumps_sorted(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


class _Merger:
    def __init__(self, on_conflict: Callable[[str], None] | None) -> None:
        self.on_conflict = on_conflict
        self.index: dict[Any, dict[str, Any]] = {}
        self.used: set[str] = set()
        self.maps: list[dict[str, str]] = []
        self._purls: dict[str, str | None] = {}

    # identity and refs -------------------------------------------------------------------
    def identity(self, obj: Mapping[str, Any]) -> Any:
        purl = obj.get("purl")
        if isinstance(purl, str):
            if purl not in self._purls:
                self._purls[purl] = canonical_purl(purl)
            return ("purl", self._purls[purl] or purl)
        ref = obj.get("bom-ref")
        if isinstance(ref, str):
            fields = (obj.get("type"), obj.get("group"), obj.get("name"), obj.get("version"))
            return ("ref", ref, *fields)
        return ("object", dumps_sorted(obj))

    def claim(self, ref: str) -> str:
        candidate, counter = ref, 1
        while candidate in self.used:
            counter += 1
            candidate = f"{ref}-{counter}"
        self.used.add(candidate)
        return candidate

    def conflict(self, message: str) -> None:
        if self.on_conflict is not None:
            self.on_conflict(message)

    # components and services -------------------------------------------------------------
    def fold(self, kept: dict[str, Any], new: dict[str, Any], label: str) -> None:
        for key, value in new.items():
            if key in ("bom-ref", "components", "services"):
                continue
            if key in _UNION and isinstance(value, list) and isinstance(kept.get(key), list):
                if key == "hashes":
                    self._hashes_agree(kept[key], value, label)
                kept[key] = _union(kept[key], value)
            elif key == "licenses" and isinstance(value, list) and isinstance(kept.get(key), list):
                both = kept[key] + value
                if all(isinstance(c, dict) and "license" in c for c in both):
                    kept[key] = _union(kept[key], value)
                elif dumps_sorted(kept[key]) != dumps_sorted(value):
                    self.conflict(f"{label}: licence expressions differ; kept the first")
            elif key not in kept:
                kept[key] = value
            elif kept[key] != value:
                self.conflict(f"{label}: {key!r} differs between inputs; kept the first")

    def _hashes_agree(self, kept: list[Any], new: list[Any], label: str) -> None:
        """Two inputs giving one component different digests of one algorithm: both are kept
        (neither input can be preferred), and said, as the artefacts may not be the same."""
        known = {
            (h["alg"], h["content"])
            for h in kept
            if isinstance(h, dict) and isinstance(h.get("alg"), str)
        }
        algs = {alg for alg, _ in known}
        for item in new:
            if not isinstance(item, dict) or not isinstance(item.get("alg"), str):
                continue
            if item["alg"] in algs and (item["alg"], item.get("content")) not in known:
                self.conflict(f"{label}: {item['alg']} hashes differ between inputs; kept both")

    def add(self, obj: dict[str, Any], doc: int, kind: str) -> dict[str, Any] | None:
        """Place ``obj`` (a clone owned by us); return it if new, None if folded into another."""
        refs = self.maps[doc]
        nested = obj.pop(kind, None)
        key = (kind, self.identity(obj))
        kept = self.index.get(key)
        ref = obj.get("bom-ref")
        if kept is not None:
            label = str(obj.get("purl") or ref or obj.get("name"))
            if isinstance(ref, str):
                if "bom-ref" not in kept:
                    kept["bom-ref"] = self.claim(ref)
                refs[ref] = kept["bom-ref"]
            self.fold(kept, obj, label)
            target = kept
        else:
            if isinstance(ref, str):
                obj["bom-ref"] = refs[ref] = self.claim(ref)
            self.index[key] = obj
            target = obj
        if isinstance(nested, list):
            placed = [p for child in nested if (p := self.add(child, doc, kind)) is not None]
            if placed:
                target[kind] = target.get(kind, []) + placed
        return obj if kept is None else None

    def rewrite(self, doc: int, value: Any) -> Any:
        return self.maps[doc].get(value, value) if isinstance(value, str) else value


def _rewrite_refs(merger: _Merger, doc: int, key: str, items: list[Any]) -> list[Any]:
    """Rewrite the bom-refs inside compositions / vulnerabilities / annotations of one input."""
    out = []
    for item in items:
        if not isinstance(item, dict):
            out.append(item)
            continue
        if key == "compositions":
            for field in ("assemblies", "dependencies"):
                if isinstance(item.get(field), list):
                    item[field] = [merger.rewrite(doc, ref) for ref in item[field]]
        elif key == "vulnerabilities" and isinstance(item.get("affects"), list):
            for affected in item["affects"]:
                if isinstance(affected, dict):
                    affected["ref"] = merger.rewrite(doc, affected.get("ref"))
        elif key == "annotations" and isinstance(item.get("subjects"), list):
            item["subjects"] = [merger.rewrite(doc, ref) for ref in item["subjects"]]
        out.append(item)
    return out


def merge(
    boms: Sequence[CycloneDxBom],
    *,
    subject: Mapping[str, Any] | None = None,
    serial_number: str | None = None,
    timestamp: datetime | None = None,
    spec_version: str | None = None,
    on_conflict: Callable[[str], None] | None = None,
    sources: Sequence[str] | None = None,
) -> CycloneDxBom:
    """Merge CycloneDX SBOMs into one document (rules in this module's docstring, ADR 0042).

    ``subject`` is the component the result describes (e.g. :func:`image_component` of the
    image); without it the first input's ``metadata.component`` is used. The result's
    ``specVersion`` is the highest of the inputs unless ``spec_version`` (not lower) is given.
    ``serial_number`` and ``timestamp`` default to random / now: pass both for reproducible
    output. ``on_conflict`` receives one line per field whose value differed between inputs (the
    first input's value is kept). ``sources`` names the inputs in errors (e.g. their file
    names; default ``SBOM #1``, ``SBOM #2``, …). Raises :class:`InputError` for unusable
    inputs; the result has unique bom-refs and no dangling reference (it is re-read strictly
    before it is returned).
    """
    if not boms:
        raise InputError("nothing to merge: give at least one SBOM")
    names = list(sources) if sources is not None else [f"SBOM #{n + 1}" for n in range(len(boms))]
    if len(names) != len(boms):
        raise InputError(f"{len(names)} source names for {len(boms)} SBOMs", field="sources")
    highest = max((bom.spec_version for bom in boms), key=_version_key)
    version = spec_version or highest
    if version not in CYCLONEDX_VERSIONS:
        raise InputError(f"cannot write CycloneDX {version!r}", field="specVersion")
    if _version_key(version) < _version_key(highest):
        raise InputError(
            f"an input is CycloneDX {highest}; the merged document cannot be older ({version})",
            field="specVersion",
        )
    # Re-read each input strictly: a document from validate() may carry issues, and every
    # reference must resolve before refs are rewritten.
    boms = [
        read_cyclonedx(dict(bom.data), col=Collector(strict=True, source=names[n]))
        for n, bom in enumerate(boms)
    ]
    merger = _Merger(on_conflict)
    clones = [json.loads(json.dumps(bom.data)) for bom in boms]
    merger.maps = [{} for _ in clones]

    root: dict[str, Any] | None = None
    if subject is not None:
        col = Collector(strict=True, source="subject")
        if read_component(subject, "subject", col) is None:  # pragma: no cover - strict raises
            raise InputError("the subject must be a CycloneDX component", field="subject")
        root = json.loads(json.dumps(dict(subject)))
        root.setdefault("bom-ref", root.get("purl") or "metadata-component")
        root["bom-ref"] = merger.claim(root["bom-ref"])
        merger.index[("components", merger.identity(root))] = root

    components: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    extras: dict[str, list[Any]] = {}
    metadata_extra: dict[str, Any] = {}
    inherited_tools: list[Any] = []
    for doc, data in enumerate(clones):
        metadata = data.get("metadata") or {}
        if "tools" in metadata:
            check_tools(metadata["tools"], source=names[doc])
            inherited_tools.append(metadata["tools"])
        described = metadata.get("component")
        if isinstance(described, dict):
            nested = described.pop("components", None)
            ref = described.get("bom-ref")
            if root is None:
                root = described
                if isinstance(ref, str):
                    root["bom-ref"] = merger.maps[doc][ref] = merger.claim(ref)
                merger.index[("components", merger.identity(root))] = root
            elif isinstance(ref, str):
                merger.maps[doc][ref] = root.get("bom-ref") or merger.claim(ref)
                root.setdefault("bom-ref", merger.maps[doc][ref])
            # Parts of a described component stay parts of the (one) described component.
            parts = [
                placed
                for child in (nested if isinstance(nested, list) else ())
                if (placed := merger.add(child, doc, "components")) is not None
            ]
            if parts:
                root["components"] = root.get("components", []) + parts
        for key, value in metadata.items():
            if key in ("timestamp", "tools", "component"):
                continue
            if key in _METADATA_UNION and isinstance(value, list):
                metadata_extra[key] = _union(metadata_extra.get(key, []), value)
            elif key not in metadata_extra:
                metadata_extra[key] = value
            elif dumps_sorted(metadata_extra[key]) != dumps_sorted(value):
                merger.conflict(f"metadata.{key} differs between inputs; kept the first")
        for child in data.get("components") or ():
            if (placed := merger.add(child, doc, "components")) is not None:
                components.append(placed)
        for child in data.get("services") or ():
            if (placed := merger.add(child, doc, "services")) is not None:
                services.append(placed)
        for key in ("compositions", "vulnerabilities", "annotations", "formulation"):
            if isinstance(data.get(key), list):
                items = _rewrite_refs(merger, doc, key, data[key])
                extras[key] = _union(extras.get(key, []), items)
        for key in ("externalReferences", "properties"):
            if isinstance(data.get(key), list):
                extras[key] = _union(extras.get(key, []), data[key])
        for key in ("declarations", "definitions"):
            if key in data:
                if key not in extras:
                    extras[key] = data[key]
                elif dumps_sorted(extras[key]) != dumps_sorted(data[key]):
                    merger.conflict(f"{key!r} differs between inputs; kept the first")
        if "signature" in data:
            merger.conflict("an input's signature was dropped: it does not sign the merge")

    dependencies: dict[str, dict[str, dict[str, None]]] = {}
    for doc, bom in enumerate(boms):
        refs = merger.maps[doc]
        for dep in bom.dependencies:
            ref = refs[dep.ref]
            entry = dependencies.setdefault(ref, {"dependsOn": {}, "provides": {}})
            for field, targets in (("dependsOn", dep.depends_on), ("provides", dep.provides)):
                for target in targets:
                    new = refs[target]
                    if new == ref and target != dep.ref:
                        continue  # two inputs' views of one component: not a self-dependency
                    entry[field][new] = None

    metadata_out: dict[str, Any] = {
        "timestamp": format_timestamp(timestamp),
        "tools": make_tools(version, inherited_tools),
    }
    if root is not None:
        metadata_out["component"] = root
    metadata_out.update(metadata_extra)
    document: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": version,
        "serialNumber": make_serial_number(serial_number),
        "version": 1,
        "metadata": metadata_out,
        "components": components,
    }
    if services:
        document["services"] = services
    document["dependencies"] = [
        {"ref": ref, "dependsOn": list(entry["dependsOn"])}
        | ({"provides": list(entry["provides"])} if entry["provides"] else {})
        for ref, entry in dependencies.items()
    ]
    document.update(extras)
    ordered = {key: document[key] for key in _TOP_ORDER if key in document}
    ordered.update(document)
    return read_cyclonedx(ordered, col=Collector(strict=True, source="merged SBOM"))
