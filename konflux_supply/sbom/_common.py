"""Names shared by the SBOM readers: formats, media types, predicate types, issues."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from konflux_supply.errors import InputError

# in-toto predicate types of ``cosign attest --type cyclonedx|spdxjson|spdx`` (re-exported).
from konflux_supply.models.predicates import PREDICATE_CYCLONEDX, PREDICATE_SPDX

__all__ = [
    "CYCLONEDX_VERSIONS",
    "MAX_ISSUES",
    "MEDIA_TYPE_CYCLONEDX_JSON",
    "MEDIA_TYPE_SPDX",
    "MEDIA_TYPE_SPDX_JSON",
    "PREDICATE_CYCLONEDX",
    "PREDICATE_SPDX",
    "SPDX_VERSIONS",
    "Collector",
    "SbomFormat",
    "ValidationIssue",
]

#: CycloneDX JSON versions read and written (Conforma checks 1.4, 1.5 and 1.6).
CYCLONEDX_VERSIONS = ("1.4", "1.5", "1.6")
#: SPDX versions read (2.3 is current; cosign's own test data is 2.2).
SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")

#: Layer media types of ``cosign attach sbom`` (``--type cyclonedx|spdx`` + ``--input-format``).
MEDIA_TYPE_CYCLONEDX_JSON = "application/vnd.cyclonedx+json"
MEDIA_TYPE_SPDX_JSON = "text/spdx+json"
MEDIA_TYPE_SPDX = "text/spdx"

#: Validation stops collecting after this many issues (the document is invalid either way).
MAX_ISSUES = 1000


class SbomFormat(enum.Enum):
    """The document formats this package reads."""

    CYCLONEDX_JSON = "cyclonedx"
    SPDX_JSON = "spdxjson"
    SPDX_TAG_VALUE = "spdx"

    @property
    def media_type(self) -> str:
        """The OCI layer media type cosign uses for this format."""
        return {
            SbomFormat.CYCLONEDX_JSON: MEDIA_TYPE_CYCLONEDX_JSON,
            SbomFormat.SPDX_JSON: MEDIA_TYPE_SPDX_JSON,
            SbomFormat.SPDX_TAG_VALUE: MEDIA_TYPE_SPDX,
        }[self]

    @property
    def predicate_type(self) -> str:
        """The in-toto predicate type of an attestation carrying this format."""
        if self is SbomFormat.CYCLONEDX_JSON:
            return PREDICATE_CYCLONEDX
        return PREDICATE_SPDX

    @property
    def cosign_type(self) -> str:
        """The value of ``cosign attest --type`` for this format."""
        return self.value


@dataclass(frozen=True, order=True)
class ValidationIssue:
    """One problem in a document: a JSON path (``components[3].purl``) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class Collector:
    """Gathers issues; in strict mode the first one is raised as :class:`InputError`."""

    def __init__(self, *, strict: bool, source: str | None) -> None:
        self.strict = strict
        self.source = source
        self.issues: list[ValidationIssue] = []

    def add(self, path: str, message: str) -> None:
        if self.strict:
            raise InputError(message, field=path or None, source=self.source)
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(ValidationIssue(path, message))
