"""Prometheus metrics (``prometheus-client``), in a registry of their own."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Metrics"]


class Metrics:
    """Queue depth, runs signed/failed, sign latency, API calls, shards, watch restarts."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        prefix = "konflux_supply_controller"
        self.queue_depth = Gauge(
            f"{prefix}_queue_depth",
            "Keys waiting, per state (fresh, backlog, delayed, processing).",
            ["state"],
            registry=self.registry,
        )
        self.signed = Counter(
            f"{prefix}_runs_signed", "Runs signed and stored.", ["kind"], registry=self.registry
        )
        self.failed = Counter(
            f"{prefix}_runs_failed",
            "Sign attempts that did not sign everything (retried, or failed for good).",
            ["kind"],
            registry=self.registry,
        )
        self.sign_seconds = Histogram(
            f"{prefix}_sign_seconds",
            "Time spent in the signer per run.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.api_calls = Counter(
            f"{prefix}_api_calls",
            "Kubernetes API calls, by verb, resource and HTTP status (0: no answer).",
            ["verb", "resource", "code"],
            registry=self.registry,
        )
        self.shards = Gauge(f"{prefix}_shards_held", "Shards held.", registry=self.registry)
        self.watch_restarts = Counter(
            f"{prefix}_watch_restarts", "Watch streams restarted.", registry=self.registry
        )
        self.relists = Counter(
            f"{prefix}_relists", "Lists for a fresh resourceVersion.", registry=self.registry
        )
        self.scans = Counter(f"{prefix}_scans", "Full list passes.", registry=self.registry)
        self._calls: dict[tuple[str, str], int] = {}

    def count_call(self, verb: str, resource: str, code: int) -> None:
        """The ``count`` hook of :class:`~konflux_supply.controller.KubeApi`."""
        self.api_calls.labels(verb, resource, str(code)).inc()
        self._calls[(verb, resource)] = self._calls.get((verb, resource), 0) + 1

    def calls(self) -> dict[tuple[str, str], int]:
        """API calls so far per (verb, resource), whatever the answer."""
        return dict(self._calls)

    def observe_queue(self, depth: Mapping[str, int]) -> None:
        for state, value in depth.items():
            self.queue_depth.labels(state).set(value)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))
