"""Pins of the exact bytes ``provenance.generate`` makes, so that refactoring cannot change them.

Each case maps to the SHA-256 of ``to_json()`` and of the warnings (or of the error, for inputs
that are refused). The pins were generated from the code as it stood when they were written
(which passed the Chains goldens and the type-hint table); any difference is a change of
output, to be justified and re-pinned on purpose::

    PYTHONPATH=. .venv/bin/python -m tests.unit.provenance.pinned   # rewrites the pin file

Cases: our own runs (``fixtures/provenance/runs``) and the type-hint table in every format and
option set; with the peer corpus present, the 34 Chains goldens, every Chains test run in every
format and option set, and the Chains e2e examples.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from konflux_supply import provenance
from konflux_supply.errors import InputError
from tests.conftest import FIXTURES, peers_root

PIN_FILE = FIXTURES / "provenance" / "pinned-statements.json"
FORMATS = ("in-toto", "slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4")
CHAINS_TESTDATA = Path("pkg/chains/formats/slsa/testdata")

Case = tuple[str, Callable[[], provenance.Statement]]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pin(make: Callable[[], provenance.Statement]) -> str:
    """``<sha256 of the bytes> <sha256 of the warnings>``, or ``error <sha256>`` when refused."""
    try:
        statement = make()
    except InputError as error:
        record = json.dumps([type(error).__name__, error.field, error.message]).encode()
        return f"error {_sha256(record)}"
    warnings = json.dumps(list(statement.warnings)).encode()
    return f"{_sha256(statement.to_json())} {_sha256(warnings)}"


def _options(fmt: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for deep in (False, True):
        build_types: tuple[str | None, ...] = (None,)
        if fmt.startswith("slsa/v2"):
            build_types = (None, provenance.TEKTON_BUILD_TYPE)
        for build_type in build_types:
            label = f"{fmt}{' deep' if deep else ''}{' tekton' if build_type else ''}"
            yield label, {"format": fmt, "deep_inspection": deep, "build_type": build_type}


def _matrix(name: str, run: Any, children: list[Any]) -> Iterator[Case]:
    for fmt in FORMATS:
        for label, options in _options(fmt):

            def make(options: dict[str, Any] = options) -> provenance.Statement:
                return provenance.generate(run, children=children, **options)

            yield f"{name} [{label}]", make


def own_cases() -> Iterator[Case]:
    """Our runs in every format and option set, and every row of the type-hint table."""
    from tests.unit.provenance import test_type_hints as table

    runs = FIXTURES / "provenance" / "runs"
    for path in sorted(runs.glob("*.yaml")):
        yield from _matrix(f"runs/{path.name}", yaml.safe_load(path.read_text()), [])
    children = [
        yaml.safe_load((runs / name).read_text())
        for name in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
    ]
    pipeline = yaml.safe_load((runs / "pipelinerun-build.yaml").read_text())
    yield from _matrix("runs/pipelinerun-build.yaml+children", pipeline, children)
    for case in table.TABLE["cases"]:
        run, kids = table.build(case)
        deep = bool(case.get("deep"))
        for fmt in FORMATS:

            def make(
                run: Any = run, kids: Any = kids, fmt: str = fmt, deep: bool = deep
            ) -> provenance.Statement:
                return provenance.generate(run, format=fmt, children=kids, deep_inspection=deep)

            yield f"type-hints/{case['name']} [{fmt}]", make


def chains_cases(root: Path) -> Iterator[Case]:
    """The Chains goldens, every Chains test run in every option set, and the e2e examples."""
    from tests.conformance import _tekton
    from tests.conformance.test_chains_provenance import CASES, E2E

    def read(relative: str | Path) -> Any:
        return json.loads((root / relative).read_text())

    for case in CASES:

        def golden(case: dict[str, Any] = case) -> provenance.Statement:
            return provenance.generate(
                read(case["input"]),
                format=case["format"],
                builder_id=case["builderId"],
                build_type=case["buildType"] or None,
                deep_inspection=case["deepInspection"],
                children=[read(child) for child in case.get("childTaskRuns", [])],
            )

        yield f"chains/golden/{case['name']}", golden
    for folder in sorted((root / CHAINS_TESTDATA).iterdir()):
        kids = [read(folder / f"taskrun{i}.json") for i in (1, 2)]
        for path in sorted(folder.glob("*.json")):
            run = read(path)
            children = kids if path.name.startswith("pipelinerun") else []
            yield from _matrix(f"chains/{folder.name}/{path.name}", run, children)
    for example, template, fmt, deep in E2E:
        run, children = _tekton.complete(yaml.safe_load((root / example).read_text()))

        def e2e(
            run: Any = run, children: Any = children, fmt: str = fmt, deep: bool = deep
        ) -> provenance.Statement:
            return provenance.generate(run, format=fmt, deep_inspection=deep, children=children)

        yield f"chains/e2e/{template}", e2e


def load_pins() -> dict[str, dict[str, str]]:
    pins: dict[str, dict[str, str]] = json.loads(PIN_FILE.read_text())
    return pins


def main() -> int:
    pins = {"own": {name: pin(make) for name, make in own_cases()}}
    root = peers_root() / "chains"
    if not root.is_dir():
        print(f"Chains corpus not found at {root}; cannot pin it", file=sys.stderr)
        return 1
    pins["chains"] = {name: pin(make) for name, make in chains_cases(root)}
    PIN_FILE.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print(f"{PIN_FILE}: {len(pins['own'])} own and {len(pins['chains'])} Chains cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
