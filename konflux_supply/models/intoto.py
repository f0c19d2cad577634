"""in-toto Statements (v0.1 and v1) and the SLSA provenance predicates Chains produces.

These models *parse* attestations: :meth:`Statement.from_json` is strict (no type coercion,
duplicate JSON keys rejected) and raises :class:`~konflux_supply.errors.InputError` naming the
field path. Unknown fields are kept (``model_extra``), so a newer producer's statement still
parses. Models are frozen. Signed bytes are never re-serialised from these models: verify the
bytes you received, then parse them.

Specs: https://github.com/in-toto/attestation/tree/main/spec (Statement v0.1, v1,
ResourceDescriptor), https://slsa.dev/spec/v0.2/provenance, https://slsa.dev/spec/v1.0/provenance.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from konflux_supply.errors import InputError, field_path
from konflux_supply.models.predicates import (
    PREDICATE_SLSA_V02,
    PREDICATE_SLSA_V1,
    STATEMENT_V01,
    STATEMENT_V1,
)

__all__ = [
    "PREDICATE_SLSA_V02",
    "PREDICATE_SLSA_V1",
    "STATEMENT_V01",
    "STATEMENT_V1",
    "ResourceDescriptor",
    "SLSABuildDefinition",
    "SLSABuildMetadata",
    "SLSABuilder",
    "SLSACompleteness",
    "SLSAConfigSource",
    "SLSAInvocation",
    "SLSAMaterial",
    "SLSAMetadataV02",
    "SLSAProvenanceV02",
    "SLSAProvenanceV1",
    "SLSARunDetails",
    "Statement",
    "Subject",
]


_M = TypeVar("_M", bound="_Model")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="allow", frozen=True, populate_by_name=True, strict=True, defer_build=True
    )

    @classmethod
    def parse_data(cls: type[_M], data: Any, *, source: str | None = None, prefix: str = "") -> _M:
        """Validate already-parsed JSON data; errors become :class:`InputError`."""
        try:
            return cls.model_validate_json(json.dumps(data, allow_nan=False))
        except ValidationError as error:
            raise _input_error(error, source, prefix) from None
        except (TypeError, ValueError) as error:
            raise InputError(
                f"not JSON data: {error}", source=source, field=prefix or None
            ) from None

    def to_data(self) -> dict[str, Any]:
        """JSON-ready data with the spec's field names (defaults left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _input_error(error: ValidationError, source: str | None, prefix: str) -> InputError:
    problems = error.errors()
    first = problems[0]
    location = field_path(*(str(p) if not isinstance(p, int) else p for p in first["loc"]))
    if prefix:
        location = (
            f"{prefix}.{location}"
            if location and not location.startswith("[")
            else prefix + location
        )
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return InputError(f"{first['msg']}{more}", field=location or None, source=source)


class ResourceDescriptor(_Model):
    """in-toto ResourceDescriptor (v1); also a v0.1 subject (``name`` + ``digest``)."""

    name: str = ""
    uri: str = ""
    digest: dict[str, str] = Field(default_factory=dict)
    content: str = ""
    """Base64 of the bytes, as the JSON carries it; see :meth:`content_bytes`."""
    download_location: str = Field("", alias="downloadLocation")
    media_type: str = Field("", alias="mediaType")
    annotations: dict[str, Any] = Field(default_factory=dict)

    @field_validator("content")
    @classmethod
    def _base64(cls, value: str) -> str:
        if value:
            try:
                _decode_base64(value)
            except ValueError:
                raise ValueError("content is not base64") from None
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: dict[str, str]) -> dict[str, str]:
        for algorithm, hex_value in value.items():
            if not algorithm or not hex_value:
                raise ValueError("digest algorithms and values must be non-empty")
        return value

    def content_bytes(self) -> bytes:
        """The decoded ``content`` (protobuf JSON accepts standard and URL-safe base64)."""
        return _decode_base64(self.content) if self.content else b""


Subject = ResourceDescriptor


def _decode_base64(value: str) -> bytes:
    padded = value + "=" * (-len(value) % 4)
    try:
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(padded.encode("ascii"))
        return base64.b64decode(padded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("not base64") from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"duplicate JSON key {key!r}")
        out[key] = value
    return out


