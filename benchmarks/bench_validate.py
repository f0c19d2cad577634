"""``validate image`` of a whole Snapshot on a local registry: wall time and peak memory.

Starts its own Debian ``docker-registry`` (plain HTTP, loopback) and pushes N images, each
signed and attested by us (a Chains-shaped SLSA v0.2 provenance from our own generator about
that image). The ECP is the ``@minimal`` example on ``policies/`` with an inline key. Each
row runs the CLI as a separate process (``python -m konflux_supply validate image --images
snapshot.json --workers 2 --output json=FILE``), so start-up, source loading, engine workers
and every registry call are counted; memory is the peak of the summed RSS of the whole
process tree (the CLI and its engine workers), sampled every 20 ms.

Rows (``per_call`` = wall seconds of the run; ``extra`` has the details):

* ``validate image: N components`` — 100 (target **≤ 10 s** wall on 2 cores and **≤ 500 MB**
  peak for the tree; the median of three runs after a warm-up run) and 500 (one run; memory
  reported: it must stay flat, not grow with N); ``--quick``: 3 and 6 components (the
  suite's smoke run, ``tests/integration/release/test_bench_validate_smoke.py``).
* ``per_component_ms`` / ``per_component_cpu_ms`` — the marginal cost of one more component:
  the slope of wall time / CPU time (the CLI and its engine workers; the registry's own CPU
  is not counted) between the two runs (start-up and policy compilation excluded). On a
  shared machine the wall time follows the load; the CPU time does not.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks._harness import Result
from benchmarks.bench_oci import _start_registry
from konflux_supply import oci, provenance, publish, signing
from konflux_supply.models.oci import (
    OCI_CONFIG,
    OCI_MANIFEST,
    Descriptor,
    ImageManifest,
    RawManifest,
)

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "fixtures" / "provenance" / "runs"
LAYER = "application/vnd.oci.image.layer.v1.tar"


def _statement() -> dict[str, Any]:
    run = yaml.safe_load((RUNS / "pipelinerun-build.yaml").read_text())
    children = [
        yaml.safe_load((RUNS / name).read_text())
        for name in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
    ]
    value: dict[str, Any] = json.loads(
        provenance.generate(run, format="in-toto", children=children).to_json()
    )
    return value


def _populate(registry: oci.Registry, host: str, count: int) -> tuple[list[str], str]:
    signer = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
    template = _statement()
    write = publish.PublishOptions(policy=oci.AppendPolicy(lock=oci.ThreadLocks()))
    images = []
    for n in range(count):
        repository = f"bench/validate{n % 20}"
        layer = f"layer {n}".encode()
        config = json.dumps(
            {"architecture": "amd64", "os": "linux", "config": {"Labels": {"n": str(n)}}}
        ).encode()
        registry.put_blob(repository, layer)
        registry.put_blob(repository, config)
        manifest = RawManifest.of(
            ImageManifest(
                schema_version=2,
                media_type=OCI_MANIFEST,
                config=Descriptor.for_bytes(config, OCI_CONFIG),
                layers=[Descriptor.for_bytes(layer, LAYER)],
            )
        )
        registry.put_manifest(repository, f"v{n}", manifest)
        pinned = oci.parse_reference(f"{host}/{repository}@{manifest.digest}")
        publish.sign_image(registry, pinned, signer, options=write)
        statement = dict(template)
        statement["subject"] = [
            {"name": pinned.name, "digest": {"sha256": manifest.digest.split(":", 1)[1]}}
        ]
        publish.attest_statement(
            registry, pinned, json.dumps(statement).encode(), signer, options=write
        )
        images.append(f"{host}/{repository}:v{n}")
    return images, signer.public_key_pem().decode()


def _tree_rss_kib(root: int) -> int:
    """Summed RSS of ``root`` and its descendants (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


def _run_cli(workdir: Path, images: list[str], policy: dict[str, Any]) -> dict[str, Any]:
    snapshot = workdir / f"snapshot-{len(images)}.json"
    snapshot.write_text(
        json.dumps(
            {"components": [{"name": f"c{i}", "containerImage": r} for i, r in enumerate(images)]}
        )
    )
    ecp = workdir / "ecp.json"
    ecp.write_text(json.dumps(policy))
    report = workdir / f"report-{len(images)}.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [
        sys.executable, "-m", "konflux_supply", "validate", "image", "--images", str(snapshot),
        "--policy", str(ecp), "--allow-http-registry", "--workers", "2",
        "--output", f"json={report}",
    ]  # fmt: skip
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(
            f"validate image exited {process.returncode}: {stderr.decode(errors='replace')[-2000:]}"
        )
    document = json.loads(report.read_text())
    assert document["success"] is True
    assert len(document["components"]) == len(images)
    return {"wall": wall, "cpu": cpu, "peak_mib": round(peak / 1024, 1)}


def _median(measured: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(measured, key=lambda m: m["wall"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["walls"] = [round(m["wall"], 2) for m in measured]
    chosen["peak_mib"] = max(m["peak_mib"] for m in measured)
    return chosen


def run(quick: bool) -> list[Result]:
    small, large = (3, 6) if quick else (100, 500)
    workdir = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    process, host = _start_registry(workdir)
    try:
        options = oci.RegistryOptions(allow_http=True)
        with oci.RegistryPool(options) as pool:
            registry, _ = pool.open(f"{host}/bench/x:v")
            images, pem = _populate(registry, host, large)
        policy = {
            "publicKey": pem,
            "sources": [
                {
                    "name": "release",
                    "policy": [str(REPO / "policies" / "lib"), str(REPO / "policies" / "release")],
                    "data": [str(REPO / "policies" / "examples" / "minimal" / "data")],
                    "config": {"include": ["@minimal"]},
                }
            ],
        }
        # A first run warms the page cache and the registry; the target row is the median of
        # three runs (the machine is shared: the spread is reported too).
        _run_cli(workdir, images[:small], policy)
        runs = {small: _median([_run_cli(workdir, images[:small], policy) for _ in range(3)])}
        runs[large] = _run_cli(workdir, images, policy)
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    slope = (runs[large]["wall"] - runs[small]["wall"]) / (large - small)
    cpu_slope = (runs[large]["cpu"] - runs[small]["cpu"]) / (large - small)
    results = []
    for count in (small, large):
        measured = runs[count]
        results.append(
            Result(
                f"validate image: {count} components",
                measured["wall"],
                extra={
                    "wall_s": round(measured["wall"], 2),
                    "runs_wall_s": measured.get("walls", [round(measured["wall"], 2)]),
                    "cpu_s": round(measured["cpu"], 2),
                    "peak_tree_rss_mib": measured["peak_mib"],
                    "per_component_ms": round(slope * 1000, 1),
                    "per_component_cpu_ms": round(cpu_slope * 1000, 1),
                    "cpus": os.cpu_count(),
                },
            )
        )
    return results
