"""Provenance generation: runs per second per core, and the cost relative to plain JSON.

For the Chains fixtures ``taskrun1`` and ``pipelinerun1`` (with its two child TaskRuns), in each
format: CPU time of ``generate(...).to_json()`` on the parsed run, against a baseline of
``json.loads`` + ``json.dumps`` of the same run's bytes measured in this process. The Chains
corpus is read from ``$KONFLUX_SUPPLY_PEERS/chains`` (default ``../shared/peers``) when present;
otherwise the project's own build fixtures in ``fixtures/provenance/runs`` stand in.

Target (issue 2): ≥ 5,000 TaskRuns/s/core for taskrun1. Chains spends ~0.4 to 1.25 ms of CPU per
payload in Go.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from benchmarks._harness import Result, cpu_per_call
from konflux_supply import provenance

REPO = Path(__file__).resolve().parent.parent
OWN_RUNS = REPO / "fixtures" / "provenance" / "runs"
FORMATS = {
    "slsa/v1": "pipeline-v1",
    "slsa/v2alpha3": "slsa-v2alpha3",
    "slsa/v2alpha4": "slsa-v2alpha4",
}


def _peer_testdata() -> Path | None:
    root = Path(os.environ.get("KONFLUX_SUPPLY_PEERS") or REPO.parent / "shared" / "peers")
    testdata = root / "chains" / "pkg" / "chains" / "formats" / "slsa" / "testdata"
    return testdata if testdata.is_dir() else None


def _fixtures(fmt: str) -> tuple[str, dict[str, tuple[bytes, list[bytes]]]]:
    """``(source, {"taskrun1": (run bytes, []), "pipelinerun1": (run bytes, children bytes)})``."""
    testdata = _peer_testdata()
    if testdata is not None:
        folder = testdata / FORMATS[fmt]
        children = [(folder / f"taskrun{i}.json").read_bytes() for i in (1, 2)]
        return "chains corpus", {
            "taskrun1": ((folder / "taskrun1.json").read_bytes(), []),
            "pipelinerun1": ((folder / "pipelinerun1.json").read_bytes(), children),
        }

    def as_json(name: str) -> bytes:
        return json.dumps(yaml.safe_load((OWN_RUNS / name).read_text())).encode()

    children = [
        as_json(n)
        for n in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
    ]
    return "own fixtures", {
        "taskrun1": (as_json("taskrun-build-image.yaml"), []),
        "pipelinerun1": (as_json("pipelinerun-build.yaml"), children),
    }


def _baseline(run: bytes, children: list[bytes]) -> Callable[[], object]:
    documents = [run, *children]

    def parse_and_dump() -> object:
        return [json.dumps(json.loads(document)) for document in documents]

    return parse_and_dump


def run(quick: bool) -> list[Result]:
    timing: dict[str, Any] = {"min_seconds": 0.05, "samples": 3} if quick else {}
    results: list[Result] = []
    for fmt in FORMATS:
        source, fixtures = _fixtures(fmt)
        for name, (run_bytes, children_bytes) in fixtures.items():
            document = json.loads(run_bytes)
            children = [json.loads(child) for child in children_bytes]
            baseline = cpu_per_call(_baseline(run_bytes, children_bytes), **timing)
            payload = provenance.generate(document, format=fmt, children=children).to_json()

            def generate(
                document: Any = document, children: Any = children, fmt: str = fmt
            ) -> bytes:
                return provenance.generate(document, format=fmt, children=children).to_json()

            def end_to_end(
                run_bytes: bytes = run_bytes,
                children_bytes: list[bytes] = children_bytes,
                fmt: str = fmt,
            ) -> bytes:
                parsed = [json.loads(child) for child in children_bytes]
                return provenance.generate(
                    json.loads(run_bytes), format=fmt, children=parsed
                ).to_json()

            extra = {"fixtures": source, "payload_bytes": len(payload), "children": len(children)}
            results.append(
                Result(
                    f"{name} {fmt}: generate + to_json",
                    cpu_per_call(generate, **timing),
                    baseline="json.loads + json.dumps of the run",
                    baseline_per_call=baseline,
                    extra=extra,
                )
            )
            if name == "taskrun1" or fmt == "slsa/v2alpha4":
                results.append(
                    Result(
                        f"{name} {fmt}: json.loads + generate + to_json",
                        cpu_per_call(end_to_end, **timing),
                        baseline="json.loads + json.dumps of the run",
                        baseline_per_call=baseline,
                        extra={"fixtures": source},
                    )
                )
    source, fixtures = _fixtures("slsa/v2alpha4")
    run_bytes, children_bytes = fixtures["pipelinerun1"]
    document, children = json.loads(run_bytes), [json.loads(c) for c in children_bytes]

    def heaviest() -> bytes:
        return provenance.generate(
            document,
            format="slsa/v2alpha4",
            children=children,
            deep_inspection=True,
            build_type=provenance.TEKTON_BUILD_TYPE,
        ).to_json()

    results.append(
        Result(
            "pipelinerun1 slsa/v2alpha4 deep, slsa-tekton (child TaskRuns embedded)",
            cpu_per_call(heaviest, **timing),
            baseline="json.loads + json.dumps of the run",
            baseline_per_call=cpu_per_call(_baseline(run_bytes, children_bytes), **timing),
            extra={"fixtures": source, "payload_bytes": len(heaviest())},
        )
    )
    return results
