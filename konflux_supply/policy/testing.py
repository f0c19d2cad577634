"""``konflux-supply policy test``: run the ``test_*`` rules of any Rego tree, like ``opa test``.

A test passes when its rule is defined and not ``false``. Tests run on the embedded engine in
worker processes, **one engine per test file**: the file and every module it reaches through
``data.…`` references and imports, transitively (modules of a referenced package, of packages
under it, and of its own package). regorus refuses a whole engine when one module in it does
not compile (reference/conforma.md §6), so a module it cannot handle fails only the tests that
reach it, not the whole tree; and a test that crashes or hangs the engine is an error for that
test only (the worker is replaced and the file's remaining tests go on).

A module that does not parse, calls a refused builtin, or defines a recursive function is a
*compile error* (file and line) and makes the run exit 2; so is an error regorus raises from its
static analysis when a test runs (an unknown function, an unsafe or undefined variable, a
recursion between rules): ``opa test`` reports those at compile time. The tests it breaks are
errors too. ``ec.*`` builtins are offline stubs
(always undefined) so policies load and tests can mock them with ``with ec.oci.blob as mock``.
Data files (``--data``) are merged at the root of ``data``, as Conforma merges data sources.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from konflux_supply.errors import InputError, KonfluxSupplyError
from konflux_supply.policy import _capabilities, _regorus, _workers
from konflux_supply.policy._ec_names import EC_BUILTIN_ARITIES
from konflux_supply.policy._types import ParsedModule
from konflux_supply.policy.engine import BuiltinFunction, Builtins, Module

__all__ = [
    "OFFLINE_EC_BUILTINS",
    "CompileProblem",
    "TestReport",
    "TestResult",
    "load_data",
    "offline_builtins",
    "run_tests",
]

#: Conforma's ``ec.*`` builtins and their argument counts.
OFFLINE_EC_BUILTINS: Mapping[str, int] = EC_BUILTIN_ARITIES


def _undefined(*_args: Any) -> None:
    return None


def conforma_offline_builtins(_context: Any = None) -> dict[str, BuiltinFunction]:
    """``ec.*`` as ``ec opa test`` sees them without network: undefined, ``ec.purl.*`` real."""
    from konflux_supply.policy import _conformance

    table: dict[str, BuiltinFunction] = _conformance.offline_builtins()
    return table


def offline_builtins(_context: Any = None) -> dict[str, BuiltinFunction]:
    """Every ``ec.*`` builtin as a stub that is always undefined (a builtins factory)."""
    return {name: (nargs, _undefined) for name, nargs in OFFLINE_EC_BUILTINS.items()}


@dataclass(frozen=True)
class TestResult:
    """One test rule's outcome; ``duration_ns`` is the evaluation's wall time."""

    package: str
    name: str
    file: str
    line: int
    status: Literal["pass", "fail", "error"]
    reason: str | None
    duration_ns: int

    @property
    def ref(self) -> str:
        return f"data.{self.package}.{self.name}"


@dataclass(frozen=True)
class CompileProblem:
    """A module that could not be loaded."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class TestReport:
    """All results of a run and the modules that did not compile."""

    results: tuple[TestResult, ...]
    compile_errors: tuple[CompileProblem, ...]

    def counts(self) -> dict[str, int]:
        statuses = [result.status for result in self.results]
        return {
            "total": len(statuses),
            "pass": statuses.count("pass"),
            "fail": statuses.count("fail"),
            "error": statuses.count("error"),
            "compile_errors": len(self.compile_errors),
        }

    @property
    def exit_code(self) -> int:
        """2 on a compile error, 1 on any failed or erred test, else 0."""
        counts = self.counts()
        if self.compile_errors:
            return 2
        return 1 if counts["fail"] or counts["error"] else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tests": [asdict(result) for result in self.results],
            "compile_errors": [asdict(problem) for problem in self.compile_errors],
            "summary": self.counts(),
        }


