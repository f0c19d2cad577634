"""The embedded Rego engine: cold compile and warm evaluation per input, against bare regorus.

Policy: 12 packages of our own (generated here), each with three deny rules and one warn rule over
``input.attestations`` and ``input.image``, reading rule data and formatting messages with
``sprintf`` — the shape of a release policy library. Input: Conforma's captured
``policy-input-golden-container.json`` (185 KB) from ``$KONFLUX_SUPPLY_PEERS`` when present,
else a synthetic input of the same shape.

Rows (wall time per call, median; the worker's CPU is not this process's CPU):

* ``bare regorus: set input + one query`` — the floor: one in-process engine, the same collection
  query, no isolation.
* ``RegorusEngine workers=0: evaluate`` — our wrapper in process (clone, builtins, merge).
* ``RegorusEngine workers=1: evaluate`` — the default: a worker process, IPC round trip.
  Target: a few ms warm.
* ``RegorusEngine workers=1: cold (load + first evaluate)`` — parse, checks, worker start,
  compile, one evaluation; baseline: bare regorus engine build + first query.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import Result
from konflux_supply.policy import Module, RegorusEngine, _regorus

REPO = Path(__file__).resolve().parent.parent
PACKAGES = 12


def _modules() -> list[Module]:
    modules = []
    for n in range(PACKAGES):
        text = f"""package release.bench{n}

import rego.v1

deny contains result if {{
\tsome att in input.attestations
\tnot att.statement.predicateType in data.rule_data.allowed_predicate_types
\tkind := att.statement.predicateType
\tresult := {{"code": "bench{n}.predicate", "msg": sprintf("predicate %s", [kind])}}
}}

deny contains result if {{
\tsome att in input.attestations
\tbuilder := object.get(att.statement.predicate, ["builder", "id"], "")
\tnot builder in data.rule_data.allowed_builder_ids
\tresult := {{"code": "bench{n}.builder", "msg": sprintf("builder %q not allowed", [builder])}}
}}

deny contains result if {{
\tcount(input.attestations) == 0
\tresult := {{"code": "bench{n}.none", "msg": "no attestations"}}
}}

warn contains result if {{
\tsome att in input.attestations
\tsome task in object.get(att.statement.predicate, ["buildConfig", "tasks"], [])
\tnot startswith(object.get(task, ["ref", "bundle"], "oci://"), "quay.io/")
\tresult := {{"code": "bench{n}.task", "msg": sprintf("task %s", [object.get(task, "name", "")])}}
}}
"""
        modules.append(Module(f"bench/bench{n}.rego", text))
    return modules


DATA = {
    "rule_data": {
        "allowed_predicate_types": ["https://slsa.dev/provenance/v0.2"],
        "allowed_builder_ids": ["https://tekton.dev/chains/v2"],
    }
}


def _input() -> Any:
    root = Path(os.environ.get("KONFLUX_SUPPLY_PEERS") or REPO.parent / "shared" / "peers")
    sample = root / "conforma/policy/acceptance/samples/policy-input-golden-container.json"
    if sample.is_file():
        return json.loads(sample.read_text())
    tasks = [
        {
            "name": f"task-{i}",
            "ref": {"bundle": f"{'quay.io' if i % 3 else 'ghcr.io'}/t/{i}@sha256:{i:064x}"},
        }
        for i in range(60)
    ]
    statement = {
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {
            "builder": {"id": "https://tekton.dev/chains/v2"},
            "buildConfig": {"tasks": tasks},
        },
    }
    return {"attestations": [{"statement": statement}], "image": {"ref": "quay.io/x@sha256:0"}}


def _wall(fn: Callable[[], object], *, min_seconds: float, samples: int) -> float:
    fn()
    per_call = []
    for _ in range(samples):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            fn()
            calls += 1
        per_call.append((time.perf_counter() - start) / calls)
    return statistics.median(per_call)


def _bare(modules: list[Module], query: str) -> Any:
    import regorus

    engine = regorus.Engine()
    # regorus' default limits reject a long one-line query (the collection query is one line)
    engine.set_policy_length_config(max_col=1_000_000, max_file_bytes=1 << 26, max_lines=1_000_000)
    for module in modules:
        engine.add_policy(module.path, module.text)
    engine.add_data_json(json.dumps(DATA))
    return engine


def run(quick: bool) -> list[Result]:
    min_seconds, samples = (0.1, 3) if quick else (0.5, 5)
    modules = _modules()
    document = _input()
    encoded = json.dumps(document)
    query = _regorus.collection_query(_regorus.parse(modules))
    bare = _bare(modules, query)

    def bare_eval() -> None:
        engine = bare.clone()
        engine.set_input_json(encoded)
        engine.eval_query_as_json(query)

    floor = _wall(bare_eval, min_seconds=min_seconds, samples=samples)
    base = "bare regorus: set input + one query"
    results = [Result(base, floor)]
    with RegorusEngine(modules, DATA, workers=0) as local:
        per = _wall(lambda: local.evaluate(document), min_seconds=min_seconds, samples=samples)
        results.append(Result("RegorusEngine workers=0: evaluate", per, base, floor))
    with RegorusEngine(modules, DATA, workers=1) as pooled:
        answer = pooled.evaluate(document)
        per = _wall(lambda: pooled.evaluate(document), min_seconds=min_seconds, samples=samples)
        findings = sum(len(v["deny"]) + len(v["warn"]) for v in answer.values())
        results.append(
            Result(
                "RegorusEngine workers=1: evaluate",
                per,
                base,
                floor,
                extra={"findings": findings, "input_bytes": len(encoded)},
            )
        )

    def bare_cold() -> None:
        engine = _bare(modules, query)
        engine.set_input_json(encoded)
        engine.eval_query_as_json(query)

    def cold() -> None:
        with RegorusEngine(modules, DATA, workers=1) as engine:
            engine.evaluate(document)

    cold_floor = statistics.median(_timed(bare_cold) for _ in range(samples))
    cold_ours = statistics.median(_timed(cold) for _ in range(samples))
    results.append(Result("bare regorus: cold (build + first query)", cold_floor))
    results.append(
        Result(
            "RegorusEngine workers=1: cold (load + first evaluate)",
            cold_ours,
            "bare regorus: cold (build + first query)",
            cold_floor,
        )
    )
    return results


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
