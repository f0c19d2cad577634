"""The ``validate image`` benchmark still runs (tiny counts; nothing is compared to a target)."""

from __future__ import annotations

import pytest

from benchmarks import bench_validate

pytestmark = pytest.mark.integration


def test_validate_benchmark_runs_on_tiny_snapshots() -> None:
    results = bench_validate.run(quick=True)
    assert [r.name for r in results] == [
        "validate image: 3 components",
        "validate image: 6 components",
    ]
    for result in results:
        assert result.per_call > 0
        assert result.extra["peak_tree_rss_mib"] > 0