def _problem(error: KonfluxSupplyError, path: str) -> CompileProblem:
    source = getattr(error, "source", None) or f"{path}:0"
    file, _, line = source.rpartition(":")
    if not line.isdigit():
        file, line = source, "0"
    return CompileProblem(file, int(line), error.message)


@dataclass
class _Group:
    test_file: str
    modules: list[ParsedModule]
    tests: list[tuple[str, str, int]]  # package, name, line


def _plan(
    modules: Sequence[Module], pattern: re.Pattern[str] | None
) -> tuple[list[_Group], list[CompileProblem]]:
    problems: list[CompileProblem] = []
    parsed: list[ParsedModule] = []
    for module in modules:
        try:
            (one,) = _regorus.parse([module])
            _capabilities.check_capabilities([one])
            _capabilities.check_recursion([one])
        except InputError as error:
            problems.append(_problem(error, module.path))
            continue
        parsed.append(one)

    def tests_of(module: ParsedModule) -> list[tuple[str, str, int]]:
        seen: dict[str, int] = {}
        for rule in module.rules:
            if rule.name.startswith("test_") and not rule.is_function:
                seen.setdefault(rule.name, rule.line)
        return [(module.package_name, name, line) for name, line in seen.items()]

    groups = []
    for current in parsed:
        tests = [
            test
            for test in tests_of(current)
            if pattern is None or pattern.search(f"data.{test[0]}.{test[1]}")
        ]
        if tests:
            groups.append(_Group(current.module.path, _closure(current, parsed), tests))
    return groups, problems


def run_tests(
    modules: Sequence[Module],
    data: Mapping[str, Any] | None = None,
    *,
    run: str | None = None,
    workers: int = 1,
    timeout: float = 60.0,
    builtins: Builtins | None = None,
    compat: bool = False,
) -> TestReport:
    """Run every ``test_*`` rule of ``modules`` (those matching the regex ``run``).

    ``compat`` runs them through :mod:`konflux_supply.policy.compat` (Rego written for
    Conforma's ``ec``, e.g. the upstream policy library and its tests): all modules are
    prepared together, then each test file is compiled with what it references; by default
    ``ec.purl.*`` are real (offline) and the other ``ec.*`` undefined, as in ``ec opa test``.
    """
    try:
        pattern = re.compile(run) if run else None
    except re.error as error:
        raise InputError(f"not a regular expression: {error}", field="run") from None
    default = conforma_offline_builtins if compat else offline_builtins
    builtins = builtins or Builtins(default)
    signatures = {name: nargs for name, (nargs, _fn) in builtins.table().items()}
    _capabilities.check_builtin_names(signatures, _regorus.standard_builtins())
    data_json = json.dumps(dict(data or {}))
    if compat:
        from konflux_supply.policy import compat as layer

        prepared = layer.prepare([(m.path, m.text) for m in modules], routed=signatures)
        modules = [Module(path, text) for path, text in prepared]
    groups, problems = _plan(modules, pattern)
    local = threading.local()
    idle: list[_workers.Worker] = []

    def run_group(group: _Group) -> tuple[list[TestResult], list[CompileProblem]]:
        worker = getattr(local, "worker", None)
        if worker is None:
            worker = local.worker = _workers.Worker(None)
            idle.append(worker)
        try:
            _capabilities.check_recursion(group.modules)
        except InputError as error:
            return [], [_problem(error, group.test_file)]
        spec = _regorus.CompileSpec(
            modules=tuple(m.module for m in group.modules),
            data_json=data_json,
            builtins=builtins,
            signatures=signatures,
            parsed=tuple(group.modules),
            compat=compat,
        )
        return _run_group(worker, spec, group, timeout)

    results: list[TestResult] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for group_results, group_problems in pool.map(run_group, groups):
                results.extend(group_results)
                problems.extend(group_problems)
                for result in group_results:
                    problem = _compile_class(result.reason) if result.status == "error" else None
                    if problem is not None:
                        problems.append(problem)
    finally:
        for worker in idle:
            worker.close()
    unique = sorted(set(problems), key=lambda p: (p.file, p.line, p.message))
    return TestReport(tuple(results), tuple(unique))


