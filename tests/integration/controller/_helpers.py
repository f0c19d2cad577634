"""Signers and waiting for the controller tests (in-process and subprocess replicas)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from konflux_supply import controller


@dataclass
class FakeOutcome:
    """A :class:`konflux_supply.controller.SignResult`: signed, one annotation."""

    signed: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    def annotations_to_patch(self) -> dict[str, str | None]:
        return {controller.SIGNED: "true", **self.extra} if self.signed else {}


class CountingSigner:
    """Counts sign calls per run uid, remembers the order, optionally records to a file
    (one ``<identity> <uid> <namespace>/<name>`` line per call, O_APPEND: survives SIGKILL)."""

    def __init__(
        self, *, delay: float = 0.0, record: Path | None = None, identity: str = ""
    ) -> None:
        self.delay = delay
        self.calls: Counter[str] = Counter()
        self.order: list[str] = []
        self.children_seen: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._fd = (
            os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if record else None
        )
        self.identity = identity

    def __call__(
        self, run: Mapping[str, Any], children: Sequence[Mapping[str, Any]]
    ) -> FakeOutcome:
        meta = run["metadata"]
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls[meta["uid"]] += 1
            self.order.append(f"{meta['namespace']}/{meta['name']}")
            self.children_seen[meta["name"]] = [c["metadata"]["name"] for c in children]
            if self._fd is not None:
                line = f"{self.identity} {meta['uid']} {meta['namespace']}/{meta['name']}\n"
                os.write(self._fd, line.encode())
        return FakeOutcome()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_records(paths: Sequence[Path]) -> list[tuple[str, str, str]]:
    out = []
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                identity, uid, name = line.split(" ")
                out.append((identity, uid, name))
    return out
