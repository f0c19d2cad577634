"""No signature lost: 50 concurrent writers (several processes, threads in each) on one digest.

Against distribution 2.8 (no conditional requests, no referrers API) cosign keeps 3-4 of 50
(reference/perf-reliability.md §5). Writers that share a host lock keep all of them; writers
that share nothing converge through read-back and a settle interval; in referrers mode on a
registry with the API nothing is shared at all.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from konflux_supply.oci import (
    AppendPolicy,
    HostFileLock,
    Kind,
    Reference,
    RegistryOptions,
    append_layer,
    list_referrers,
    open_registry,
    read_attachments,
)
from konflux_supply.oci.referrers import attach_referrer
from tests.integration.conftest import RegistryService
from tests.integration.oci.helpers import att_layer, push_image, sig_layer

pytestmark = pytest.mark.integration

PROCESSES = 2
THREADS = 25


def _writer_process(
    host: str, subject: str, lock_dir: str | None, settle: float, worker: int, threads: int
) -> None:
    from konflux_supply.oci import (
        RetryPolicy,
        parse_reference,
    )

    options = RegistryOptions(allow_http=True, retry=RetryPolicy(attempts=8, backoff=0.05))
    registry, _ = open_registry(f"{host}/x:y", options=options)
    ref = parse_reference(subject)
    policy = AppendPolicy(
        lock=HostFileLock(lock_dir) if lock_dir else None, settle=settle, max_wait=240
    )
    errors: list[BaseException] = []

    def write(n: int) -> None:
        name = f"w{worker}-{n}"
        try:
            append_layer(registry, ref, Kind.SIGNATURE, sig_layer(name), policy=policy)
            append_layer(registry, ref, Kind.ATTESTATION, att_layer(name), policy=policy)
        except BaseException as error:
            errors.append(error)

    pool = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise SystemExit(f"writer {worker}: {errors[0]!r}")


def _run_writers(
    registry: RegistryService,
    subject: Reference,
    lock_dir: str | None,
    settle: float,
    processes: int,
    threads: int,
) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_writer_process,
            args=(registry.host, str(subject), lock_dir, settle, worker, threads),
        )
        for worker in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=280)
    assert [w.exitcode for w in workers] == [0] * processes


def _kept(registry: RegistryService, subject: Reference, kind: Kind) -> set[bytes]:
    client, _ = open_registry(str(subject), options=registry.options)
    read = read_attachments(client, subject, kind)
    assert all(layer.error is None for layer in read.layers)
    return {layer.data or b"" for layer in read.layers}


def test_fifty_writers_sharing_a_host_lock_keep_fifty_of_fifty(
    registry: RegistryService, tmp_path: Path
) -> None:
    client, _ = open_registry(registry.ref("konflux/race:v1"), options=registry.options)
    subject = push_image(client, registry.ref("konflux/race:v1"), b"race")
    _run_writers(registry, subject, str(tmp_path / "locks"), 0.0, PROCESSES, THREADS)
    expected_sigs = {sig_layer(f"w{w}-{n}").data for w in range(PROCESSES) for n in range(THREADS)}
    expected_atts = {att_layer(f"w{w}-{n}").data for w in range(PROCESSES) for n in range(THREADS)}
    assert len(expected_sigs) == 50
    assert _kept(registry, subject, Kind.SIGNATURE) == expected_sigs
    assert _kept(registry, subject, Kind.ATTESTATION) == expected_atts


def test_fifty_writers_sharing_nothing_converge_with_a_settle_interval(
    registry: RegistryService,
) -> None:
    client, _ = open_registry(registry.ref("konflux/race-nolock:v1"), options=registry.options)
    subject = push_image(client, registry.ref("konflux/race-nolock:v1"), b"race-nolock")
    _run_writers(registry, subject, None, 1.0, PROCESSES, THREADS)
    assert len(_kept(registry, subject, Kind.SIGNATURE)) == 50
    assert len(_kept(registry, subject, Kind.ATTESTATION)) == 50


def test_referrers_mode_needs_no_lock(referrers_registry: RegistryService) -> None:
    client, _ = open_registry(
        referrers_registry.ref("konflux/refs:v1"), options=referrers_registry.options
    )
    subject = push_image(client, referrers_registry.ref("konflux/refs:v1"), b"refs")
    descriptor = client.head_manifest(subject.repository, subject.digest or "")
    assert descriptor is not None
    policy = AppendPolicy(lock=None)

    def write(n: int) -> None:
        attach_referrer(
            client, subject, descriptor, Kind.SIGNATURE, sig_layer(f"r{n}"), policy=policy
        )

    pool = [threading.Thread(target=write, args=(n,)) for n in range(50)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    listing = list_referrers(client, subject)
    assert listing.source == "api"
    assert len(listing.descriptors) == 50
