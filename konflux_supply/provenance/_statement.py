"""The generated statement and the exact bytes Chains would sign for it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from konflux_supply.models.canonical import dumps_compact, dumps_sorted
from konflux_supply.models.intoto import ResourceDescriptor
from konflux_supply.models.intoto import Statement as StatementModel

__all__ = ["Statement"]


def encode(
    statement_type: str, subject: list[dict[str, Any]], predicate_type: str, predicate: Any
) -> bytes:
    """Chains' layout (``protojson.Marshal`` of the Statement, minus its random spaces):
    ``_type``, ``subject`` (left out when empty), ``predicateType``, ``predicate`` with every
    key sorted (a ``google.protobuf.Struct``); compact, raw UTF-8."""
    parts = [b'{"_type":', dumps_compact(statement_type)]
    if subject:
        parts += (b',"subject":', dumps_compact(subject))
    parts += (b',"predicateType":', dumps_compact(predicate_type), b',"predicate":')
    parts += (dumps_sorted(predicate), b"}")
    return b"".join(parts)


class Statement:
    """An in-toto Statement made by :func:`konflux_supply.provenance.generate`.

    The bytes are fixed when the statement is made: :meth:`to_json` returns them, and nothing
    reachable from this object can change them. ``warnings`` lists every type hint or child run
    that was dropped, and why.
    """

    __slots__ = ("_json", "_models", "_predicate", "_subject", "predicate_type", "type", "warnings")

    def __init__(
        self,
        statement_type: str,
        subject: list[dict[str, Any]],
        predicate_type: str,
        predicate: dict[str, Any],
        warnings: tuple[str, ...],
    ) -> None:
        self.type = statement_type
        self.predicate_type = predicate_type
        self.warnings = warnings
        self._subject = subject
        self._json = encode(statement_type, subject, predicate_type, predicate)
        self._predicate: dict[str, Any] | None = None
        self._models: tuple[ResourceDescriptor, ...] | None = None

    def to_json(self) -> bytes:
        """The exact bytes to sign (compact JSON, UTF-8)."""
        return self._json

    @property
    def subject(self) -> tuple[ResourceDescriptor, ...]:
        """The subjects, in the order Chains emits them (empty when no artifact was found)."""
        if self._models is None:
            self._models = tuple(
                ResourceDescriptor(name=s["name"], digest=dict(s["digest"])) for s in self._subject
            )
        return self._models

    @property
    def predicate(self) -> Mapping[str, Any]:
        """The predicate, parsed back from the signed bytes (a read-only view)."""
        if self._predicate is None:
            self._predicate = json.loads(self._json)["predicate"]
        return MappingProxyType(self._predicate)

    def to_model(self) -> StatementModel:
        """The statement parsed back with the strict model (a full validation of the output)."""
        return StatementModel.from_json(self._json)

    def __repr__(self) -> str:
        names = ", ".join(s["name"] for s in self._subject) or "no subject"
        return f"<Statement {self.predicate_type} ({names}), {len(self.warnings)} warning(s)>"
