"""The project's policies (collection @konflux) on one component, on the embedded engine.

Input: Conforma's captured ``policy-input-golden-container.json`` (185 KB, one SLSA v0.2
provenance with 15 tasks) from ``$KONFLUX_SUPPLY_PEERS`` (default ``../shared/peers``); without
the corpus, the SLSA v0.2 input of ``policies/lib/fixtures_test.rego`` stands in. Data: the
rule data of ``policies/examples/konflux/data``. Rows (CPU per component):

* ``cold``: a new regorus engine, load policies/ (without tests) and the data, set the input,
  evaluate every release package's ``deny`` and ``warn`` in one query.
* ``warm``: the engine already loaded; set the input and evaluate (what a worker process does
  per component). Target (issue 13): ≤ 20 ms.

Baseline, measured in the same run: a one-rule policy (``deny`` if the input has no
attestations) on an engine holding the same data, with the same input, i.e. the cost of handing
the input to the engine and querying it at all.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import regorus
import yaml

from benchmarks._harness import Result, cpu_per_call, peak_rss_mib

REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"
DATA = POLICIES / "examples" / "konflux" / "data"
WHEN_NS = 1764547200000000000  # 2025-12-01T00:00:00Z
TARGET_MS = 20.0
_TRIVIAL = "package bench\n\nimport rego.v1\n\ndeny contains 1 if count(input.attestations) == 0\n"


def _modules() -> list[tuple[str, str]]:
    return [
        (str(p.relative_to(REPO)), p.read_text())
        for p in sorted(POLICIES.rglob("*.rego"))
        if not p.name.endswith("_test.rego")
    ]


def _data() -> str:
    merged: dict[str, Any] = {"config": {"policy": {"when_ns": WHEN_NS}}}
    for path in sorted(DATA.glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()))
    return json.dumps(merged)


def _packages(modules: list[tuple[str, str]]) -> list[str]:
    found = []
    for path, text in modules:
        if path.startswith("policies/release/") and "/collection/" not in path:
            match = re.search(r"^package\s+([\w.]+)", text, re.MULTILINE)
            assert match
            found.append(match.group(1))
    return sorted(found)


def _input() -> tuple[str, str]:
    root = Path(os.environ.get("KONFLUX_SUPPLY_PEERS") or REPO.parent / "shared" / "peers")
    golden = root / "conforma/policy/acceptance/samples/policy-input-golden-container.json"
    if golden.is_file():
        return "policy-input-golden-container.json", golden.read_text()
    engine = regorus.Engine()
    for path, text in [
        *_modules(),
        ("fixtures_test.rego", (POLICIES / "lib" / "fixtures_test.rego").read_text()),
    ]:
        engine.add_policy(path, text)
    value = engine.eval_rule_as_json("data.supply.lib.fixtures_test.input_v02")
    return "policies/lib/fixtures_test.rego input_v02 (peer corpus absent)", value


def run(quick: bool) -> list[Result]:
    timing: dict[str, Any] = {"min_seconds": 0.05, "samples": 3} if quick else {}
    modules, data = _modules(), _data()
    packages = _packages(modules)
    # One query per component: a wrapper rule over every package's deny and warn (one entry
    # per line: regorus rejects very long lines by default).
    lines = [f'\tobject.get(data.{p}, "{k}", []),' for p in packages for k in ("deny", "warn")]
    wrapper = "package bench_all\n\nimport rego.v1\n\nresults := [\n" + "\n".join(lines) + "\n]\n"
    source, policy_input = _input()

    def loaded() -> Any:
        engine = regorus.Engine()
        for path, text in [*modules, ("bench_all.rego", wrapper)]:
            engine.add_policy(path, text)
        engine.add_data_json(data)
        return engine

    def evaluate(engine: Any) -> list[Any]:
        engine.set_input_json(policy_input)
        results: list[Any] = json.loads(engine.eval_rule_as_json("data.bench_all.results"))
        return results

    warm_engine = loaded()
    findings = sum(len(r) for r in evaluate(warm_engine))
    trivial = regorus.Engine()
    trivial.add_policy("bench.rego", _TRIVIAL)
    trivial.add_data_json(data)

    def baseline() -> object:
        trivial.set_input_json(policy_input)
        return trivial.eval_query_as_json("data.bench.deny")

    floor = cpu_per_call(baseline, **timing)
    warm = cpu_per_call(lambda: evaluate(warm_engine), **timing)
    cold = cpu_per_call(lambda: evaluate(loaded()), **timing)
    extra = {
        "input": source,
        "input_bytes": len(policy_input),
        "packages": len(packages),
        "results": findings,
        "target_warm_ms": TARGET_MS,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    baseline_name = "one-rule policy, same input and data"
    return [
        Result("policies @konflux, warm (engine loaded)", warm, baseline_name, floor, extra),
        Result("policies @konflux, cold (new engine, load, evaluate)", cold, baseline_name, floor),
    ]
