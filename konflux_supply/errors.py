"""One error hierarchy for the whole library, split by who is to blame.

Every public function raises only these (foreign exceptions are wrapped), so callers can
``except KonfluxSupplyError`` once and the CLI can map each class to an exit code:

============================  ====  ==========================================================
class                         exit  meaning
============================  ====  ==========================================================
:class:`InputError`             2   the caller's input is malformed (names the field path)
:class:`VerificationError`      1   a signature, claim or policy does not hold
:class:`RegistryError`          3   a registry could not give an answer (never "unsigned")
:class:`BackendUnavailable`     3   a KMS/HSM/extra is missing or unreachable
:class:`PolicyError`            3   a policy could not be evaluated (never a pass)
============================  ====  ==========================================================
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BackendUnavailable",
    "InputError",
    "KonfluxSupplyError",
    "PolicyError",
    "RegistryError",
    "VerificationError",
    "field_path",
]


class KonfluxSupplyError(Exception):
    """Base class of every error this library raises on purpose.

    ``message`` is one line a person can act on; ``hint`` (optional) says what to do next.
    """

    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def summary(self) -> str:
        """The one line the CLI prints on stderr."""
        return self.message

    def diagnostics(self) -> str:
        """A longer, human-oriented explanation (summary plus hint)."""
        lines = [f"{self.kind}: {self.summary()}"]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class InputError(KonfluxSupplyError, ValueError):
    """Malformed or unsupported input. ``field`` is a path such as ``status.steps[2].imageID``."""

    exit_code = 2
    kind = "invalid input"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.field = field
        self.source = source

    def summary(self) -> str:
        where = ""
        if self.source and self.field:
            where = f"{self.source}: {self.field}: "
        elif self.source:
            where = f"{self.source}: "
        elif self.field:
            where = f"{self.field}: "
        return f"{where}{self.message}"


class VerificationError(KonfluxSupplyError):
    """A signature, claim or policy rule does not hold for the artifact."""

    exit_code = 1
    kind = "verification failed"


class RegistryError(KonfluxSupplyError):
    """A registry could not answer (transport error, 5xx, 429, bad bytes).

    Never to be read as "no signatures": callers must treat it as "unknown".
    """

    exit_code = 3
    kind = "registry error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.url = url
        self.code = code

    def summary(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}{' ' + self.code if self.code else ''})")
        if self.url:
            parts.append(f"at {self.url}")
        return " ".join(parts)


class BackendUnavailable(KonfluxSupplyError):
    """A signing/KMS/HSM backend or an optional extra is missing or unreachable."""

    exit_code = 3
    kind = "backend unavailable"

    @classmethod
    def missing_extra(cls, extra: str, module: str) -> BackendUnavailable:
        """The error raised when an optional dependency is not installed."""
        return cls(
            f"this feature needs the optional dependency {module!r}",
            hint=f'install it with: pip install "konflux-supply[{extra}]"',
        )


class PolicyError(KonfluxSupplyError):
    """A policy could not be loaded or evaluated. Never a pass."""

    exit_code = 3
    kind = "policy error"


def field_path(*parts: str | int) -> str:
    """Join path parts into ``a.b[2].c`` form (ints become indexes)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = part
    return out
