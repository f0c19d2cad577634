"""``chains.sign_run`` throughput against a local registry: TaskRuns with one image each.

Starts its own Debian ``docker-registry`` (plain HTTP, loopback). Each run gets a fresh image
digest, so every run does the full work: provenance (Chains' default ``in-toto``), a DSSE
envelope and a simple-signing signature, the look-before-write reads of ``.sig``/``.att``
and two pushes (Konflux's config: ``artifacts.taskrun.storage: oci``). ``THREADS`` worker
threads share one :class:`~konflux_supply.chains.Signers` cache and one registry pool.

Reports runs/s and peak RSS, and the RSS after 10 % and after all of the runs (flat = no
growth with the number of runs), next to the floor: the same two pushes through ``publish``
with no look-before-write and no status. For scale: Chains users report a growing backlog at about
1,000 PipelineRuns/h (0.28 runs/s, tektoncd/chains#979). ``python -m benchmarks sign_run``
runs 5,000; ``run(quick=True)`` 40; ``run(count=N)`` any number.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._harness import Result, peak_rss_mib
from benchmarks.bench_oci import _start_registry
from konflux_supply import chains, oci, provenance, publish, signing

THREADS = 4
CHAINS_BACKLOG_RUNS_PER_SECOND = 1000 / 3600


def _workdir() -> Path:
    """Where the registry keeps its blobs: memory (``/dev/shm``) when there is one.

    On this shared machine's disk the registry's own file work costs more CPU than our
    client and varies from run to run with the neighbours' I/O; in memory the figure is ours.
    ``KONFLUX_SUPPLY_BENCH_DIR`` overrides it (e.g. a disk path, to see the difference).
    """
    chosen = os.environ.get("KONFLUX_SUPPLY_BENCH_DIR")
    if chosen is None and os.access("/dev/shm", os.W_OK):
        chosen = "/dev/shm"
    return Path(tempfile.mkdtemp(prefix="bench-sign-run-", dir=chosen))


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib() -> float:
    """Current resident set size in MiB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def task_run(host: str, index: int) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(f"bench-{index}".encode()).hexdigest()
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": f"build-{index}", "namespace": "bench", "uid": f"uid-{index}"},
        "spec": {"taskRef": {"name": "buildah"}},
        "status": {
            "conditions": [{"type": "Succeeded", "status": "True"}],
            "startTime": "2026-12-01T10:00:00Z",
            "completionTime": "2026-12-01T10:01:00Z",
            "results": [
                {"name": "IMAGE_URL", "value": f"{host}/bench/app-{index % 50}"},
                {"name": "IMAGE_DIGEST", "value": digest},
            ],
            "steps": [
                {
                    "name": "build",
                    "imageID": "quay.io/buildah/stable@sha256:" + "ab" * 32,
                }
            ],
            "taskSpec": {"steps": [{"name": "build", "image": "quay.io/buildah/stable"}]},
        },
    }


def _bare_publish(
    pool: oci.RegistryPool, host: str, signer: signing.Signer, total: int, threads: int
) -> float:
    """The floor: provenance, then ``publish.sign_image`` and ``publish.attest_statement``
    for fresh digests, without reading first and without any status (wall seconds)."""

    def one(index: int) -> None:
        run = task_run(host, total + 1 + index)
        registry, image = pool.open(
            f"{run['status']['results'][0]['value']}@{run['status']['results'][1]['value']}"
        )
        statement = provenance.generate(run, format="in-toto")
        unheld = publish.PublishOptions(require_image=False)  # as sign_run: no image to read
        publish.sign_image(registry, image, signer, options=unheld)
        publish.attest_statement(registry, image, statement.to_json(), signer, options=unheld)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as workers:
        list(workers.map(one, range(total)))
    return time.perf_counter() - start


def run(quick: bool = False, count: int | None = None, threads: int = THREADS) -> list[Result]:
    total = count if count is not None else (40 if quick else 5000)
    workdir = _workdir()
    process, host = _start_registry(workdir)
    try:
        secrets = workdir / "secrets"
        secrets.mkdir()
        pair = signing.generate_key_pair(b"bench", scrypt=signing.LEGACY_SCRYPT)
        (secrets / "cosign.key").write_bytes(pair.private_pem)
        (secrets / "cosign.password").write_bytes(b"bench")
        signers = chains.Signers(secrets_dir=secrets)
        config = chains.Config.from_data(
            {"artifacts.taskrun.storage": "oci", "artifacts.oci.storage": "oci"}
        )
        failures = 0
        rss: dict[str, float] = {}
        with oci.RegistryPool(oci.RegistryOptions(allow_http=True)) as pool:

            def one(index: int) -> bool:
                outcome = chains.sign_run(
                    task_run(host, index), config, registry=pool, signer=signers
                )
                return outcome.signed

            one(-1)  # warm up: the signer, the connection pool, imports
            rss["start"] = _rss_mib()
            tenth = max(1, total // 10)
            registry_cpu = _process_cpu(process.pid)
            start, cpu = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(threads) as workers:
                for done, signed in enumerate(workers.map(one, range(total)), 1):
                    failures += not signed
                    if done == tenth:
                        rss["after_10pct"] = _rss_mib()
            wall = time.perf_counter() - start
            cpu_used = time.process_time() - cpu
            registry_cpu = _process_cpu(process.pid) - registry_cpu
            rss["end"] = _rss_mib()
            bare_wall = _bare_publish(pool, host, signers.get("x509", config), total, threads)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    per_run = wall / total
    bare = bare_wall / total
    return [
        Result(
            f"publish only: the same .sig + .att pushes, no checks, {threads} threads",
            bare,
            extra={"runs": total, "runs_per_second": round(1 / bare, 1)},
        ),
        Result(
            f"chains.sign_run: TaskRun with one image, {threads} threads, local registry",
            per_run,
            baseline="publish only",
            baseline_per_call=bare,
            extra={
                "chains_backlog_threshold_runs_per_second": round(
                    CHAINS_BACKLOG_RUNS_PER_SECOND, 2
                ),
                "runs": total,
                "threads": threads,
                "runs_per_second": round(1 / per_run, 1),
                "not_signed": failures,
                "client_cpu_ms_per_run": round(cpu_used / total * 1e3, 2),
                "registry_cpu_ms_per_run": round(registry_cpu / total * 1e3, 2),
                "registry_storage": str(workdir.parent),
                "peak_rss_mib": round(peak_rss_mib(), 1),
                "rss_mib_start": round(rss["start"], 1),
                "rss_mib_after_10pct": round(rss.get("after_10pct", rss["end"]), 1),
                "rss_mib_end": round(rss["end"], 1),
            },
        ),
    ]
