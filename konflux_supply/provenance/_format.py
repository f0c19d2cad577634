"""The provenance vocabulary: formats, and the collector of what a generation reports."""

from __future__ import annotations

import enum
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.models.predicates import (
    PREDICATE_SLSA_V02,
    PREDICATE_SLSA_V1,
    STATEMENT_V01,
    STATEMENT_V1,
)

__all__ = ["DEFAULT_BUILDER_ID", "FORMATS", "Format", "Notes"]

DEFAULT_BUILDER_ID = "https://tekton.dev/chains/v2"
"""Chains' default ``builder.id``."""


class Format(enum.Enum):
    """A Chains provenance format (``artifacts.taskrun.format``)."""

    IN_TOTO = "in-toto"
    SLSA_V1 = "slsa/v1"
    SLSA_V2ALPHA3 = "slsa/v2alpha3"
    SLSA_V2ALPHA4 = "slsa/v2alpha4"

    @classmethod
    def parse(cls, value: Any) -> Format:
        """A format from its name (or a :class:`Format`); :class:`InputError` otherwise."""
        if isinstance(value, Format):
            return value
        try:
            return cls(value)
        except ValueError:
            raise InputError(
                f"unknown provenance format {value!r} (use one of: {', '.join(FORMATS)})",
                field="format",
            ) from None

    @property
    def slsa_v02(self) -> bool:
        """Statement v0.1 with a SLSA v0.2 predicate (``in-toto`` is an alias of ``slsa/v1``)."""
        return self in (Format.IN_TOTO, Format.SLSA_V1)

    @property
    def statement_type(self) -> str:
        return STATEMENT_V01 if self.slsa_v02 else STATEMENT_V1

    @property
    def predicate_type(self) -> str:
        return PREDICATE_SLSA_V02 if self.slsa_v02 else PREDICATE_SLSA_V1


FORMATS = tuple(f.value for f in Format)
"""Accepted ``format`` values (``in-toto`` is an alias of ``slsa/v1``)."""


class Notes:
    """What one generation collects besides the statement: the format it makes, and the
    warnings about what was dropped (in order, each once)."""

    __slots__ = ("_warnings", "format")

    def __init__(self, format: Format = Format.SLSA_V1) -> None:
        self.format = format
        self._warnings: dict[str, None] = {}

    def warn(self, message: str) -> None:
        """Record a warning (a repeated one is kept once)."""
        self._warnings.setdefault(message, None)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self._warnings)
