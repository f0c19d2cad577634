"""``chains.sign_run`` throughput against a local registry: TaskRuns with one image each.

Starts its own Debian ``docker-registry`` (plain HTTP, loopback). Each run gets a fresh image
digest, so every run does the full work: provenance (Chains' default ``in-toto``), a DSSE
envelope and a simple-signing signature, the look-before-write reads of ``.sig``/``.att``
and two pushes (Konflux's config: ``artifacts.taskrun.storage: oci``). ``THREADS`` worker
threads share one :class:`~konflux_supply.chains.Signers` cache and one registry pool.

Reports runs/s and peak RSS, and the RSS after 10 % and after all of the runs (flat = no
growth with the number of runs). For scale: Chains users report a growing backlog at about
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
from konflux_supply import chains, oci, signing

THREADS = 4
CHAINS_BACKLOG_RUNS_PER_SECOND = 1000 / 3600


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


def run(quick: bool = False, count: int | None = None, threads: int = THREADS) -> list[Result]:
    total = count if count is not None else (40 if quick else 5000)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sign-run-"))
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
            start, cpu = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(threads) as workers:
                for done, signed in enumerate(workers.map(one, range(total)), 1):
                    failures += not signed
                    if done == tenth:
                        rss["after_10pct"] = _rss_mib()
            wall = time.perf_counter() - start
            cpu_used = time.process_time() - cpu
            rss["end"] = _rss_mib()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    per_run = wall / total
    return [
        Result(
            f"chains.sign_run: TaskRun with one image, {threads} threads, local registry",
            per_run,
            baseline="Chains backlog threshold (~1,000 PipelineRuns/h)",
            baseline_per_call=1 / CHAINS_BACKLOG_RUNS_PER_SECOND,
            extra={
                "runs": total,
                "threads": threads,
                "runs_per_second": round(1 / per_run, 1),
                "not_signed": failures,
                "client_cpu_ms_per_run": round(cpu_used / total * 1e3, 2),
                "peak_rss_mib": round(peak_rss_mib(), 1),
                "rss_mib_start": round(rss["start"], 1),
                "rss_mib_after_10pct": round(rss.get("after_10pct", rss["end"]), 1),
                "rss_mib_end": round(rss["end"], 1),
            },
        )
    ]
