"""Run Conforma's own policy tests (``policy/lib``, ``policy/release``) on the embedded engine.

Like the upstream ``make test`` (``ec opa test example/data/rule_data.yml policy checks`` with
no network): ``example/data/rule_data.yml`` is merged at the root of ``data``; ``ec.*``
builtins are offline (undefined) except ``ec.purl.*``, which need no network. Each test file
runs in its own engine, in its own worker process, with the library modules, the non-test
modules of its own directory, and the test modules of packages it uses: one module regorus
cannot compile fails only the tests that need it, and a crash or hang fails only one file.

A test passes when its rule is defined and not ``false`` (as ``opa test``).
"""

from __future__ import annotations

import json
import multiprocessing
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from konflux_supply.policy import _compat_metadata, compat
from konflux_supply.policy._ec_names import EC_BUILTIN_ARITIES

__all__ = ["ConformanceResult", "discover", "run", "summary"]

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST = re.compile(r"^(test_\w+)\b", re.MULTILINE)
_USES = re.compile(r"\bdata\.((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*_test)\b")
_PRIVATE = "konflux_conformance_ext__"

#: Conforma's ``ec.*`` builtins and their argument counts .
EC_BUILTINS: Mapping[str, int] = EC_BUILTIN_ARITIES

Status = Literal["pass", "fail", "error"]


@dataclass(frozen=True)
class ConformanceResult:
    """One upstream ``test_*`` rule on the embedded engine."""

    package: str
    name: str
    file: str
    line: int
    status: Status
    reason: str | None


@dataclass(frozen=True)
class _Job:
    file: str
    package: str
    tests: tuple[tuple[str, int], ...]
    modules: tuple[tuple[str, str], ...]
    data_json: str


def _package(text: str) -> str:
    match = _PACKAGE.search(text)
    return match.group(1) if match else ""


def _tests(text: str) -> tuple[tuple[str, int], ...]:
    seen: dict[str, int] = {}
    for match in _TEST.finditer(text):
        seen.setdefault(match.group(1), text.count("\n", 0, match.start()) + 1)
    return tuple(seen.items())


def discover(root: Path, trees: Sequence[str] = ("policy/lib", "policy/release")) -> list[Path]:
    """The test files (``*_test.rego``) of ``trees`` under an upstream checkout ``root``."""
    files: list[Path] = []
    for tree in trees:
        files.extend(sorted((root / tree).rglob("*_test.rego")))
    return files


def load_rule_data(root: Path) -> dict[str, Any]:
    """``example/data/rule_data.yml`` as OPA loads it (YAML through JSON: dates stay strings)."""
    path = root / "example" / "data" / "rule_data.yml"
    value = yaml.load(path.read_text(), Loader=_compat_metadata.DataYamlLoader)
    return dict(value or {})


def ec_support_module(builtins: Mapping[str, int] = EC_BUILTINS) -> list[tuple[str, str]]:
    """Rego functions ``data.ec.*`` over private extensions (``null`` means undefined)."""
    packages: dict[str, list[str]] = {}
    for name, nargs in sorted(builtins.items()):
        package, _, short = name.rpartition(".")
        args = ", ".join(f"a{i}" for i in range(nargs))
        private = _PRIVATE + name.replace(".", "__")
        packages.setdefault(package, []).append(
            f"{short}({args}) := r if {{\n\tr := {private}({args})\n\tr != null\n}}\n"
        )
    return [
        (f"<ec builtins {package}>", f"package {package}\n\n" + "\n".join(functions))
        for package, functions in packages.items()
    ]


def _purl_parse(text: Any) -> Any:
    from packageurl import PackageURL

    if not isinstance(text, str):
        return None
    try:
        purl = PackageURL.from_string(text)
    except ValueError:
        return None
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    return {
        "type": purl.type,
        "namespace": purl.namespace or "",
        "name": purl.name,
        "version": purl.version or "",
        "qualifiers": [{"key": k, "value": v} for k, v in sorted(qualifiers.items())],
        "subpath": purl.subpath or "",
    }


def _purl_is_valid(text: Any) -> bool:
    return _purl_parse(text) is not None


