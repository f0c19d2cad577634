"""The work queue: de-duplication, lanes, backoff, the rate limit (no threads needed)."""

from __future__ import annotations

import random

import pytest

from konflux_supply.controller import Backoff, Key, TokenBucket, WorkQueue


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def k(name: str) -> Key:
    return Key("taskruns", "ns", name)


def drain(queue: WorkQueue) -> list[str]:
    out = []
    while (got := queue.get(timeout=0)) is not None:
        out.append(got[0].name)
        queue.done(got[0])
    return out


def test_keys_are_deduplicated_and_newest_first() -> None:
    queue = WorkQueue()
    for name, stamp in [("a", 1.0), ("b", 3.0), ("a", 9.0), ("c", 2.0)]:
        queue.add(k(name), newest=stamp)
    assert queue.depth()["fresh"] == 3
    assert drain(queue) == ["b", "c", "a"]


def test_a_key_added_while_processing_comes_back_once_after_done() -> None:
    queue = WorkQueue()
    queue.add(k("a"))
    got = queue.get(timeout=0)
    assert got is not None
    queue.add(k("a"))
    queue.add(k("a"))
    assert queue.get(timeout=0) is None
    queue.done(k("a"))
    assert drain(queue) == ["a"]


def test_backlog_lane_is_bounded_and_shares_workers() -> None:
    queue = WorkQueue(backlog_limit=3, backlog_share=2)
    assert all(queue.add(k(f"old-{i}"), lane="backlog", newest=i) for i in range(3))
    assert not queue.add(k("old-3"), lane="backlog")
    assert queue.backlog_space() == 0
    for i in range(4):
        queue.add(k(f"new-{i}"), newest=1000 + i)
    order = drain(queue)
    assert order == ["new-3", "new-2", "old-2", "new-1", "new-0", "old-1", "old-0"]


def test_fresh_keys_never_wait_behind_the_whole_backlog() -> None:
    queue = WorkQueue(backlog_limit=10_000, backlog_share=4)
    for i in range(5000):
        queue.add(k(f"old-{i}"), lane="backlog", newest=i)
    taken = [queue.get(timeout=0) for _ in range(10)]
    queue.add(k("live"), newest=10**9)
    nxt = queue.get(timeout=0)
    assert nxt is not None
    assert nxt[0].name == "live"
    assert all(t is not None and t[1] == "backlog" for t in taken)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    backoff = Backoff(base=0.1, cap=2.0, jitter=0.2)
    rng = random.Random(1)
    delays = [backoff.delay(n, rng) for n in range(8)]
    assert 0.08 <= delays[0] <= 0.1
    assert 0.16 <= delays[1] <= 0.2
    assert all(1.6 <= d <= 2.0 for d in delays[5:])
    assert backoff.delay(10_000, rng) <= 2.0


def test_retry_delays_and_watch_events_do_not_cut_the_wait() -> None:
    clock = Clock()
    queue = WorkQueue(backoff=Backoff(base=1.0, cap=10.0, jitter=0.0), clock=clock)
    queue.add(k("a"))
    got = queue.get(timeout=0)
    assert got is not None
    assert queue.retry(k("a")) == 1.0
    queue.done(k("a"))
    queue.add(k("a"))  # a watch event while backing off
    assert queue.get(timeout=0) is None
    assert queue.depth()["delayed"] == 1
    clock.now += 1.01
    assert drain(queue) == ["a"]
    queue.add(k("a"))
    queue.get(timeout=0)
    assert queue.retry(k("a")) == 2.0
    queue.done(k("a"))
    queue.add(k("a"), force=True)  # a child was signed: look now
    assert drain(queue) == ["a"]
    queue.forget(k("a"))
    assert queue.failures(k("a")) == 0


def test_shutdown_releases_getters() -> None:
    queue = WorkQueue()
    queue.shutdown()
    assert queue.get(timeout=1) is None
    assert queue.idle()


def test_token_bucket_spaces_calls() -> None:
    clock = Clock()
    slept: list[float] = []
    bucket = TokenBucket(10, 2, clock=clock, sleep=slept.append)
    waits = [bucket.reserve() for _ in range(4)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.1)
    assert waits[3] == pytest.approx(0.2)
    clock.now += 10
    bucket.acquire()
    assert slept == []
    assert TokenBucket(0, 1).reserve() == 0.0
