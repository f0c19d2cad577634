"""OCI image-spec documents: descriptors, image manifests, image indexes.

Documents read from a registry are kept as the exact bytes received (:class:`RawManifest`);
the parsed model is only a view of them. Documents we write are serialised the way
go-containerregistry (and so cosign) does: Go ``json.Marshal`` of its structs, i.e. compact,
HTML-escaped, fields in struct order (descriptor: ``mediaType, size, digest, data, urls,
annotations, platform, artifactType``) and map keys (annotations) sorted.

:func:`parse_manifest` rejects manifest/index type confusion (CVE-2021-41190): a document
with both ``manifests`` and ``layers``/``config``, or whose ``mediaType`` disagrees with the
``Content-Type`` it was served with.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from konflux_supply.errors import InputError, field_path
from konflux_supply.models.canonical import dumps_go

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_MEDIA_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_EMPTY_DATA",
    "OCI_EMPTY_DIGEST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "ImageIndex",
    "ImageManifest",
    "RawManifest",
    "digest_of",
    "is_digest",
    "parse_manifest",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_EMPTY_DATA = b"{}"
OCI_EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})

_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def is_digest(value: str) -> bool:
    """True for a ``sha256:<64 hex>`` or ``sha512:<128 hex>`` digest (the ones we can check)."""
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """``<algorithm>:<hex>`` of ``data``."""
    return f"{algorithm}:{_HASHES[algorithm](data).hexdigest()}"


def _check_annotations(value: Any) -> Any:
    if value is not None and (
        not isinstance(value, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        raise ValueError("annotations must map strings to strings")
    return value


class _Document(BaseModel):
    model_config = ConfigDict(
        extra="allow", frozen=True, populate_by_name=True, strict=True, defer_build=True
    )

    #: (python attribute, JSON name) in Go struct order; extras follow.
    _order: ClassVar[tuple[tuple[str, str], ...]] = ()

    # Every document type has ``annotations``: string to string, checked once here.
    @field_validator("annotations", mode="before", check_fields=False)
    @classmethod
    def _annotations(cls, value: Any) -> Any:
        return _check_annotations(value)

    def to_obj(self) -> dict[str, Any]:
        """A JSON object in go-containerregistry field order (``omitempty`` fields dropped)."""
        out: dict[str, Any] = {}
        for attr, key in self._order:
            value = getattr(self, attr)
            if value is None:
                continue
            if isinstance(value, _Document):
                value = value.to_obj()
            elif isinstance(value, list) and key in {"layers", "manifests"}:
                value = [item.to_obj() for item in value]
            elif key == "annotations":
                if not value:
                    continue
                value = dict(sorted(value.items()))
            out[key] = value
        if self.model_extra:
            for key, value in self.model_extra.items():
                out.setdefault(key, value)
        return out

    def to_bytes(self) -> bytes:
        """The document serialised as go-containerregistry would write it."""
        return dumps_go(self.to_obj())


class Descriptor(_Document):
    """An OCI content descriptor."""

    media_type: str = Field(alias="mediaType")
    size: int = Field(ge=0)
    digest: str
    data: str | None = None
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None
    platform: dict[str, Any] | None = None
    artifact_type: str | None = Field(default=None, alias="artifactType")

    _order = (
        ("media_type", "mediaType"),
        ("size", "size"),
        ("digest", "digest"),
        ("data", "data"),
        ("urls", "urls"),
        ("annotations", "annotations"),
        ("platform", "platform"),
        ("artifact_type", "artifactType"),
    )

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not is_digest(value):
            raise ValueError(f"unsupported or malformed digest {value[:80]!r}")
        return value

    @classmethod
    def for_bytes(
        cls,
        data: bytes,
        media_type: str,
        *,
        annotations: dict[str, str] | None = None,
        artifact_type: str | None = None,
    ) -> Descriptor:
        """The descriptor of ``data`` (sha256)."""
        return cls(
            media_type=media_type,
            size=len(data),
            digest=digest_of(data),
            annotations=annotations or None,
            artifact_type=artifact_type,
        )


class ImageManifest(_Document):
    """An OCI image manifest (or Docker schema 2 manifest, same shape)."""

    schema_version: int = Field(alias="schemaVersion")
    media_type: str | None = Field(default=None, alias="mediaType")
    config: Descriptor
    layers: list[Descriptor]
    annotations: dict[str, str] | None = None
    subject: Descriptor | None = None
    artifact_type: str | None = Field(default=None, alias="artifactType")

    _order = (
        ("schema_version", "schemaVersion"),
        ("media_type", "mediaType"),
        ("config", "config"),
        ("layers", "layers"),
        ("annotations", "annotations"),
        ("subject", "subject"),
        ("artifact_type", "artifactType"),
    )


class ImageIndex(_Document):
    """An OCI image index (or Docker manifest list)."""

    schema_version: int = Field(alias="schemaVersion")
    media_type: str | None = Field(default=None, alias="mediaType")
    manifests: list[Descriptor]
    annotations: dict[str, str] | None = None
    subject: Descriptor | None = None
    artifact_type: str | None = Field(default=None, alias="artifactType")

    _order = (
        ("schema_version", "schemaVersion"),
        ("media_type", "mediaType"),
        ("manifests", "manifests"),
        ("annotations", "annotations"),
        ("subject", "subject"),
        ("artifact_type", "artifactType"),
    )


@dataclass(frozen=True)
class RawManifest:
    """A manifest or index exactly as stored: its bytes, media type, digest and parsed view."""

    data: bytes
    media_type: str
    digest: str
    document: ImageManifest | ImageIndex

    @property
    def is_index(self) -> bool:
        return isinstance(self.document, ImageIndex)

    @property
    def manifest(self) -> ImageManifest:
        """The image manifest; :class:`InputError` if this is an index."""
        if not isinstance(self.document, ImageManifest):
            raise InputError(f"{self.digest} is an image index, not an image manifest")
        return self.document

    @property
    def index(self) -> ImageIndex:
        """The image index; :class:`InputError` if this is an image manifest."""
        if not isinstance(self.document, ImageIndex):
            raise InputError(f"{self.digest} is an image manifest, not an image index")
        return self.document

    def descriptor(self, *, annotations: dict[str, str] | None = None) -> Descriptor:
        """A descriptor of this manifest (``artifactType`` set as the referrers API does)."""
        artifact_type = None
        doc = self.document
        if isinstance(doc, ImageManifest):
            artifact_type = doc.artifact_type or doc.config.media_type
        elif doc.artifact_type:
            artifact_type = doc.artifact_type
        return Descriptor(
            media_type=self.media_type,
            size=len(self.data),
            digest=self.digest,
            annotations=annotations or None,
            artifact_type=artifact_type,
        )

    @classmethod
    def of(cls, document: ImageManifest | ImageIndex) -> RawManifest:
        """Serialise a document we built (ggcr byte layout) and wrap it."""
        data = document.to_bytes()
        media_type = document.media_type or (
            OCI_INDEX if isinstance(document, ImageIndex) else OCI_MANIFEST
        )
        return cls(data=data, media_type=media_type, digest=digest_of(data), document=document)


def _media_type_base(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def parse_manifest(
    data: bytes,
    content_type: str | None = None,
    *,
    digest: str | None = None,
    source: str | None = None,
) -> RawManifest:
    """Parse a manifest or index, rejecting type confusion.

    ``content_type`` is what the server said (``Content-Type`` header), ``digest`` the digest
    already computed by the caller (else sha256 of ``data``). Raises :class:`InputError`.
    """
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"manifest is not JSON: {error}", source=source) from None
    except RecursionError:
        raise InputError("manifest is not JSON: nested too deeply", source=source) from None
    if not isinstance(obj, dict):
        raise InputError("manifest is not a JSON object", source=source)
    declared = obj.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise InputError("mediaType must be a string", field="mediaType", source=source)
    served = _media_type_base(content_type)
    generic = {None, "application/json", "application/octet-stream", "text/plain"}
    if declared is not None and served not in generic and served != declared:
        raise InputError(
            f"mediaType {declared!r} disagrees with Content-Type {served!r}",
            field="mediaType",
            source=source,
        )
    media_type = declared or (served if served not in generic else None)
    has_manifests = "manifests" in obj
    has_image_fields = "layers" in obj or "config" in obj
    if has_manifests and has_image_fields:
        raise InputError(
            "document has both 'manifests' and 'config'/'layers' (manifest/index confusion)",
            source=source,
        )
    if media_type is None:
        media_type = OCI_INDEX if has_manifests else OCI_MANIFEST
    is_index = media_type in INDEX_MEDIA_TYPES
    if media_type not in INDEX_MEDIA_TYPES | MANIFEST_MEDIA_TYPES:
        raise InputError(f"unsupported manifest media type {media_type!r}", source=source)
    if is_index and has_image_fields:
        raise InputError(f"{media_type} must not have 'config' or 'layers'", source=source)
    if not is_index and has_manifests:
        raise InputError(f"{media_type} must not have 'manifests'", source=source)
    if obj.get("schemaVersion") != 2:
        raise InputError("schemaVersion must be 2", field="schemaVersion", source=source)
    model: type[ImageManifest] | type[ImageIndex] = ImageIndex if is_index else ImageManifest
    try:
        document = model.model_validate(obj)
    except ValidationError as error:
        first = error.errors()[0]
        field = field_path(*(part for part in first["loc"] if isinstance(part, str | int)))
        raise InputError(first["msg"], field=field, source=source) from None
    return RawManifest(
        data=data,
        media_type=media_type,
        digest=digest or digest_of(data),
        document=document,
    )
