"""Timing helpers shared by the benchmark modules."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    """One measured row: ``per_call`` seconds of CPU per call, and what it is compared to."""

    name: str
    per_call: float
    baseline: str | None = None
    baseline_per_call: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return 1.0 / self.per_call if self.per_call else float("inf")

    @property
    def ratio(self) -> float | None:
        if self.baseline_per_call:
            return self.per_call / self.baseline_per_call
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "per_call_us": round(self.per_call * 1e6, 2),
            "per_second_per_core": round(self.rate, 1),
            "baseline": self.baseline,
            "baseline_per_call_us": (
                round(self.baseline_per_call * 1e6, 2) if self.baseline_per_call else None
            ),
            "ratio_to_baseline": round(self.ratio, 3) if self.ratio is not None else None,
            **self.extra,
        }


def cpu_per_call(fn: Callable[[], object], *, min_seconds: float = 0.3, samples: int = 5) -> float:
    """Median CPU seconds per call over ``samples`` samples of at least ``min_seconds`` each."""
    fn()  # warm up caches, imports, lazy initialisation
    per_call: list[float] = []
    for _ in range(samples):
        calls = 0
        start = time.process_time()
        elapsed = 0.0
        while elapsed < min_seconds:
            fn()
            calls += 1
            elapsed = time.process_time() - start
        per_call.append(elapsed / calls)
    return statistics.median(per_call)


def wall_time(fn: Callable[[], object], *, samples: int = 3) -> float:
    """Median wall-clock seconds of one call (for I/O-bound work)."""
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
