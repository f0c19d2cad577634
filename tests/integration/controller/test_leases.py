"""Lease semantics through the real client: the append lock and shard hand-over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from konflux_supply import controller
from konflux_supply.errors import RegistryError
from tests.integration.controller._fake_api import FakeKube
from tests.integration.controller._helpers import wait_for


def test_lease_append_lock_excludes_across_replicas(
    kube: FakeKube, make_api: Callable[..., controller.KubeApi]
) -> None:
    kube.chaos.error_rate = 0.05
    locks = [controller.LeaseAppendLock(make_api(qps=0), "ctl", f"replica-{i}") for i in range(2)]
    inside = 0
    most = 0
    guard = threading.Lock()

    def writer(lock: controller.LeaseAppendLock) -> None:
        nonlocal inside, most
        for _ in range(5):
            with lock.hold("registry/app:sha256-abc.sig", timeout=60):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.01)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=writer, args=(locks[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert most == 1
    assert not kube.runs("leases"), "every lock Lease deleted on release"


def test_a_dead_holder_is_taken_over_after_the_lease_duration(
    kube: FakeKube, make_api: Callable[..., controller.KubeApi]
) -> None:
    api = make_api(qps=0)
    dead = controller.LeaseAppendLock(api, "ctl", "dead", duration=1)
    name = dead._name("tag")
    api.write_lease(
        "ctl", name, holder="dead", duration=1, transitions=0, labels={}, resource_version=None
    )
    alive = controller.LeaseAppendLock(api, "ctl", "alive", duration=1)
    with pytest.raises(RegistryError, match="timed out"), alive.hold("tag", timeout=0.3):
        pass
    with alive.hold("tag", timeout=10):
        lease = api.get_lease("ctl", name)
        assert lease is not None
        assert lease.holder == "alive"


def test_shards_rebalance_when_a_replica_joins_and_return_on_release(
    kube: FakeKube, make_api: Callable[..., controller.KubeApi]
) -> None:
    def shards(identity: str) -> controller.ShardLeases:
        options = controller.ShardOptions(
            namespace="ctl", identity=identity, shard_count=8, duration=6
        )
        return controller.ShardLeases(make_api(qps=0), options)

    a, b = shards("a"), shards("b")
    a.tick()
    assert a.held() == set(range(8))
    assert all(a.owns(s) for s in range(8))
    b.tick()
    assert b.held() == set()  # nothing free yet
    a.tick()  # a sees b: gives half back (nothing in flight)
    assert len(a.held()) == 4
    b.tick()
    assert b.held() == set(range(8)) - a.held()
    assert a.begin(next(iter(a.held())))  # work in flight keeps a shard until it ends
    a.release_all(drain_timeout=0.2)
    wait_for(lambda: (b.tick(), len(b.held()) == 8)[1], 30, "b taking every shard")
