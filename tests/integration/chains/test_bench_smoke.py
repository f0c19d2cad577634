"""The sign_run benchmark still runs (a small count; nothing here is timed or compared)."""

from __future__ import annotations

import pytest

from benchmarks import bench_sign_run

pytestmark = pytest.mark.integration


def test_sign_run_benchmark_runs_and_signs_everything() -> None:
    [bare, result] = bench_sign_run.run(count=12, threads=2)
    assert bare.per_call > 0
    assert result.extra["runs"] == 12
    assert result.extra["not_signed"] == 0
    assert result.per_call > 0
