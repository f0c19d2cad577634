"""The DSSE envelope (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md).

Parsing is strict (strings must be strings, base64 must decode the way go-securesystemslib
decodes it: standard, else URL-safe alphabet, padded), errors name the field
(``signatures[1].sig``), unknown fields are kept, and the caller's objects are never mutated.
:meth:`Envelope.to_json` writes the bytes cosign v1/v2 and Chains (go-securesystemslib) write::

    {"payloadType":"…","payload":"…","signatures":[{"keyid":"…","sig":"…"}]}

The bytes decoded while validating are kept on the (frozen) model with the text they came
from, so verifying does not decode twice; a model whose text changed (``model_copy(update=...)``,
``model_construct``) decodes its own text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from konflux_supply.errors import InputError, field_path
from konflux_supply.models.canonical import dumps_go

__all__ = ["IN_TOTO_PAYLOAD_TYPE", "MAX_ENVELOPE_BYTES", "Envelope", "Signature", "b64decode"]

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
# cosign caps attachments at 128 MiB (COSIGN_MAX_ATTACHMENT_SIZE); an envelope is at most that.
MAX_ENVELOPE_BYTES = 128 * 1024 * 1024

_STRIP_NEWLINES = str.maketrans("", "", "\r\n")


def b64decode(text: str) -> bytes:
    """Decode like go-securesystemslib's ``b64Decode``: standard, else URL-safe; padded.

    Go's decoder skips ``\\r`` and ``\\n``; so does this one. Raises ``ValueError``.
    """
    if "\r" in text or "\n" in text:
        text = text.translate(_STRIP_NEWLINES)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    if "+" in text or "/" in text:
        raise ValueError("not valid base64")
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64 (standard or URL-safe, padded)") from None


class _FieldError(ValueError):
    """A value error that knows its field (pydantic keeps it in ``ctx["error"]``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _decode_field(text: str, field: str) -> bytes:
    try:
        return b64decode(text)
    except ValueError as error:
        raise _FieldError(field, str(error)) from None


_Model = TypeVar("_Model", bound=BaseModel)


def _trusted(cls: type[_Model], fields: dict[str, Any], private: dict[str, Any]) -> _Model:
    """``cls.model_construct(**fields)`` with the decoded bytes kept, for values made here.

    Every field is given by its name and there are no extras, so none of model_construct's
    per-field alias and default handling applies; skipping it makes signing's own bookkeeping
    cost a fraction of the signature. ``test_dsse`` checks the result equals model_construct's.
    """
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", fields)
    object.__setattr__(model, "__pydantic_fields_set__", set(fields))
    object.__setattr__(model, "__pydantic_extra__", {})
    object.__setattr__(model, "__pydantic_private__", private)
    return model


def _decoded(text: str, kept: tuple[str, bytes] | None) -> bytes:
    """The bytes kept for ``text``, or ``text`` decoded now (a copy may keep another's)."""
    if kept is not None and kept[0] == text:
        return kept[1]
    return b64decode(text)


class Signature(BaseModel):
    """One DSSE signature: an optional, unauthenticated ``keyid`` hint and the base64 ``sig``."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, defer_build=True)

    keyid: str = ""
    sig: str

    _raw: tuple[str, bytes] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _decode(self) -> Signature:
        self._raw = (self.sig, _decode_field(self.sig, "sig"))
        return self

    @property
    def signature(self) -> bytes:
        """The decoded signature bytes."""
        return _decoded(self.sig, self._raw)

    @classmethod
    def create(cls, signature: bytes, keyid: str = "") -> Signature:
        """Build a signature from raw signature bytes (standard base64 inside)."""
        if not isinstance(keyid, str):
            raise InputError("keyid must be a string", field="keyid")
        if not isinstance(signature, bytes):
            raise InputError("the signature must be bytes", field="sig")
        text = base64.b64encode(signature).decode("ascii")
        return _trusted(cls, {"keyid": keyid, "sig": text}, {"_raw": (text, signature)})


class Envelope(BaseModel):
    """A DSSE envelope; ``payload`` (base64 text) and :attr:`payload_bytes` (decoded)."""

    model_config = ConfigDict(
        extra="allow", frozen=True, strict=True, populate_by_name=True, defer_build=True
    )

    payload_type: str = Field(alias="payloadType")
    payload: str
    signatures: tuple[Signature, ...] = Field(strict=False)

    _payload: tuple[str, bytes] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _decode(self) -> Envelope:
        self._payload = (self.payload, _decode_field(self.payload, "payload"))
        return self

    @property
    def payload_bytes(self) -> bytes:
        """The decoded payload: exactly the bytes that were signed (inside the PAE)."""
        return _decoded(self.payload, self._payload)

    @classmethod
    def create(
        cls, payload: bytes, payload_type: str, signatures: list[Signature] | tuple[Signature, ...]
    ) -> Envelope:
        """Build an envelope from raw payload bytes (standard base64 inside)."""
        if not isinstance(payload_type, str):
            raise InputError("payloadType must be a string", field="payloadType")
        if not all(isinstance(s, Signature) for s in signatures):
            raise InputError("signatures must be Signature objects", field="signatures")
        text = base64.b64encode(payload).decode("ascii")
        # Values are known-good here, so skip re-validation (and re-decoding the payload).
        fields = {"payload_type": payload_type, "payload": text, "signatures": tuple(signatures)}
        return _trusted(cls, fields, {"_payload": (text, bytes(payload))})

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str | None = None) -> Envelope:
        """Parse envelope JSON; malformed input raises :class:`InputError` with the field path."""
        if len(data) > MAX_ENVELOPE_BYTES:
            raise InputError(f"envelope is larger than {MAX_ENVELOPE_BYTES} bytes", source=source)
        try:
            return cls.model_validate_json(data)
        except ValidationError as error:
            raise _input_error(error, source) from None

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], *, source: str | None = None) -> Envelope:
        """Validate a parsed JSON object (the object is not modified)."""
        if not isinstance(obj, Mapping):
            raise InputError("expected a JSON object", field="(envelope)", source=source)
        try:
            return cls.model_validate(dict(obj))
        except ValidationError as error:
            raise _input_error(error, source) from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object in go-securesystemslib field order (unknown fields after)."""
        out: dict[str, Any] = {
            "payloadType": self.payload_type,
            "payload": self.payload,
            "signatures": [_signature_dict(s) for s in self.signatures],
        }
        if self.model_extra:
            for key, value in self.model_extra.items():
                out.setdefault(key, value)
        return out

    def to_json(self) -> bytes:
        """Compact JSON exactly as go-securesystemslib's ``json.Marshal`` writes it."""
        return dumps_go(self.to_dict())


def _signature_dict(signature: Signature) -> dict[str, Any]:
    out: dict[str, Any] = {"keyid": signature.keyid, "sig": signature.sig}
    if signature.model_extra:
        for key, value in signature.model_extra.items():
            out.setdefault(key, value)
    return out


_FIELD_NAMES = {"payload_type": "payloadType"}


def _input_error(error: ValidationError, source: str | None) -> InputError:
    first = error.errors(include_url=False)[0]
    parts: list[str | int] = [
        _FIELD_NAMES.get(part, part) if isinstance(part, str) else part for part in first["loc"]
    ]
    kind = first["type"]
    if kind == "json_invalid":
        message = f"invalid JSON: {first['msg'].removeprefix('Invalid JSON: ')}"
        return InputError(message, field="(envelope)", source=source)
    if kind == "missing":
        message = "required field is missing"
    elif kind == "value_error":
        cause = first.get("ctx", {}).get("error")
        message = str(cause) if cause is not None else first["msg"]
        if isinstance(cause, _FieldError):
            parts.append(cause.field)
    elif kind in ("model_type", "dict_type") and not parts:
        return InputError("expected a JSON object", field="(envelope)", source=source)
    else:
        message = first["msg"].replace("valid tuple", "valid array")
    where = field_path(*parts) if parts else "(envelope)"
    return InputError(message, field=where, source=source)
