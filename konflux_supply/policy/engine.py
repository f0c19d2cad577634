"""Rego engines behind one small interface: embedded regorus (default) and a remote OPA server.

An engine is built once from Rego :class:`Module` s and a data document, then evaluates any
number of ``input`` documents. Every evaluation gathers, in one query, the ``deny`` and ``warn``
results of every package (:data:`EngineResult`)::

    {"release.attestation_type": {"deny": [...], "warn": [...]}, "main": {...}}

``deny`` gathers every ``deny``, ``deny_*``, ``violation`` and ``violation_*`` rule of the
package, ``warn`` every ``warn`` and ``warn_*`` rule, each element as Rego produced it.

Loading refuses, with the file and line (:class:`~konflux_supply.errors.InputError`): Rego that
does not parse, network and host builtins (``http.send``, ``net.lookup_ip_addr``,
``opa.runtime``), and recursive functions (regorus would crash on them; OPA refuses them too).
An evaluation that could not run — a Rego error, a crash, a panic, a timeout — raises
:class:`~konflux_supply.errors.PolicyError`: never an empty (passing) result.

Custom builtins (the ``ec.*`` functions) come from a picklable :class:`Builtins` factory that is
called inside each worker process; a builtin returning ``None`` is *undefined* in Rego, and
tests can mock it with ``with ec.oci.blob as mock``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from konflux_supply.errors import InputError
from konflux_supply.policy._types import (
    BuiltinFunction,
    Builtins,
    BuiltinsFactory,
    EngineResult,
    Module,
)

__all__ = [
    "BuiltinFunction",
    "Builtins",
    "BuiltinsFactory",
    "Engine",
    "EngineResult",
    "Module",
    "OpaEngine",
    "RegorusEngine",
    "read_modules",
]


class Engine(Protocol):
    """What release evaluation needs from a Rego engine."""

    @property
    def packages(self) -> tuple[str, ...]:
        """Packages whose ``deny``/``warn`` rules every evaluation gathers (dotted paths)."""
        ...

    def evaluate(self, input: Any, *, builtins_context: Any = None) -> EngineResult:
        """Evaluate every package's deny/warn rules on ``input``; raise ``PolicyError`` if not."""
        ...

    def close(self) -> None:
        """Release workers and connections (idempotent)."""
        ...


