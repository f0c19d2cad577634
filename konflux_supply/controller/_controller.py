"""The controller: watchers and a scanner feed keys to a :class:`WorkQueue`; workers re-read
each run, :func:`reconcile` it and carry the decision out.

Threads: one watcher per (kind, namespace filter); one scanner that pages through the
lists (at start, after a 410 Gone, after gaining shards) and feeds the bounded backlog
lane; ``workers`` workers; the Lease loop when sharded; the ops HTTP server.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from konflux_supply.controller._kube import ApiError, Gone, KubeApi
from konflux_supply.controller._lease import ShardLeases
from konflux_supply.controller._metrics import Metrics
from konflux_supply.controller._queue import Backoff, Lane, WorkQueue
from konflux_supply.controller._reconcile import (
    FINALIZER,
    SIGNED,
    Key,
    Policy,
    child_names,
    completion_time,
    failure_patch,
    finalizers,
    is_finished,
    is_signed,
    merge_annotations_patch,
    needs_signing,
    reconcile,
    resource_version,
    shard_of,
)

__all__ = ["Controller", "ControllerOptions", "SignFunction", "SignResult"]

_log = logging.getLogger("konflux_supply.controller")

KINDS = ("taskruns", "pipelineruns")


class SignResult(Protocol):
    """What a sign function returns (:class:`konflux_supply.chains.SignOutcome` is one)."""

    @property
    def signed(self) -> bool: ...

    def annotations_to_patch(self) -> Mapping[str, str | None]: ...


SignFunction = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], SignResult]
"""``sign(run, children) -> outcome``; it must be safe to call from several threads."""


@dataclass(frozen=True)
class ControllerOptions:
    """Everything the controller is told (the CLI flags).

    * ``namespaces`` — watch only these (empty: all namespaces);
    * ``label_selector`` / ``field_selector`` — passed to every list and watch;
    * ``workers`` — concurrent reconciles;
    * ``backlog_limit`` / ``backlog_share`` — the backlog lane's size, and how many fresh
      keys a worker takes before one backlog key when both wait;
    * ``fresh_window`` — a run that finished less than this many seconds before the
      controller started (or after) goes to the fresh lane;
    * ``wait_delay`` — how soon a PipelineRun waiting for its children is looked at again
      (a child being signed re-queues it at once);
    * ``drain_timeout`` — how long shutdown waits for in-flight work.
    """

    namespaces: tuple[str, ...] = ()
    label_selector: str | None = None
    field_selector: str | None = None
    workers: int = 4
    backlog_limit: int = 1000
    backlog_share: int = 4
    fresh_window: float = 600.0
    page_size: int = 500
    watch_timeout: int = 300
    wait_delay: float = 5.0
    drain_timeout: float = 30.0
    shard_count: int = 1
    policy: Policy = field(default_factory=Policy)
    backoff: Backoff = field(default_factory=Backoff)


class Controller:
    """Signs finished, unsigned runs (module docstring). :meth:`start`, then :meth:`stop`."""

    def __init__(
        self,
        api: KubeApi,
        sign: SignFunction,
        options: ControllerOptions = ControllerOptions(),
        *,
        leases: ShardLeases | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.api = api
        self.sign = sign
        self.options = options
        self.leases = leases
        self.metrics = metrics or Metrics()
        self.queue = WorkQueue(
            backlog_limit=options.backlog_limit,
            backlog_share=options.backlog_share,
            backoff=options.backoff,
        )
        self.started = time.time()
        self._stop = threading.Event()
        self._rescan = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []
        self._responses: dict[str, Any] = {}
        self._watching: set[str] = set()
        self._lock = threading.Lock()

    # -- filters ----------------------------------------------------------------------------

    def _targets(self) -> list[tuple[str, str | None]]:
        spaces: Sequence[str | None] = self.options.namespaces or (None,)
        return [(plural, ns) for plural in KINDS for ns in spaces]

    def _shard(self, namespace: str) -> int:
        return shard_of(namespace, self.options.shard_count)

    def owns(self, namespace: str) -> bool:
        return self.leases is None or self.leases.owns(self._shard(namespace))

    def _lane(self, run: Mapping[str, Any]) -> tuple[Lane, float]:
        done = completion_time(run)
        stamp = done.timestamp() if done else 0.0
        fresh = stamp >= self.started - self.options.fresh_window
        return ("fresh" if fresh else "backlog"), stamp

    def offer(self, run: Mapping[str, Any], *, scanning: bool = False) -> bool:
        """Queue the run's key if it needs work here; ``False`` only when the backlog lane is
        full (a scanner then waits and offers it again)."""
        if not needs_signing(run, self.options.policy):
            return True
        key = Key.of(run)
        if not self.owns(key.namespace):
            return True
        lane, stamp = self._lane(run)
        if not scanning:
            lane = "fresh"
        return self.queue.add(key, lane=lane, newest=stamp)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the Lease loop (sharded), the watchers, the scanner and the workers."""
        if self.leases is not None:
            self.leases.tick()
            self._spawn("leases", self.leases.run)
        for plural, ns in self._targets():
            self._spawn(f"watch-{plural}-{ns or '*'}", self._watch, plural, ns)
        self._spawn("scanner", self._scan_loop)
        for i in range(self.options.workers):
            self._workers.append(self._spawn(f"worker-{i}", self._work))

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def request_rescan(self, shards: set[int] | None = None) -> None:
        """Page through the lists again (after gaining ``shards``, or a 410 Gone)."""
        self._rescan.set()

    @property
    def ready(self) -> bool:
        """Every watch established (and, when sharded, the Lease loop running)."""
        with self._lock:
            return len(self._watching) == len(self._targets())

    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads) or self._stop.is_set()

    def stop(self, drain_timeout: float | None = None) -> None:
        """Stop watching, let in-flight reconciles finish, then give the Leases back."""
        timeout = self.options.drain_timeout if drain_timeout is None else drain_timeout
        self._stop.set()
        self.queue.shutdown()
        with self._lock:
            responses = list(self._responses.values())
        for response in responses:
            _cut(response)
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if self.leases is not None:
            self.leases.release_all(max(0.0, deadline - time.monotonic()))

    # -- watch and scan ---------------------------------------------------------------------

    def _selectors(self) -> dict[str, str | None]:
        return {
            "label_selector": self.options.label_selector,
            "field_selector": self.options.field_selector,
        }

    def _current_version(self, plural: str, ns: str | None) -> str:
        page = self.api.list_runs(plural, namespace=ns, limit=1, **self._selectors())
        return page.resource_version

    def _watch(self, plural: str, ns: str | None) -> None:
        name = f"{plural}/{ns or '*'}"
        rv: str | None = None
        pause = 0.1
        while not self._stop.is_set():
            try:
                if rv is None:
                    # the version first, then a full pass: the pass's snapshot is newer than
                    # where the watch starts, so nothing falls between the two
                    rv = self._current_version(plural, ns)
                    self.metrics.relists.inc()
                    self.request_rescan()

                def hold(response: Any, name: str = name) -> None:
                    with self._lock:
                        self._responses[name] = response
                        self._watching.add(name)

                for kind, obj in self.api.watch_runs(
                    plural,
                    rv,
                    namespace=ns,
                    timeout=self.options.watch_timeout,
                    on_response=hold,
                    **self._selectors(),
                ):
                    meta = obj.get("metadata") or {}
                    rv = str(meta.get("resourceVersion") or rv)
                    if kind in ("ADDED", "MODIFIED"):
                        self.offer(obj)
                pause = 0.1
            except Gone:
                _log.info("watch expired: re-listing", extra={"watch": name})
                rv = None
            except (ApiError, OSError, ValueError) as error:
                if self._stop.is_set():
                    return
                _log.warning("watch failed", extra={"watch": name, "error": str(error)})
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)
            except Exception as error:  # urllib3 protocol errors when a stream is cut
                if self._stop.is_set():
                    return
                _log.warning("watch cut", extra={"watch": name, "error": type(error).__name__})
                self._stop.wait(pause)
                pause = min(pause * 2, 10.0)
            self.metrics.watch_restarts.inc()

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            if not self._rescan.wait(1.0):
                continue
            self._rescan.clear()
            for plural, ns in self._targets():
                try:
                    self._scan(plural, ns)
                except ApiError as error:
                    _log.warning("scan failed", extra={"error": str(error)})
                    self._rescan.set()
                    self._stop.wait(1.0)
                    break
            self.metrics.scans.inc()

    def _scan(self, plural: str, ns: str | None) -> None:
        token: str | None = None
        last: tuple[str, str] = ("", "")
        while not self._stop.is_set():
            try:
                page = self.api.list_runs(
                    plural,
                    namespace=ns,
                    limit=self.options.page_size,
                    next_token=token,
                    **self._selectors(),
                )
            except Gone:
                token = None  # the continue token expired: restart, skipping what we saw
                continue
            for run in page.items:
                meta = run.get("metadata") or {}
                where = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
                if token is None and where <= last:
                    continue
                while not self.offer(run, scanning=True):
                    if not self.queue.wait_for_backlog_space(1.0) and self._stop.is_set():
                        return
                last = max(last, where)
            token = page.next
            if not token:
                return

    # -- work -------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            got = self.queue.get()
            if got is None:
                return
            key, lane = got
            try:
                self.process(key, lane)
            except Exception as error:
                _log.exception("reconcile crashed", extra={"run": str(key)})
                self.metrics.failed.labels(key.plural).inc()
                self.queue.retry(key, lane=lane)
                del error
            finally:
                self.queue.done(key)
                self.metrics.observe_queue(self.queue.depth())

    def process(self, key: Key, lane: Lane = "fresh") -> str:
        """Reconcile one key now; returns the action taken (for tests and logs)."""
        shard = self._shard(key.namespace)
        if self.leases is not None and not self.leases.begin(shard):
            self.queue.forget(key)
            return "not-ours"
        try:
            return self._process(key, lane)
        except ApiError as error:
            _log.warning("api error", extra={"run": str(key), "error": str(error)})
            self.queue.retry(key, lane=lane)
            return "api-error"
        finally:
            if self.leases is not None:
                self.leases.end(shard)

    def _children(self, run: Mapping[str, Any]) -> dict[str, Mapping[str, Any] | None]:
        meta = run.get("metadata") or {}
        wanted = child_names(run)
        if not wanted:
            return {}
        found = {
            str((child.get("metadata") or {}).get("name")): child
            for child in self.api.list_children(str(meta.get("namespace")), str(meta.get("name")))
        }
        return {name: found.get(name) for name in wanted}

    def _process(self, key: Key, lane: Lane) -> str:
        run = self.api.get_run(key)
        children = None
        if (
            run is not None
            and key.plural == "pipelineruns"
            and is_finished(run)
            and not is_signed(run)
        ):
            children = self._children(run)
        decision = reconcile(run, children, self.options.policy)
        if decision.action == "forget":
            self.queue.forget(key)
            if decision.remove_finalizer and run is not None:
                self._patch_finalizer(key, run, add=False)
            return "forget"
        if decision.action == "wait":
            self.queue.add_after(key, self.options.wait_delay, lane=lane)
            return "wait"
        assert run is not None
        if decision.action in ("add-finalizer", "remove-finalizer"):
            self._patch_finalizer(key, run, add=decision.action == "add-finalizer")
            self.queue.forget(key)
            return decision.action
        return self._sign(key, lane, run, decision.children, decision.remove_finalizer)

    def _sign(
        self,
        key: Key,
        lane: Lane,
        run: Mapping[str, Any],
        children: Sequence[Mapping[str, Any]],
        has_finalizer: bool,
    ) -> str:
        started = time.monotonic()
        signed = False
        try:
            outcome = self.sign(run, children)
            patch = dict(outcome.annotations_to_patch())
            signed = bool(outcome.signed)
        except Exception as error:  # the signer must never crash the worker
            _log.warning("signer raised", extra={"run": str(key), "error": repr(error)})
            patch = failure_patch(run, repr(error), self.options.policy.max_retries)
        self.metrics.sign_seconds.observe(time.monotonic() - started)
        final = signed or patch.get(SIGNED) == "failed"
        deleting = bool((run.get("metadata") or {}).get("deletionTimestamp"))
        drop = has_finalizer and (final or deleting)
        body = merge_annotations_patch(
            patch,
            remove_finalizer_from=finalizers(run) if drop else None,
            resource_version=resource_version(run) if drop else None,
        )
        try:
            updated = self.api.patch_run(key, body)
        except ApiError as error:
            if error.status != 409:
                raise
            self.queue.add_after(key, 0.05, lane=lane)  # re-read, then patch again
            return "conflict"
        if updated is None:
            self.queue.forget(key)
            return "gone"
        if signed:
            self.metrics.signed.labels(key.plural).inc()
            _log.info("signed", extra={"run": str(key), "lane": lane})
        else:
            self.metrics.failed.labels(key.plural).inc()
        if final:
            self.queue.forget(key)
            self._nudge_parent(run)
        elif not deleting:
            self.queue.retry(key, lane=lane)
        return "signed" if signed else ("failed" if final else "retry")

    def _nudge_parent(self, run: Mapping[str, Any]) -> None:
        """A TaskRun is done: its PipelineRun may be waiting for it; look at it now."""
        meta = run.get("metadata") or {}
        parent = (meta.get("labels") or {}).get("tekton.dev/pipelineRun")
        if parent:
            key = Key("pipelineruns", str(meta.get("namespace") or ""), str(parent))
            self.queue.add(key, lane="fresh", newest=time.time(), force=True)

    def _patch_finalizer(self, key: Key, run: Mapping[str, Any], *, add: bool) -> None:
        current = finalizers(run)
        wanted = [*current, FINALIZER] if add else [f for f in current if f != FINALIZER]
        body = {"metadata": {"finalizers": wanted, "resourceVersion": resource_version(run)}}
        try:
            self.api.patch_run(key, body)
        except ApiError as error:
            if error.status != 409:
                raise
            self.queue.add_after(key, 0.05)


def parse_time(value: str) -> datetime.datetime:
    """``--ignore-runs-before``: an RFC 3339 instant (``Z`` or an offset; naive = UTC)."""
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _cut(response: Any) -> None:
    """Unblock a thread reading a watch stream (best effort: it may be closed already)."""
    import socket

    try:
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