def _run_group(
    worker: _workers.Worker, spec: _regorus.CompileSpec, group: _Group, timeout: float
) -> tuple[list[TestResult], list[CompileProblem]]:
    results: list[TestResult] = []
    remaining = list(group.tests)
    while remaining:
        refs = [_regorus.rego_ref((*package.split("."), name)) for package, name, _ in remaining]
        by_ref = dict(zip(refs, remaining, strict=True))
        try:
            for _tag, ref, kind, value, duration in worker.stream("tests", (spec, refs), timeout):
                package, name, line = by_ref[ref]
                status, reason = _verdict(kind, value)
                results.append(
                    TestResult(package, name, group.test_file, line, status, reason, duration)
                )
                remaining.remove(by_ref[ref])
            return results, []
        except InputError as error:
            problem = _problem(error, group.test_file)
            for package, name, line in remaining:
                results.append(
                    TestResult(
                        package,
                        name,
                        group.test_file,
                        line,
                        "error",
                        f"does not compile: {problem}",
                        0,
                    )
                )
            return results, [problem]
        except KonfluxSupplyError as error:
            package, name, line = remaining.pop(0)
            results.append(
                TestResult(package, name, group.test_file, line, "error", error.message, 0)
            )
    return results, []


def _closure(start: ParsedModule, parsed: Sequence[ParsedModule]) -> list[ParsedModule]:
    """``start`` and every module it reaches through ``data.…`` references, transitively."""
    included = {start.module.path}
    todo = [start]
    while todo:
        module = todo.pop()
        for other in parsed:
            if other.module.path in included:
                continue
            package = other.package
            if package == module.package or any(
                ref[: len(package)] == package or package[: len(ref)] == ref
                for ref in module.data_refs
            ):
                included.add(other.module.path)
                todo.append(other)
    return [module for module in parsed if module.module.path in included]


#: regorus messages that come from its static analysis: compile errors in OPA's terms
_COMPILE_CLASS = re.compile(
    r"could not find function|used before definition|use of undefined variable|is unsafe"
    r"|undefined rule|recursion detected|expecting |binding plan not found"
)
_LOCATED = re.compile(r"(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<message>.+)$")


def _compile_class(reason: str | None) -> CompileProblem | None:
    if not reason or not _COMPILE_CLASS.search(reason):
        return None
    located = _LOCATED.search(reason.removeprefix("policy evaluation failed: "))
    if located is None:
        return None
    return CompileProblem(located["file"], int(located["line"]), located["message"])


def _verdict(kind: str, value: Any) -> tuple[Literal["pass", "fail", "error"], str | None]:
    if kind == "error":
        return "error", str(value)
    if value is None:
        return "fail", "undefined"
    if value is False:
        return "fail", "false"
    return "pass", None


def load_data(paths: Iterable[str | Path]) -> dict[str, Any]:
    """JSON and YAML files under ``paths`` merged at the root of one document."""
    merged: dict[str, Any] = {}
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".yaml", ".yml"))
        elif path.is_file():
            files = [path]
        else:
            raise InputError("no such file or directory", source=str(path))
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
                document = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
            except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
                message = str(error).split("\n")[0]
                raise InputError(
                    f"not a JSON/YAML data file: {message}", source=str(file)
                ) from None
            if document is None:
                continue
            if not isinstance(document, dict):
                raise InputError("a data file must hold an object", source=str(file))
            _merge(merged, document, str(file))
    return merged


def _merge(target: dict[str, Any], extra: Mapping[str, Any], source: str, prefix: str = "") -> None:
    for key, value in extra.items():
        if key in target and isinstance(target[key], dict) and isinstance(value, dict):
            _merge(target[key], value, source, f"{prefix}{key}.")
        elif key in target and target[key] != value:
            raise InputError(
                "conflicts with another data file", field=f"{prefix}{key}", source=source
            )
        else:
            target[key] = value
