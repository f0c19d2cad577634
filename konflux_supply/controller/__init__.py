"""A reference controller that signs finished Tekton runs at cluster scale.

Tekton Chains' controller caches every run of the cluster, works through a backlog oldest
first, leaves finalizers behind and runs as one replica (reference/chains.md §5 and §6). This
one queues *keys* of finished, unsigned runs (re-read when processed), takes fresh runs
newest first with a bounded lane for the backlog, never needs a finalizer, and shards
namespaces across replicas through ``coordination.k8s.io/v1`` Leases (ADR 0061)::

    from konflux_supply import chains, controller

    api = controller.KubeApi(controller.api_client(), qps=50, burst=100)
    sign = controller.ChainsSigner(chains.Config.from_configmap(text))
    ctl = controller.Controller(api, sign, controller.ControllerOptions(workers=8))
    ctl.start()
    ...
    ctl.stop()      # drains in-flight work, releases the Leases

The decision for one run is the pure :func:`reconcile` (tested without a cluster).
"""

from __future__ import annotations

from konflux_supply.controller._connect import api_client
from konflux_supply.controller._controller import (
    Controller,
    ControllerOptions,
    SignFunction,
    SignResult,
    parse_time,
)
from konflux_supply.controller._kube import ApiError, Gone, KubeApi, Lease, ListPage
from konflux_supply.controller._lease import LeaseAppendLock, ShardLeases, ShardOptions
from konflux_supply.controller._metrics import Metrics
from konflux_supply.controller._ops import JsonFormatter, OpsServer
from konflux_supply.controller._queue import Backoff, Lane, TokenBucket, WorkQueue
from konflux_supply.controller._reconcile import (
    FINALIZER,
    MAX_RETRIES,
    RETRIES,
    SIGN_STATUS,
    SIGNED,
    SKIP,
    Decision,
    Key,
    Policy,
    child_names,
    completion_time,
    failure_patch,
    is_finished,
    is_signed,
    merge_annotations_patch,
    needs_signing,
    reconcile,
    shard_of,
)
from konflux_supply.controller._serve import serve
from konflux_supply.controller._signer import ChainsSigner

__all__ = [
    "FINALIZER",
    "MAX_RETRIES",
    "RETRIES",
    "SIGNED",
    "SIGN_STATUS",
    "SKIP",
    "ApiError",
    "Backoff",
    "ChainsSigner",
    "Controller",
    "ControllerOptions",
    "Decision",
    "Gone",
    "JsonFormatter",
    "Key",
    "KubeApi",
    "Lane",
    "Lease",
    "LeaseAppendLock",
    "ListPage",
    "Metrics",
    "OpsServer",
    "Policy",
    "ShardLeases",
    "ShardOptions",
    "SignFunction",
    "SignResult",
    "TokenBucket",
    "WorkQueue",
    "api_client",
    "child_names",
    "completion_time",
    "failure_patch",
    "is_finished",
    "is_signed",
    "merge_annotations_patch",
    "needs_signing",
    "parse_time",
    "reconcile",
    "serve",
    "shard_of",
]
