"""Run a controller until SIGTERM/SIGINT: Leases, ops endpoints, drain, release."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from konflux_supply.controller._controller import Controller, ControllerOptions, SignFunction
from konflux_supply.controller._kube import KubeApi
from konflux_supply.controller._lease import ShardLeases, ShardOptions
from konflux_supply.controller._metrics import Metrics
from konflux_supply.controller._ops import OpsServer

__all__ = ["serve"]

_log = logging.getLogger("konflux_supply.controller")


def serve(
    api: KubeApi,
    sign: SignFunction,
    options: ControllerOptions,
    *,
    shards: ShardOptions | None = None,
    metrics: Metrics | None = None,
    ops_port: int | None = 9090,
    stop: threading.Event | None = None,
    on_ready: Any = None,
) -> Controller:
    """Start everything, block until SIGTERM/SIGINT (or ``stop`` is set), then drain
    in-flight work and release the Leases. Returns the stopped controller."""
    metrics = metrics or Metrics()
    stop = stop or threading.Event()
    leases: ShardLeases | None = None
    holder: list[Controller] = []
    if shards is not None:
        leases = ShardLeases(
            api,
            shards,
            on_acquired=lambda gained: holder[0].request_rescan(gained) if holder else None,
        )
    ctl = Controller(api, sign, options, leases=leases, metrics=metrics)
    holder.append(ctl)
    ops = None
    if ops_port is not None:
        ops = OpsServer(metrics, alive=ctl.alive, ready=lambda: ctl.ready, port=ops_port)
        ops.start()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        ctl.start()
        _log.info(
            "controller started",
            extra={"workers": options.workers, "shards": shards.shard_count if shards else 1},
        )
        if on_ready is not None:
            on_ready(ctl, ops)
        while not stop.wait(1.0):
            if leases is not None:
                metrics.shards.set(len(leases.held()))
            metrics.observe_queue(ctl.queue.depth())
        _log.info("stopping: draining in-flight work")
        ctl.stop()
        _log.info("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if ops is not None:
            ops.stop()
    return ctl
