"""The work queue: de-duplicated keys in two lanes, per-key backoff, and an API rate limit.

* **Keys, not objects.** A :class:`~konflux_supply.controller.Key` is three short strings;
  the run is read again when a worker takes its key, so memory grows with the number of
  *queued keys*, never with the size of the objects in the cluster.
* **Two lanes.** ``fresh`` (runs that finished recently, newest first) and ``backlog`` (old
  runs found by a listing, bounded: the scanner blocks when it is full). A worker takes a
  backlog key only after ``backlog_share`` fresh ones in a row, or when no fresh key waits,
  so a live run never waits behind the backlog and the backlog still drains under load.
* **De-duplication** as client-go's workqueue: a key is queued at most once; a key added
  while a worker holds it is queued again when the worker calls :meth:`WorkQueue.done`.
* **Backoff** per key, exponential with a cap and jitter; a watch event for a key that is
  backing off does not cut its wait short (``force=True`` does).
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from konflux_supply.controller._reconcile import Key

__all__ = ["Backoff", "Lane", "TokenBucket", "WorkQueue"]

Lane = Literal["fresh", "backlog"]


@dataclass(frozen=True)
class Backoff:
    """``min(cap, base * 2**failures)``, shortened by up to ``jitter`` (a fraction)."""

    base: float = 0.05
    cap: float = 300.0
    jitter: float = 0.2

    def delay(self, failures: int, rng: random.Random) -> float:
        raw = min(self.cap, self.base * float(2 ** min(failures, 62)))
        return raw * (1.0 - self.jitter * rng.random())


class TokenBucket:
    """A global rate limit: ``qps`` tokens a second, at most ``burst`` saved up.

    :meth:`acquire` reserves a token and sleeps until it is due, so concurrent callers are
    spaced evenly instead of waking together. ``qps <= 0`` disables the limit.
    """

    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._stamp = clock()

    def reserve(self) -> float:
        """Take a token; return how long the caller must wait before using it."""
        if self.qps <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.qps)
            self._stamp = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def acquire(self) -> None:
        """Block until a token is available."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)


