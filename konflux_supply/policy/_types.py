"""Plain types shared by the engine modules (kept apart so that no module imports in a circle).

:mod:`.engine` re-exports the public ones (:class:`Module`, :class:`Builtins`, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BuiltinFunction",
    "Builtins",
    "BuiltinsFactory",
    "Call",
    "EngineResult",
    "Module",
    "ParsedModule",
    "RuleSummary",
]

#: Raw engine output for one input: ``{package: {"deny": [...], "warn": [...]}}``.
EngineResult = dict[str, dict[str, list[Any]]]

#: One custom builtin: ``(number of arguments, function)``. ``None`` returned means undefined.
BuiltinFunction = tuple[int, Callable[..., Any]]

#: Builds the builtins table from a context, inside a worker process (must be picklable).
BuiltinsFactory = Callable[[Any], Mapping[str, BuiltinFunction]]


@dataclass(frozen=True)
class Module:
    """One Rego source file; ``path`` names it in error messages (``path:line``)."""

    path: str
    text: str


@dataclass(frozen=True)
class Builtins:
    """Custom builtins: ``factory(context)`` returns ``{name: (nargs, fn)}``.

    ``factory`` and ``context`` must be picklable (a module-level function and a small object):
    the table is built inside each worker process, once per evaluation with the context passed
    to :meth:`Engine.evaluate` (so memoisation never outlives a component), or with ``context``
    here when none is passed. The names and argument counts must not change between contexts.
    """

    factory: BuiltinsFactory
    context: Any = None

    def table(self, context: Any = None) -> Mapping[str, BuiltinFunction]:
        """The builtins for ``context`` (or the default context)."""
        return self.factory(self.context if context is None else context)


@dataclass(frozen=True)
class Call:
    """A call site: the callee as written (``("lib", "f")``) and its line."""

    target: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class RuleSummary:
    """One rule or function definition: head name (first segment), line and calls in it."""

    name: str
    line: int
    is_function: bool
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class ParsedModule:
    """What the static checks and the collection query need from one module."""

    module: Module
    package: tuple[str, ...]
    package_end: int
    imports: Mapping[str, tuple[str, ...]]
    rules: tuple[RuleSummary, ...]
    roots: frozenset[str]
    #: static prefixes of every ``data.…`` reference (imports included), without ``data``
    data_refs: frozenset[tuple[str, ...]] = frozenset()

    @property
    def package_name(self) -> str:
        return ".".join(self.package)
