"""SBOMs: read CycloneDX and SPDX, validate, generate an image SBOM, merge CycloneDX SBOMs.

```python
from konflux_supply import sbom

doc = sbom.parse(data, source="scan.json")          # CycloneDxBom | SpdxDocument, or InputError
report = sbom.validate(data)                         # schema check on request (slow at scale)
merged = sbom.merge([scan, prefetch], subject=sbom.image_component("quay.io/org/app@sha256:…"),
                    serial_number="urn:uuid:…", timestamp=when)
registry, ref = oci.open_registry("quay.io/org/app:v1", options=…)
image_bom = sbom.generate(ref, registry=registry)   # tag resolved once, digests checked
publish.attach_sbom(registry, ref, doc)           # cosign's .sbom (konflux_supply.publish)
publish.attest_sbom(registry, ref, doc, signer)   # signed predicate
sbom.read_attached(registry, ref).data               # the exact bytes attached
```

Reading keeps the document as written (``doc.data``, ``doc.raw``) with typed views over the
fields policies read; nothing is dropped on a round trip. See ``docs/sbom.md``.
"""

from __future__ import annotations

from ._common import (
    CYCLONEDX_VERSIONS,
    MEDIA_TYPE_CYCLONEDX_JSON,
    MEDIA_TYPE_SPDX,
    MEDIA_TYPE_SPDX_JSON,
    PREDICATE_CYCLONEDX,
    PREDICATE_SPDX,
    SPDX_VERSIONS,
    SbomFormat,
    ValidationIssue,
)
from ._cyclonedx import Component, CycloneDxBom, Dependency, Hash, Property
from ._image import generate, image_component, oci_purl
from ._json import DEFAULT_MAX_BYTES, ParseLimits
from ._merge import merge
from ._read import (
    Sbom,
    Validation,
    parse,
    parse_components,
    parse_cyclonedx,
    parse_predicate,
    validate,
)
from ._spdx import SpdxDocument, SpdxPackage, SpdxRelationship
from ._store import (
    AttachedSbom,
    predicate,
    read_attached,
    read_predicate,
    sbom_format_for,
)

__all__ = [
    "CYCLONEDX_VERSIONS",
    "DEFAULT_MAX_BYTES",
    "MEDIA_TYPE_CYCLONEDX_JSON",
    "MEDIA_TYPE_SPDX",
    "MEDIA_TYPE_SPDX_JSON",
    "PREDICATE_CYCLONEDX",
    "PREDICATE_SPDX",
    "SPDX_VERSIONS",
    "AttachedSbom",
    "Component",
    "CycloneDxBom",
    "Dependency",
    "Hash",
    "ParseLimits",
    "Property",
    "Sbom",
    "SbomFormat",
    "SpdxDocument",
    "SpdxPackage",
    "SpdxRelationship",
    "Validation",
    "ValidationIssue",
    "generate",
    "image_component",
    "merge",
    "oci_purl",
    "parse",
    "parse_components",
    "parse_cyclonedx",
    "parse_predicate",
    "predicate",
    "read_attached",
    "read_predicate",
    "sbom_format_for",
    "validate",
]
