"""One controller replica as a process (``python -m tests.integration.controller._replica``):
the real wiring (``controller.serve``: Leases, SIGTERM drain) with a counting signer that
records each sign call to a file, so the test can SIGKILL it and still count."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from konflux_supply import controller
from tests.integration.controller._helpers import CountingSigner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--record", required=True, type=Path)
    parser.add_argument("--shard-count", type=int, default=8)
    parser.add_argument("--lease-duration", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sign-delay", type=float, default=0.0)
    args = parser.parse_args()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(controller.JsonFormatter())
    logging.getLogger("konflux_supply").addHandler(handler)
    logging.getLogger("konflux_supply").setLevel(logging.INFO)
    api = controller.KubeApi(controller.api_client(args.kubeconfig), qps=200, burst=200)
    signer = CountingSigner(delay=args.sign_delay, record=args.record, identity=args.identity)
    options = controller.ControllerOptions(
        workers=args.workers, shard_count=args.shard_count, wait_delay=1.0, drain_timeout=10
    )
    shards = controller.ShardOptions(
        namespace="controller",
        identity=args.identity,
        shard_count=args.shard_count,
        duration=args.lease_duration,
    )
    controller.serve(api, signer, options, shards=shards, ops_port=None)


if __name__ == "__main__":
    main()
