"""The policy engine benchmark still runs (a smoke test: nothing is timed against a target)."""

from __future__ import annotations

from benchmarks import bench_policy_engine


def test_policy_engine_benchmark_runs_and_reports_ratios() -> None:
    results = bench_policy_engine.run(quick=True)
    assert {r.name for r in results} >= {
        "RegorusEngine workers=1: evaluate",
        "RegorusEngine workers=1: cold (load + first evaluate)",
    }
    assert all(r.per_call > 0 for r in results)
    assert sum(r.ratio is not None for r in results) == 3
