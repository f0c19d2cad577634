"""Conforma's full release policy (``policy/lib`` + ``policy/release``) per component on regorus.

Rows (CPU seconds; regorus is single-threaded):

* ``load``: ``compat.prepare`` of the 76 upstream modules, compile, data (``example/data``).
* ``cold``: the first evaluation on a freshly compiled policy.
* ``warm``: one more component on the compiled policy (engine clone, input swapped, one query
  for every package's ``deny`` and ``warn``). Baseline: the naive layer of reference/conforma.md
  §6 (0.6 s warm, 1.0 s cold); target ≤ 100 ms warm.

Input: the captured ``policy-input-golden-container.json`` (185 KB). Needs an upstream checkout
($KONFLUX_SUPPLY_CONFORMA_POLICY or .upstream/conforma-policy) and the peer corpus; without them
it prints why and reports nothing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from benchmarks._harness import Result, cpu_per_call

REPO = Path(__file__).resolve().parent.parent
NAIVE_WARM = 0.6
NAIVE_COLD = 1.0


def _golden() -> Path | None:
    peers = os.environ.get("KONFLUX_SUPPLY_PEERS")
    root = Path(peers) if peers else REPO.parent / "shared" / "peers"
    path = (
        root
        / "conforma"
        / "policy"
        / "acceptance"
        / "samples"
        / "policy-input-golden-container.json"
    )
    return path if path.is_file() else None


def run(quick: bool) -> list[Result]:
    from konflux_supply.policy import _conforma_release, _conformance

    checkout = _conformance.find_checkout(REPO, os.environ)
    golden = _golden()
    if checkout is None or golden is None:
        missing = "conforma/policy checkout" if checkout is None else "peer corpus (golden input)"
        print(
            f"  skipped: no {missing} (scripts/conforma-conformance --from GITDIR)", file=sys.stderr
        )
        return []
    input_json = golden.read_text()
    start = time.process_time()
    policy = _conforma_release.ReleasePolicy.from_checkout(checkout)
    load = time.process_time() - start
    start = time.process_time()
    first = policy.evaluate(input_json)
    cold = time.process_time() - start
    findings = sum(len(v.get("deny", [])) + len(v.get("warn", [])) for v in first.values())
    warm = cpu_per_call(
        lambda: policy.evaluate(input_json),
        min_seconds=0.2 if quick else 1.0,
        samples=3 if quick else 5,
    )
    extra = {"packages": len(policy.packages), "findings": findings, "target_warm_ms": 100}
    return [
        Result("conforma release policy: load (prepare + compile)", load, extra=extra),
        Result("conforma release policy: cold (first component)", cold, "naive layer", NAIVE_COLD),
        Result("conforma release policy: warm (per component)", warm, "naive layer", NAIVE_WARM),
        *run_engine(quick),
    ]


def run_engine(quick: bool) -> list[Result]:
    """The same policy through ``RegorusEngine(compat=True, workers=0)``: what ``validate``
    runs (our ``ec.*`` builtins table built per evaluation, input and result as JSON)."""
    import json

    from konflux_supply.policy import _conforma_release, _conformance
    from konflux_supply.policy.engine import Builtins, Module, RegorusEngine
    from konflux_supply.policy.testing import conforma_offline_builtins

    checkout = _conformance.find_checkout(REPO, os.environ)
    golden = _golden()
    if checkout is None or golden is None:
        return []
    modules = [Module(p, t) for p, t in _conforma_release.release_modules(checkout)]
    data = _conforma_release.example_data(checkout)
    document = json.loads(golden.read_text())
    start = time.process_time()
    engine = RegorusEngine(
        modules, data, builtins=Builtins(conforma_offline_builtins), workers=0, compat=True
    )
    load = time.process_time() - start
    try:
        start = time.process_time()
        engine.evaluate(document)
        cold = time.process_time() - start
        warm = cpu_per_call(
            lambda: engine.evaluate(document),
            min_seconds=0.2 if quick else 1.0,
            samples=3 if quick else 5,
        )
    finally:
        engine.close()
    return [
        Result("conforma release policy via RegorusEngine(compat): load", load),
        Result("conforma release policy via RegorusEngine(compat): cold", cold),
        Result("conforma release policy via RegorusEngine(compat): warm", warm),
    ]