class Statement(_Model):
    """An in-toto Statement, v0.1 or v1 (``_type`` says which)."""

    type: Literal["https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"] = Field(
        alias="_type"
    )
    subject: tuple[ResourceDescriptor, ...] = ()
    """Empty when the producer found no artifacts (Chains then omits the key)."""
    predicate_type: str = Field(alias="predicateType", min_length=1)
    predicate: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _subjects_have_digests(self) -> Statement:
        for index, subject in enumerate(self.subject):
            if not subject.digest:
                raise ValueError(f"subject[{index}] has no digest")
            if self.type == STATEMENT_V01 and not subject.name:
                raise ValueError(f"subject[{index}] has no name (required by Statement v0.1)")
        return self

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str | None = None) -> Statement:
        """Parse statement bytes strictly; :class:`InputError` names the offending field."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            json.loads(text, object_pairs_hook=_reject_duplicates)
        except InputError as error:
            raise InputError(error.message, source=source) from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise InputError(f"not a JSON document: {error}", source=source) from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise _input_error(error, source, "") from None

    def slsa_v02(self) -> SLSAProvenanceV02:
        """The predicate as SLSA v0.2 provenance (``predicateType`` must say so)."""
        return self._predicate(SLSAProvenanceV02, PREDICATE_SLSA_V02)

    def slsa_v1(self) -> SLSAProvenanceV1:
        """The predicate as SLSA v1.0 provenance (``predicateType`` must say so)."""
        return self._predicate(SLSAProvenanceV1, PREDICATE_SLSA_V1)

    def _predicate(self, model: builtins.type[_M], expected: str) -> _M:
        if self.predicate_type != expected:
            raise InputError(
                f"predicateType is {self.predicate_type!r}, not {expected!r}", field="predicateType"
            )
        return model.parse_data(self.predicate, prefix="predicate")


# ---- SLSA v0.2 ---------------------------------------------------------------------------------


class SLSABuilder(_Model):
    id: str = ""
    version: dict[str, str] = Field(default_factory=dict)
    builder_dependencies: tuple[ResourceDescriptor, ...] = Field((), alias="builderDependencies")


class SLSAConfigSource(_Model):
    uri: str = ""
    digest: dict[str, str] = Field(default_factory=dict)
    entry_point: str = Field("", alias="entryPoint")


class SLSAInvocation(_Model):
    config_source: SLSAConfigSource = Field(default_factory=SLSAConfigSource, alias="configSource")
    parameters: Any = None
    environment: Any = None


class SLSACompleteness(_Model):
    parameters: bool = False
    environment: bool = False
    materials: bool = False


class SLSAMetadataV02(_Model):
    build_invocation_id: str = Field("", alias="buildInvocationId")
    build_started_on: datetime | None = Field(None, alias="buildStartedOn")
    build_finished_on: datetime | None = Field(None, alias="buildFinishedOn")
    completeness: SLSACompleteness = Field(default_factory=SLSACompleteness)
    reproducible: bool = False


class SLSAMaterial(_Model):
    uri: str = ""
    digest: dict[str, str] = Field(default_factory=dict)


class SLSAProvenanceV02(_Model):
    """``https://slsa.dev/provenance/v0.2``."""

    builder: SLSABuilder
    build_type: str = Field(alias="buildType")
    invocation: SLSAInvocation = Field(default_factory=SLSAInvocation)
    build_config: Any = Field(None, alias="buildConfig")
    metadata: SLSAMetadataV02 | None = None
    materials: tuple[SLSAMaterial, ...] = ()


# ---- SLSA v1.0 ---------------------------------------------------------------------------------


class SLSABuildDefinition(_Model):
    build_type: str = Field(alias="buildType", min_length=1)
    external_parameters: dict[str, Any] = Field(alias="externalParameters")
    internal_parameters: dict[str, Any] = Field(default_factory=dict, alias="internalParameters")
    resolved_dependencies: tuple[ResourceDescriptor, ...] = Field((), alias="resolvedDependencies")


class SLSABuildMetadata(_Model):
    invocation_id: str = Field("", alias="invocationId")
    started_on: datetime | None = Field(None, alias="startedOn")
    finished_on: datetime | None = Field(None, alias="finishedOn")


class SLSARunDetails(_Model):
    builder: SLSABuilder = Field(default_factory=SLSABuilder)
    metadata: SLSABuildMetadata = Field(default_factory=SLSABuildMetadata)
    byproducts: tuple[ResourceDescriptor, ...] = ()


class SLSAProvenanceV1(_Model):
    """``https://slsa.dev/provenance/v1``."""

    build_definition: SLSABuildDefinition = Field(alias="buildDefinition")
    run_details: SLSARunDetails = Field(alias="runDetails")
