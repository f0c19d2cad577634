"""The CPU benchmarks still run (a smoke test: nothing here is timed or compared to a target).

The registry and SBOM benchmarks start services or take minutes; they run with ``make bench``.
"""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["policies", "provenance", "provenance_sign", "signing"])
def test_cpu_benchmark_runs_and_reports_ratios(name: str) -> None:
    module = importlib.import_module(f"benchmarks.bench_{name}")
    results = module.run(quick=True)
    assert results
    for result in results:
        assert result.per_call > 0, result.name
    assert any(result.ratio is not None for result in results)