def offline_builtins() -> dict[str, tuple[int, Any]]:
    """``ec.*`` as ``ec opa test`` sees them without network: undefined, PURLs real."""
    table: dict[str, tuple[int, Any]] = {
        name: (nargs, lambda *_args: None) for name, nargs in EC_BUILTINS.items()
    }
    table["ec.purl.parse"] = (1, _purl_parse)
    table["ec.purl.is_valid"] = (1, _purl_is_valid)
    return table


def _engine(job: _Job) -> Any:
    import regorus

    engine = regorus.Engine()
    engine.set_policy_length_config(max_col=1_000_000, max_file_bytes=64 << 20, max_lines=10**6)
    for name, (nargs, function) in compat.extensions().items():
        engine.add_extension(name, nargs, function)
    for name, (nargs, function) in offline_builtins().items():
        engine.add_extension(_PRIVATE + name.replace(".", "__"), nargs, function)
    for path, text in job.modules:
        engine.add_policy(path, text)
    engine.add_data_json(job.data_json)
    engine.set_gather_prints(True)
    return engine


def _one_line(error: BaseException) -> str:
    text = str(error).split("Stack backtrace:", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = next((line for line in lines if line.startswith("error:")), lines[0] if lines else "")
    where = next((line for line in lines if line.startswith("-->")), "")
    return f"{message} {where}".strip()[:400] or type(error).__name__


def _run_job(job: _Job) -> list[dict[str, Any]]:
    out = []
    reason: str | None
    try:
        engine = _engine(job)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        reason = "compile: " + _one_line(error)
        return [
            {"name": name, "line": line, "status": "error", "reason": reason}
            for name, line in job.tests
        ]
    for name, line in job.tests:
        status = "pass"
        reason = None
        try:
            answer = json.loads(engine.eval_query_as_json(f"x := data.{job.package}.{name}"))
            results = answer.get("result") or []
            if not results:
                status, reason = "fail", "undefined"
            elif results[0]["bindings"]["x"] is False:
                status, reason = "fail", "false"
            if status == "fail":
                printed = " | ".join(p.strip() for p in engine.take_prints() if p.strip())
                reason = f"{reason}: {printed[:6000]}" if printed else reason
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise
            status, reason = "error", _one_line(error)
        engine.take_prints()
        out.append({"name": name, "line": line, "status": status, "reason": reason})
    return out


def _child(job: _Job, connection: Any) -> None:
    connection.send(_run_job(job))
    connection.close()


def _jobs(root: Path, files: Sequence[Path]) -> Iterator[_Job]:
    policy_files = sorted((root / "policy").rglob("*.rego"))
    texts = {path: path.read_text() for path in policy_files}
    relative = {path: str(path.relative_to(root)) for path in policy_files}
    libraries = [
        path
        for path in policy_files
        if not path.name.endswith("_test.rego")
        and (
            relative[path].startswith("policy/lib/")
            or relative[path].startswith("policy/release/lib/")
        )
    ]
    prepared = dict(
        compat.prepare([(relative[p], texts[p]) for p in policy_files], routed=EC_BUILTINS)
    )
    support = [(compat.SUPPORT_MODULE_PATH, prepared[compat.SUPPORT_MODULE_PATH])]
    support += ec_support_module()
    packages = {path: _package(texts[path]) for path in policy_files}
    data_json = json.dumps(load_rule_data(root))
    for test_file in files:
        chosen = set(libraries)
        chosen.update(
            p for p in test_file.parent.glob("*.rego") if not p.name.endswith("_test.rego")
        )
        chosen.add(test_file)
        pending = [test_file]
        while pending:
            current = pending.pop()
            for used in set(_USES.findall(texts[current])) | {packages[current]}:
                for path in policy_files:
                    if packages[path] == used and path not in chosen:
                        chosen.add(path)
                        pending.append(path)
        modules = tuple((relative[p], prepared[relative[p]]) for p in sorted(chosen)) + tuple(
            support
        )
        yield _Job(
            relative[test_file], packages[test_file], _tests(texts[test_file]), modules, data_json
        )


def run(
    root: Path,
    *,
    files: Sequence[Path] | None = None,
    jobs: int = 2,
    timeout: float = 300.0,
) -> list[ConformanceResult]:
    """Every ``test_*`` rule of the upstream checkout ``root``, one worker process per file."""
    context = multiprocessing.get_context("fork")
    todo = list(_jobs(root, files if files is not None else discover(root)))
    results: list[ConformanceResult] = []
    running: list[tuple[_Job, Any, Any, float]] = []

    def finish(job: _Job, rows: list[dict[str, Any]] | None, why: str) -> None:
        if rows is None:
            rows = [
                {"name": n, "line": ln, "status": "error", "reason": why} for n, ln in job.tests
            ]
        for row in rows:
            results.append(ConformanceResult(package=job.package, file=job.file, **row))

    while todo or running:
        while todo and len(running) < jobs:
            job = todo.pop(0)
            parent, child = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(job, child), daemon=True)
            process.start()
            child.close()
            running.append((job, process, parent, time.monotonic()))
        for entry in list(running):
            job, process, parent, started = entry
            if parent.poll(0.05):
                try:
                    finish(job, parent.recv(), "")
                except EOFError:
                    finish(job, None, f"engine crashed (exit {process.exitcode})")
                process.join()
                running.remove(entry)
            elif not process.is_alive():
                process.join()
                try:  # it may have sent its answer between the poll and now
                    rows = parent.recv() if parent.poll(0) else None
                except EOFError:
                    rows = None
                finish(job, rows, f"engine crashed (exit {process.exitcode})")
                running.remove(entry)
            elif time.monotonic() - started > timeout:
                process.kill()
                process.join()
                finish(job, None, f"timed out after {timeout:.0f} s")
                running.remove(entry)
    return sorted(results, key=lambda r: (r.file, r.line))


