"""Shards held through ``coordination.k8s.io/v1`` Leases, and a Lease-backed append lock.

**Shards.** A namespace's runs belong to shard ``sha256(namespace) mod N``. Each replica
renews a *member* Lease (so the others can count the live replicas) and holds the *shard*
Leases of its fair share, ``ceil(N / live replicas)``: it takes free or expired ones, gives
back the excess (only once no worker is signing in that shard) and releases everything on
shutdown. A Lease counts as expired, as in client-go's leader election, when its
``resourceVersion`` has not changed for ``leaseDurationSeconds`` *as observed by this
replica's own clock* (no trust in other replicas' clocks). A replica signs a run only while
its Lease on the run's shard is fresh: renewed less than ``duration - margin`` ago.

**Append lock.** :class:`LeaseAppendLock` implements :class:`konflux_supply.oci.AppendLock`
with one short-lived Lease per tag, so replicas appending to the same ``.sig``/``.att`` tag
(two runs that built the same image) never lose each other's layers.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from konflux_supply.controller._kube import ApiError, KubeApi, Lease
from konflux_supply.errors import RegistryError
from konflux_supply.oci import ThreadLocks

__all__ = ["LeaseAppendLock", "ShardLeases", "ShardOptions"]

_log = logging.getLogger("konflux_supply.controller")


@dataclass(frozen=True)
class ShardOptions:
    """``shard_count`` shards, Leases named ``<prefix>-shard-<i>-of-<n>`` in ``namespace``,
    ``duration`` seconds long and renewed every ``duration / 3``."""

    namespace: str
    identity: str
    shard_count: int = 1
    duration: int = 15
    prefix: str = "konflux-supply-controller"
    replicas_hint: int = 1

    @property
    def renew_every(self) -> float:
        return max(0.2, self.duration / 3)

    def shard_name(self, shard: int) -> str:
        return f"{self.prefix}-shard-{shard}-of-{self.shard_count}"

    def member_name(self) -> str:
        digest = hashlib.sha256(self.identity.encode()).hexdigest()[:16]
        return f"{self.prefix}-member-{digest}"


class _Observed:
    """When each Lease last changed, by our clock (client-go's ``observedTime``)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seen: dict[str, tuple[str, float]] = {}

    def expired(self, lease: Lease) -> bool:
        now = self._clock()
        seen = self._seen.get(lease.name)
        if seen is None or seen[0] != lease.resource_version:
            self._seen[lease.name] = (lease.resource_version, now)
            return lease.holder is None
        return lease.holder is None or now - seen[1] > lease.duration


class ShardLeases:
    """The shards this replica holds (module docstring). Thread-safe; :meth:`run` is the
    renewal loop (its own thread), :meth:`release_all` is called on shutdown."""

    def __init__(
        self,
        api: KubeApi,
        options: ShardOptions,
        *,
        on_acquired: Callable[[set[int]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.options = options
        self._clock = clock
        self._observed = _Observed(clock)
        self._lock = threading.Condition()
        self._held: dict[int, tuple[str, float]] = {}
        self._releasing: set[int] = set()
        self._in_flight: dict[int, int] = {}
        self._member_rv: str | None = None
        self._on_acquired = on_acquired or (lambda shards: None)
        self._stop = threading.Event()
        self._ticking = threading.Lock()  # one round at a time; release_all waits for it
        self.live_members = 1
        self.transitions = 0

    # -- what workers ask -------------------------------------------------------------------

    def _fresh(self, shard: int) -> bool:
        held = self._held.get(shard)
        margin = self.options.renew_every
        return held is not None and self._clock() - held[1] < self.options.duration - margin

    def owns(self, shard: int) -> bool:
        """We hold a fresh Lease on ``shard`` and are not giving it away."""
        with self._lock:
            return self._fresh(shard) and shard not in self._releasing

    def begin(self, shard: int) -> bool:
        """Start work in ``shard`` if we own it; pair with :meth:`end`."""
        with self._lock:
            if not self._fresh(shard) or shard in self._releasing:
                return False
            self._in_flight[shard] = self._in_flight.get(shard, 0) + 1
            return True

    def end(self, shard: int) -> None:
        with self._lock:
            self._in_flight[shard] = max(0, self._in_flight.get(shard, 0) - 1)
            self._lock.notify_all()

    def held(self) -> set[int]:
        with self._lock:
            return set(self._held)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Renew, rebalance, take over; until :meth:`stop`."""
        while not self._stop.is_set():
            try:
                with self._ticking:
                    if self._stop.is_set():
                        return
                    self.tick()
            except ApiError as error:
                _log.warning("lease round failed", extra={"error": str(error)})
            except Exception:
                _log.exception("lease round crashed")
            self._stop.wait(self.options.renew_every)

    def stop(self) -> None:
        self._stop.set()

    def _labels(self, role: str) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.options.prefix, "konflux-supply.dev/role": role}

    def tick(self) -> None:
        """One round: member Lease, renewals, releases, acquisitions."""
        opts = self.options
        self._renew_member()
        leases = {
            lease.name: lease
            for lease in self.api.list_leases(
                opts.namespace, f"app.kubernetes.io/name={opts.prefix}"
            )
        }
        me = opts.member_name()
        members = [
            lease
            for lease in leases.values()
            if lease.labels.get("konflux-supply.dev/role") == "member"
            and lease.name != me
            and not self._observed.expired(lease)
        ]
        self.live_members = 1 + len(members)
        target = math.ceil(opts.shard_count / self.live_members)
        for shard in sorted(self.held()):
            self._renew(shard, leases.get(opts.shard_name(shard)))
        with self._lock:
            held = sorted(self._held)
            excess = held[target:] if len(held) > target else []
            self._releasing = {s for s in self._releasing if s in self._held} | set(excess)
            done = [s for s in self._releasing if not self._in_flight.get(s)]
        for shard in done:
            self._release(shard)
        gained: set[int] = set()
        for shard in range(opts.shard_count):
            if len(self.held()) >= target:
                break
            if shard in self.held():
                continue
            lease = leases.get(opts.shard_name(shard))
            if lease is not None and not self._observed.expired(lease):
                continue
            if self._acquire(shard, lease):
                gained.add(shard)
        if gained:
            _log.info(
                "shards acquired", extra={"shards": sorted(gained), "held": sorted(self.held())}
            )
            self._on_acquired(gained)

    def _renew_member(self) -> None:
        opts = self.options
        try:
            lease = self.api.write_lease(
                opts.namespace,
                opts.member_name(),
                holder=opts.identity,
                duration=opts.duration,
                transitions=0,
                labels=self._labels("member"),
                resource_version=self._member_rv,
            )
        except ApiError as error:
            if error.status != 409:
                raise
            current = self.api.get_lease(opts.namespace, opts.member_name())
            self._member_rv = current.resource_version if current else None
            return
        self._member_rv = lease.resource_version

    def _renew(self, shard: int, seen: Lease | None) -> None:
        opts = self.options
        with self._lock:
            held = self._held.get(shard)
        if held is None:
            return
        rv = held[0]
        if seen is not None and (seen.holder != opts.identity or seen.resource_version != rv):
            if seen.holder != opts.identity:
                self._lose(shard, f"now held by {seen.holder}")
                return
            rv = seen.resource_version
        try:
            lease = self.api.write_lease(
                opts.namespace,
                opts.shard_name(shard),
                holder=opts.identity,
                duration=opts.duration,
                transitions=seen.transitions if seen else 0,
                labels=self._labels("shard"),
                resource_version=rv,
            )
        except ApiError as error:
            if error.status in (404, 409):
                self._lose(shard, f"renewal refused ({error.status})")
            return
        with self._lock:
            if shard in self._held:
                self._held[shard] = (lease.resource_version, self._clock())

    def _lose(self, shard: int, why: str) -> None:
        _log.warning("shard lost", extra={"shard": shard, "cause": why})
        with self._lock:
            self._held.pop(shard, None)
            self._releasing.discard(shard)

    def _acquire(self, shard: int, lease: Lease | None) -> bool:
        opts = self.options
        started = self._clock()
        try:
            written = self.api.write_lease(
                opts.namespace,
                opts.shard_name(shard),
                holder=opts.identity,
                duration=opts.duration,
                transitions=(lease.transitions + 1) if lease else 0,
                labels=self._labels("shard"),
                resource_version=lease.resource_version if lease else None,
            )
        except ApiError as error:
            if error.status == 409:
                return False
            raise
        with self._lock:
            self._held[shard] = (written.resource_version, started)
        self.transitions += 1
        return True

    def _release(self, shard: int) -> None:
        opts = self.options
        with self._lock:
            held = self._held.pop(shard, None)
            self._releasing.discard(shard)
        if held is None:
            return
        try:
            self.api.write_lease(
                opts.namespace,
                opts.shard_name(shard),
                holder=None,
                duration=opts.duration,
                transitions=0,
                labels=self._labels("shard"),
                resource_version=held[0],
            )
        except ApiError as error:
            _log.warning("shard release failed", extra={"shard": shard, "error": str(error)})
        _log.info("shard released", extra={"shard": shard})

    def release_all(self, drain_timeout: float = 30.0) -> None:
        """Stop renewing; wait (up to ``drain_timeout``) for in-flight work; give every
        shard back and delete the member Lease."""
        self.stop()
        deadline = self._clock() + drain_timeout
        got = self._ticking.acquire(timeout=max(1.0, drain_timeout))
        try:
            self._release_all(deadline)
        finally:
            if got:
                self._ticking.release()

    def _release_all(self, deadline: float) -> None:
        with self._lock:
            self._releasing = set(self._held)
            while any(self._in_flight.get(s) for s in self._held) and self._clock() < deadline:
                self._lock.wait(0.1)
        for shard in sorted(self.held()):
            self._release(shard)
        if self._member_rv is not None:
            with contextlib.suppress(ApiError):
                self.api.delete_lease(
                    self.options.namespace, self.options.member_name(), self._member_rv
                )


class LeaseAppendLock:
    """:class:`konflux_supply.oci.AppendLock` over Leases: one Lease per tag (named from its
    sha256), created to hold and deleted (with a resourceVersion precondition) to release;
    a holder that died is taken over after ``duration`` seconds without change."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        identity: str,
        *,
        duration: int = 30,
        prefix: str = "konflux-supply-append",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.identity = identity
        self.duration = duration
        self.prefix = prefix
        self._clock = clock
        self._sleep = sleep
        self._threads = ThreadLocks()

    def _name(self, key: str) -> str:
        return f"{self.prefix}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"

    @contextlib.contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[None]:
        name = self._name(key)
        deadline = self._clock() + timeout
        observed = _Observed(self._clock)
        with self._threads.hold(key, timeout):
            delay = 0.02
            seen: Lease | None = None  # None: try to create it (one call when free)
            while True:
                try:
                    if seen is None or observed.expired(seen):
                        mine = self.api.write_lease(
                            self.namespace,
                            name,
                            holder=self.identity,
                            duration=self.duration,
                            transitions=0,
                            labels={"konflux-supply.dev/role": "append-lock"},
                            resource_version=seen.resource_version if seen else None,
                            reserved=False,
                        )
                        break
                except ApiError as error:
                    if error.status != 409:
                        raise RegistryError(f"the append lock on {key} failed: {error}") from None
                try:
                    seen = self.api.get_lease(self.namespace, name, reserved=False)
                except ApiError as error:
                    raise RegistryError(f"the append lock on {key} failed: {error}") from None
                if seen is not None and not observed.expired(seen):
                    if self._clock() > deadline:
                        raise RegistryError(
                            f"timed out after {timeout:.0f} s waiting for the lease on {key}"
                        )
                    self._sleep(delay)
                    delay = min(delay * 2, 0.5)
            try:
                yield
            finally:
                with contextlib.suppress(ApiError):
                    self.api.delete_lease(
                        self.namespace, name, mine.resource_version, reserved=False
                    )