class WorkQueue:
    """De-duplicated keys in a ``fresh`` and a bounded ``backlog`` lane (module docstring)."""

    def __init__(
        self,
        *,
        backlog_limit: int = 1000,
        backlog_share: int = 4,
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if backlog_limit < 1 or backlog_share < 1:
            raise ValueError("backlog_limit and backlog_share must be >= 1")
        self.backlog_limit = backlog_limit
        self.backlog_share = backlog_share
        self.backoff = backoff
        self._clock = clock
        self._rng = rng or random.Random()
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._heaps: dict[Lane, list[tuple[float, int, Key]]] = {"fresh": [], "backlog": []}
        self._queued: dict[Key, tuple[Lane, int]] = {}
        self._delayed: list[tuple[float, int, Key, Lane, float]] = []
        self._delayed_at: dict[Key, int] = {}
        self._processing: set[Key] = set()
        self._dirty: dict[Key, tuple[Lane, float]] = {}
        self._failures: dict[Key, int] = {}
        self._streak = 0
        self._shutdown = False

    # -- adding -----------------------------------------------------------------------------

    def add(
        self, key: Key, *, lane: Lane = "fresh", newest: float = 0.0, force: bool = False
    ) -> bool:
        """Queue ``key`` (``newest``: its completion time; larger is taken first).

        Returns ``False`` only when the backlog lane is full (the caller retries later).
        A key already queued, held by a worker, or backing off (unless ``force``) is not
        queued twice.
        """
        with self._cond:
            if self._shutdown:
                return True
            if key in self._processing:
                self._dirty.setdefault(key, (lane, newest))
                return True
            if key in self._queued:
                return True
            if key in self._delayed_at:
                if not force:
                    return True
                del self._delayed_at[key]
            if lane == "backlog" and len(self._heaps["backlog"]) >= self.backlog_limit:
                return False
            self._push(key, lane, newest)
            return True

    def _push(self, key: Key, lane: Lane, newest: float) -> None:
        seq = next(self._seq)
        heapq.heappush(self._heaps[lane], (-newest, seq, key))
        self._queued[key] = (lane, seq)
        self._cond.notify()

    def backlog_space(self) -> int:
        """How many keys the backlog lane takes before :meth:`add` refuses."""
        with self._cond:
            return self.backlog_limit - len(self._heaps["backlog"])

    def wait_for_backlog_space(self, timeout: float) -> bool:
        """Block until the backlog lane has room (or ``timeout``); ``True`` when it has."""
        deadline = self._clock() + timeout
        with self._cond:
            while len(self._heaps["backlog"]) >= self.backlog_limit and not self._shutdown:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return not self._shutdown

    def retry(self, key: Key, *, lane: Lane = "fresh", newest: float = 0.0) -> float:
        """After a failure: queue ``key`` again after its next backoff delay (returned)."""
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
            delay = self.backoff.delay(failures, self._rng)
            self._delay(key, delay, lane, newest)
            return delay

    def add_after(
        self, key: Key, delay: float, *, lane: Lane = "fresh", newest: float = 0.0
    ) -> None:
        """Queue ``key`` after ``delay`` seconds (a wait that is not a failure)."""
        with self._cond:
            self._delay(key, delay, lane, newest)

    def _delay(self, key: Key, delay: float, lane: Lane, newest: float) -> None:
        if self._shutdown:
            return
        seq = next(self._seq)
        heapq.heappush(self._delayed, (self._clock() + delay, seq, key, lane, newest))
        self._delayed_at[key] = seq
        self._cond.notify()

    def forget(self, key: Key) -> None:
        """Reset ``key``'s failure count (it succeeded, or will never be retried)."""
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: Key) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    # -- taking -----------------------------------------------------------------------------

    def _promote(self) -> float | None:
        """Move due delayed keys to their lanes; return seconds until the next one."""
        now = self._clock()
        while self._delayed:
            due, seq, key, lane, newest = self._delayed[0]
            if self._delayed_at.get(key) != seq:
                heapq.heappop(self._delayed)
                continue
            if due > now:
                return due - now
            heapq.heappop(self._delayed)
            del self._delayed_at[key]
            if key in self._processing:
                self._dirty.setdefault(key, (lane, newest))
            elif key not in self._queued:
                self._push(key, lane, newest)
        return None

    def _pop(self, lane: Lane) -> Key | None:
        heap = self._heaps[lane]
        while heap:
            _, seq, key = heapq.heappop(heap)
            if self._queued.get(key) == (lane, seq):
                del self._queued[key]
                return key
        return None

    def _live(self, lane: Lane) -> bool:
        heap = self._heaps[lane]
        while heap and self._queued.get(heap[0][2]) != (lane, heap[0][1]):
            heapq.heappop(heap)
        return bool(heap)

    def get(self, timeout: float | None = None) -> tuple[Key, Lane] | None:
        """The next key and its lane, marked as being processed; ``None`` after ``timeout``
        or on shutdown. Call :meth:`done` with the key afterwards."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while not self._shutdown:
                wake = self._promote()
                fresh, backlog = self._live("fresh"), self._live("backlog")
                lane: Lane | None = None
                if fresh and (not backlog or self._streak < self.backlog_share):
                    lane, self._streak = "fresh", self._streak + 1
                elif backlog:
                    lane, self._streak = "backlog", 0
                if lane is not None:
                    key = self._pop(lane)
                    if key is not None:
                        self._processing.add(key)
                        if lane == "backlog":
                            self._cond.notify_all()
                        return key, lane
                    continue
                waits = [
                    w
                    for w in (wake, None if deadline is None else deadline - self._clock())
                    if w is not None
                ]
                if deadline is not None and deadline - self._clock() <= 0:
                    return None
                self._cond.wait(min(waits) if waits else None)
            return None

    def done(self, key: Key) -> None:
        """The worker is finished with ``key``; a re-add during processing queues it now."""
        with self._cond:
            self._processing.discard(key)
            again = self._dirty.pop(key, None)
            if again is not None and key not in self._queued and key not in self._delayed_at:
                self._push(key, *again)
            self._cond.notify_all()

    # -- state ------------------------------------------------------------------------------

    def depth(self) -> dict[str, int]:
        """Keys per state: ``fresh``, ``backlog``, ``delayed``, ``processing``."""
        with self._cond:
            lanes = {"fresh": 0, "backlog": 0}
            for lane, _ in self._queued.values():
                lanes[lane] += 1
            return {**lanes, "delayed": len(self._delayed_at), "processing": len(self._processing)}

    def idle(self) -> bool:
        """Nothing queued, delayed or being processed."""
        with self._cond:
            return not (self._queued or self._delayed_at or self._processing)

    def processing(self) -> set[Key]:
        with self._cond:
            return set(self._processing)

    def shutdown(self) -> None:
        """Stop handing out keys; :meth:`get` returns ``None`` from now on."""
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    @property
    def is_shutdown(self) -> bool:
        return self._shutdown