def summary(results: Iterable[ConformanceResult]) -> dict[str, Any]:
    """``{total, pass, fail, error, pass_rate, results: [...]}`` (the ``--output json`` shape)."""
    rows = [asdict(r) for r in results]
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("pass", "fail", "error")}
    total = len(rows)
    return {
        "total": total,
        **counts,
        "pass_rate": round(counts["pass"] / total, 4) if total else 0.0,
        "results": rows,
    }


#: The upstream commit (github.com/conforma/policy) the compatibility layer is measured on.
PINNED_COMMIT = "7211d0329e93fda0a6d6d3d33c3909fc6a7681ca"
#: Environment variable naming an upstream checkout (else ``.upstream/conforma-policy``).
CHECKOUT_ENV = "KONFLUX_SUPPLY_CONFORMA_POLICY"


def find_checkout(repo_root: Path, environ: Mapping[str, str]) -> Path | None:
    """``$KONFLUX_SUPPLY_CONFORMA_POLICY``, else ``<repo>/.upstream/conforma-policy`` (if there)."""
    configured = environ.get(CHECKOUT_ENV)
    candidate = Path(configured) if configured else repo_root / ".upstream" / "conforma-policy"
    return candidate if (candidate / "policy" / "lib").is_dir() else None


def _text_report(results: Sequence[ConformanceResult], totals: Mapping[str, Any]) -> str:
    lines = [
        f"{r.status.upper()} {r.file}:{r.line} {r.package}.{r.name}: {r.reason}"
        for r in results
        if r.status != "pass"
    ]
    lines.append(
        f"{totals['pass']}/{totals['total']} upstream test rules pass "
        f"({totals['pass_rate']:.2%}); {totals['fail']} fail, {totals['error']} error"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m konflux_supply.policy._conformance CHECKOUT [--output json] [-k TEXT]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="conforma-conformance")
    parser.add_argument("checkout", type=Path, help="upstream github.com/conforma/policy checkout")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument("-k", dest="filters", action="append", default=[], help="test file filter")
    parser.add_argument("--untrusted", type=Path, help="write the untrusted packages (JSON) here")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if not (args.checkout / "policy" / "lib").is_dir():
        print(
            f"conforma-conformance: {args.checkout} is not a conforma/policy checkout",
            file=sys.stderr,
        )
        return 2
    files = discover(args.checkout)
    if args.filters:
        files = [f for f in files if any(text in str(f) for text in args.filters)]
    results = run(args.checkout, files=files, jobs=args.jobs)
    totals = summary(results)
    if args.untrusted is not None:
        untrusted = sorted(compat.untrusted_packages(totals["results"]))
        args.untrusted.write_text(json.dumps(untrusted, indent=1) + "\n")
    if args.output == "json":
        print(json.dumps(totals, indent=1))
    else:
        print(_text_report(results, totals))
    return 0 if totals["fail"] == 0 and totals["error"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
