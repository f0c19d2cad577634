"""``konflux-supply controller``: sign finished Tekton runs in a cluster (a Deployment).

Lists and watches TaskRuns and PipelineRuns through the Kubernetes API, queues the keys of
finished, unsigned runs, and signs each as ``sign-run`` does (the chains-config ConfigMap,
keys in ``--signing-secrets``). Runs until SIGTERM, then drains in-flight work and gives its
shard Leases back. Logs are JSON lines on stderr; ``/healthz``, ``/readyz`` and ``/metrics``
are served on ``--ops-port``. Deployment, RBAC and flags: docs/controller.md.

Exit codes: 0 after a clean shutdown; 2 bad input (config, flags, kubeconfig).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import TYPE_CHECKING

import click

from konflux_supply.cli._common import read_bytes, registrar
from konflux_supply.cli._keys import backend_config, secrets_from_environment
from konflux_supply.cli._registry import registry_options
from konflux_supply.errors import InputError

if TYPE_CHECKING:
    from konflux_supply.oci import RegistryOptions

__all__ = ["register"]


def _setup_logging(level: str) -> None:
    from konflux_supply.controller import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("konflux_supply")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False


@click.command("controller")
@click.option(
    "--config",
    "config_file",
    required=True,
    metavar="CONFIGMAP.yaml",
    help="The chains-config ConfigMap (the whole object or its data: map).",
)
@click.option(
    "--signing-secrets",
    default="/etc/signing-secrets",
    show_default=True,
    metavar="DIR",
    help="Where x509.pem, or cosign.key and cosign.password, are mounted.",
)
@click.option(
    "--kubeconfig",
    metavar="FILE",
    help="Default: the pod's service account, else $KUBECONFIG or ~/.kube/config.",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Watch only this namespace (repeat; default: all).",
)
@click.option("--label-selector", metavar="SELECTOR", help="Only runs with these labels.")
@click.option("--field-selector", metavar="SELECTOR", help="Only runs matching these fields.")
@click.option(
    "--api-version",
    type=click.Choice(["v1", "v1beta1"]),
    default="v1",
    show_default=True,
    help="The tekton.dev version to read runs with.",
)
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option(
    "--kube-api-qps",
    type=click.FloatRange(min=0),
    default=50.0,
    show_default=True,
    help="Global rate limit on API calls (0: none).",
)
@click.option("--kube-api-burst", type=click.IntRange(1), default=100, show_default=True)
@click.option(
    "--backlog-limit",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Keys of old runs held at once (the rest are listed again later).",
)
@click.option(
    "--backlog-share",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="Fresh keys a worker takes before one backlog key.",
)
@click.option(
    "--fresh-window",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="Runs finished this recently before start count as fresh.",
)
@click.option(
    "--ignore-runs-before",
    metavar="TIME",
    help="Never sign runs that finished before this RFC 3339 instant.",
)
@click.option(
    "--finalizer",
    is_flag=True,
    help="Hold deletion of unfinished runs until signed (removed right after).",
)
@click.option(
    "--shard-count",
    type=click.IntRange(1, 1024),
    default=1,
    show_default=True,
    help="Shards (namespaces hashed) spread over the replicas through Leases.",
)
@click.option(
    "--replicas-hint",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Expected replicas (shard-count defaults to 4x this when left at 1).",
)
@click.option(
    "--lease-namespace",
    default=None,
    metavar="NS",
    help="Where the Leases live (default: $POD_NAMESPACE, else 'default').",
)
@click.option(
    "--lease-duration", type=click.IntRange(3), default=15, show_default=True, metavar="SECONDS"
)
@click.option(
    "--identity", default=None, help="This replica's name (default: $POD_NAME or hostname)."
)
@click.option(
    "--append-lock",
    type=click.Choice(["lease", "process"]),
    default="lease",
    show_default=True,
    help="Serialise .sig/.att appends across replicas (lease) or threads.",
)
@click.option(
    "--ops-port",
    type=click.IntRange(0, 65535),
    default=9090,
    show_default=True,
    help="Port for /healthz, /readyz and /metrics.",
)
@click.option("--drain-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@registry_options
def controller_command(
    config_file: str,
    signing_secrets: str,
    kubeconfig: str | None,
    namespaces: tuple[str, ...],
    label_selector: str | None,
    field_selector: str | None,
    api_version: str,
    workers: int,
    kube_api_qps: float,
    kube_api_burst: int,
    backlog_limit: int,
    backlog_share: int,
    fresh_window: float,
    ignore_runs_before: str | None,
    finalizer: bool,
    shard_count: int,
    replicas_hint: int,
    lease_namespace: str | None,
    lease_duration: int,
    identity: str | None,
    append_lock: str,
    ops_port: int,
    drain_timeout: float,
    log_level: str,
    registry_options: RegistryOptions,
) -> int:
    """Sign finished TaskRuns and PipelineRuns in a cluster, as Tekton Chains does."""
    from konflux_supply import chains, controller

    config = chains.Config.from_configmap(read_bytes(config_file))
    before = None
    if ignore_runs_before is not None:
        try:
            before = controller.parse_time(ignore_runs_before)
        except ValueError:
            raise InputError("not an RFC 3339 time", field="--ignore-runs-before") from None
    if shard_count == 1 and replicas_hint > 1:
        shard_count = 4 * replicas_hint
    client = controller.api_client(kubeconfig)
    _setup_logging(log_level)
    log = logging.getLogger("konflux_supply.controller")
    for warning in config.warnings:
        log.warning(warning)
    metrics = controller.Metrics()
    api = controller.KubeApi(
        client,
        version=api_version,
        qps=kube_api_qps,
        burst=kube_api_burst,
        count=metrics.count_call,
    )
    who = identity or os.environ.get("POD_NAME") or socket.gethostname()
    where = lease_namespace or os.environ.get("POD_NAMESPACE") or "default"
    lock = controller.LeaseAppendLock(api, where, who) if append_lock == "lease" else None
    sign = controller.ChainsSigner(
        config,
        signer=chains.Signers(
            secrets_dir=signing_secrets,
            backend_config=backend_config(),
            secrets=secrets_from_environment(),
        ),
        append_lock=lock,
        registry_options=registry_options,
    )
    options = controller.ControllerOptions(
        namespaces=namespaces,
        label_selector=label_selector,
        field_selector=field_selector,
        workers=workers,
        backlog_limit=backlog_limit,
        backlog_share=backlog_share,
        fresh_window=fresh_window,
        drain_timeout=drain_timeout,
        shard_count=shard_count,
        policy=controller.Policy(ignore_before=before, finalizer=finalizer),
    )
    shards = controller.ShardOptions(
        namespace=where,
        identity=who,
        shard_count=shard_count,
        duration=lease_duration,
        replicas_hint=replicas_hint,
    )
    try:
        controller.serve(api, sign, options, shards=shards, metrics=metrics, ops_port=ops_port)
    finally:
        sign.close()
    return 0


register = registrar(controller_command)