@dataclass(eq=False)
class RegorusEngine:
    """The embedded engine: regorus in worker processes.

    Modules and data are compiled once per worker; each evaluation only swaps the input.
    ``workers`` processes (at least one) evaluate concurrently when :meth:`evaluate` is called
    from several threads; ``workers=0`` evaluates in this process (no crash isolation: only for
    callers that isolate evaluation themselves). ``timeout`` (seconds) bounds one evaluation;
    ``memory_limit_mb`` caps each worker's address space. A crashed, panicked or timed-out
    worker is replaced for the next evaluation.

    ``compat`` runs Rego written for OPA/Conforma (``ec``) unmodified: the modules go through
    :func:`konflux_supply.policy.compat.prepare` (``ec.*`` calls routed through Rego
    functions, so ``with ec.x as mock`` still works) and every worker registers
    :func:`~konflux_supply.policy.compat.extensions`. :func:`uses_conforma_idioms` tells
    whether a policy needs it (docs/conforma-compatibility.md).

    ``fold`` (default: on with ``compat``) evaluates the rules that cannot depend on the input
    once per worker, at load, instead of once per evaluation: Conforma's library spends a
    third of its time re-deriving its trusted-task and rule-data tables for every component
    (ADR 0085). The answers are the same; only the work moves.
    """

    modules: Sequence[Module]
    data: Mapping[str, Any] = field(default_factory=dict)
    builtins: Builtins | None = None
    workers: int = 1
    timeout: float = 60.0
    memory_limit_mb: int | None = None
    compat: bool = False
    fold: bool | None = None
    _check_recursion: bool = field(default=True, repr=False)

    def __post_init__(self) -> None:
        from konflux_supply.policy import _regorus, _workers

        names = _builtin_signatures(self.builtins)
        modules = tuple(self.modules)
        if self.compat:
            from konflux_supply.policy import compat

            # line numbers are kept and a module that does not parse comes back unchanged:
            # the analysis below reports problems at the author's file and line
            prepared = compat.prepare([(m.path, m.text) for m in modules], routed=names)
            modules = tuple(Module(path, text) for path, text in prepared)
        fold = self.compat if self.fold is None else self.fold
        parsed, plan = _regorus.analyse_and_plan(
            modules, names, check_recursion=self._check_recursion, fold=fold
        )
        self._packages = _regorus.collected_packages(parsed)
        spec = _regorus.CompileSpec(
            modules=modules,
            data_json=_data_json(self.data),
            builtins=self.builtins,
            signatures=names,
            parsed=tuple(parsed),
            compat=self.compat,
            fold=plan,
        )
        self._pool = _workers.make_pool(
            spec, workers=self.workers, timeout=self.timeout, memory_limit_mb=self.memory_limit_mb
        )

    @property
    def packages(self) -> tuple[str, ...]:
        return self._packages

    def evaluate(
        self,
        input: Any,
        *,
        builtins_context: Any = None,
        packages: Iterable[str] | None = None,
    ) -> EngineResult:
        """Evaluate every package's deny/warn rules on ``input`` (see the module docstring);
        with ``packages``, only those packages' rules (the others are not evaluated)."""
        only = None if packages is None else frozenset(packages)
        return self._pool.collect(_input_json(input), builtins_context, only)

    def evaluate_many(
        self, inputs: Iterable[Any], *, builtins_context: Any = None
    ) -> list[EngineResult]:
        """Evaluate several inputs across the workers; the first error is raised."""
        from concurrent.futures import ThreadPoolExecutor

        items = list(inputs)
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            return list(
                pool.map(lambda item: self.evaluate(item, builtins_context=builtins_context), items)
            )

    def query(self, ref: str, input: Any = None, *, builtins_context: Any = None) -> Any:
        """The value of one rule (``data.pkg.rule``), ``None`` when undefined."""
        encoded = None if input is None else _input_json(input)
        return self._pool.query(ref, encoded, builtins_context)

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> RegorusEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OpaEngine:
    """A remote OPA server at ``url`` (``http://host:port``) as the engine.

    Policies (``PUT /v1/policies``) and data (``PUT /v1/data``) are pushed once; each evaluation
    is one query. What it cannot do: custom builtins (``ec.*``) run only in this process, so
    policies that call them are refused up front (``InputError``); the server's data document is
    replaced, so one OPA server serves one engine at a time; there is no crash isolation to
    give (the server is another process), and a server that cannot answer is a ``PolicyError``.
    """

    def __init__(
        self,
        modules: Sequence[Module],
        data: Mapping[str, Any] | None = None,
        *,
        url: str,
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        from konflux_supply.policy import _opa

        self._remote = _opa.RemoteOpa(modules, data or {}, url=url, timeout=timeout, token=token)

    @property
    def packages(self) -> tuple[str, ...]:
        packages: tuple[str, ...] = self._remote.packages
        return packages

    def evaluate(self, input: Any, *, builtins_context: Any = None) -> EngineResult:
        """Evaluate every package's deny/warn rules on ``input`` on the OPA server."""
        result: EngineResult = self._remote.evaluate(input)
        return result

    def query(self, ref: str, input: Any = None) -> Any:
        """The value of one rule (``data.pkg.rule``), ``None`` when undefined."""
        return self._remote.query(ref, input)

    def close(self) -> None:
        self._remote.close()

    def __enter__(self) -> OpaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_modules(paths: Iterable[str | Path]) -> list[Module]:
    """Every ``*.rego`` file under ``paths`` (files or directories), sorted, as :class:`Module`."""
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.rego") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise InputError("no such file or directory", source=str(path))
    modules = []
    for path in found:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read Rego file: {error}", source=str(path)) from error
        modules.append(Module(str(path), text))
    return modules


def _builtin_signatures(builtins: Builtins | None) -> dict[str, int]:
    if builtins is None:
        return {}
    table = builtins.table()
    return {name: nargs for name, (nargs, _fn) in table.items()}


def _data_json(data: Mapping[str, Any]) -> str:
    try:
        return json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InputError(f"data is not a JSON document: {error}", field="data") from error


def _input_json(document: Any) -> str:
    try:
        return json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InputError(f"input is not a JSON document: {error}", field="input") from error
