"""The reference controller end to end: ``konflux-supply controller`` (a subprocess, the real
CLI) against the fake API server of the integration tests and a local docker-registry.

Rows (N runs each, created at once while the controller runs; wall time from the first
create to the last ``chains.tekton.dev/signed: true``):

* ``controller: sign_run with .sig + .att on docker-registry`` — TaskRuns that each built an
  image: in-toto provenance stored as ``.att``, a simple-signing ``.sig``, appends under the
  Lease-backed lock (N = 300, quick 40);
* ``controller: a fresh run behind N old unsigned runs`` — the backlog exists when the
  controller starts; once it is being worked on, one fresh run is created:
  ``fresh_run_latency_s`` (create to signed) and how much backlog was still left then;
* ``controller: tekton storage, N runs`` — provenance signed into the run's annotations (no
  registry), N = 1,000 and 5,000 (quick 200 and 1,000): throughput and the controller's peak
  RSS (VmHWM), which must stay flat: the queue holds keys, never runs.

Extra columns: ``runs_per_second``, ``api_calls_per_run`` (tekton.dev GET/LIST/WATCH/PATCH as
the API server counted them; Chains needs about 3 GETs + 2-3 PATCHes per TaskRun,
reference/chains.md §6), ``lease_calls`` and ``peak_rss_mb``. Flags: 8 workers, QPS 200.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks._harness import Result
from benchmarks.bench_oci import _start_registry
from konflux_supply import oci, signing
from tests.integration.controller._fake_api import FakeKube, task_run

ROOT = Path(__file__).resolve().parents[1]
SIGNED = "chains.tekton.dev/signed"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _signed(kube: FakeKube) -> int:
    runs = kube.runs("taskruns")
    return len([r for r in runs if (r["metadata"].get("annotations") or {}).get(SIGNED) == "true"])


def _fresh_signed(kube: FakeKube) -> bool:
    try:
        run = kube.get("taskruns", "live", "fresh-run")
    except Exception:
        return False
    return bool((run["metadata"].get("annotations") or {}).get(SIGNED) == "true")


def _push(registry: oci.Registry, host: str, i: int) -> tuple[str, str]:
    from konflux_supply.oci import Layer, parse_reference
    from konflux_supply.oci.cosign import build_signature_image

    ref = parse_reference(f"{host}/bench/app-{i}:v1")
    layer = Layer("application/vnd.oci.image.layer.v1.tar", f"layer {i}".encode())
    manifest, config = build_signature_image([layer.descriptor()], created="2026-01-01T00:00:00Z")
    registry.put_blob(ref.repository, layer.data)
    registry.put_blob(ref.repository, config)
    registry.put_manifest(ref.repository, "v1", manifest)
    return f"{host}/bench/app-{i}", manifest.digest


def _measure(
    name: str,
    runs: int,
    workdir: Path,
    *,
    storage: str,
    registry_host: str | None,
    backlog: bool = False,
) -> Result:
    kube = FakeKube(bookmark_interval=1.0, history=max(100_000, 4 * runs))
    kube.start()
    secrets = workdir / "secrets"
    secrets.mkdir(exist_ok=True)
    pair = signing.generate_key_pair(b"bench", scrypt=signing.LEGACY_SCRYPT)
    (secrets / "cosign.key").write_bytes(pair.private_pem)
    (secrets / "cosign.password").write_bytes(b"bench")
    config = workdir / "chains-config.json"
    data = {"artifacts.taskrun.format": "in-toto", "artifacts.taskrun.storage": storage}
    data["artifacts.oci.storage"] = "oci" if storage == "oci" else ""
    config.write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "data": data}))
    images: list[tuple[str, str]] = []
    if registry_host is not None:
        with oci.RegistryPool(oci.RegistryOptions(allow_http=True)) as pool:
            registry, _ = pool.open(f"{registry_host}/bench/app-0")
            images = [_push(registry, registry_host, i) for i in range(runs)]
    old = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    if backlog:  # old unsigned runs already there when the controller starts
        for i in range(runs):
            kube.create("taskruns", task_run(f"team-{i % 50}", f"run-{i}", completed=old))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "konflux_supply", "controller", "--config", str(config),
            "--signing-secrets", str(secrets), "--kubeconfig",
            str(kube.kubeconfig(workdir / "kubeconfig")), "--workers", "8",
            "--kube-api-qps", "200", "--kube-api-burst", "200", "--ops-port", str(port),
            "--allow-http-registry", "--log-level", "warning",
        ],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(workdir / f"{name}.log").open("wb"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz").status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        before = dict(kube.requests)
        start = time.monotonic()
        probe: dict[str, float] = {}
        if backlog:
            while _signed(kube) < min(200, runs // 4):
                time.sleep(0.02)
            created = time.monotonic()
            kube.create("taskruns", task_run("live", "fresh-run"))
            limit = time.monotonic() + 300
            while not _fresh_signed(kube) and time.monotonic() < limit:
                time.sleep(0.01)
            probe["fresh_run_latency_s"] = round(time.monotonic() - created, 3)
            probe["backlog_left_when_fresh_signed"] = runs + 1 - _signed(kube)
            runs += 1
        for i in range(0 if backlog else runs):
            kube.create(
                "taskruns",
                task_run(f"team-{i % 50}", f"run-{i}", image=images[i] if images else None),
            )
        deadline = time.monotonic() + max(300, runs)
        while _signed(kube) < runs and time.monotonic() < deadline:
            if process.poll() is not None:
                log = (workdir / f"{name}.log").read_text()[-3000:]
                raise SystemExit(f"the controller exited:\n{log}")
            time.sleep(0.2)
        elapsed = time.monotonic() - start
        done = _signed(kube)
        rss = _peak_rss_mb(process.pid)
        calls: dict[str, int] = {}
        for (verb, resource), count in kube.requests.items():
            calls[f"{verb} {resource}"] = count - before.get((verb, resource), 0)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        kube.stop()
    tekton = sum(v for k, v in calls.items() if not k.endswith("leases"))
    leases = sum(v for k, v in calls.items() if k.endswith("leases"))
    extra: dict[str, Any] = {
        "runs": runs,
        "signed": done,
        "runs_per_second": round(done / elapsed, 1),
        "api_calls_per_run": round(tekton / max(1, done), 2),
        "api_calls": {k: v for k, v in sorted(calls.items()) if v},
        "lease_calls": leases,
        "peak_rss_mb": round(rss, 1),
        "exit_code_after_sigterm": process.returncode,
        **probe,
    }
    return Result(name, elapsed / max(1, done), extra=extra)


def run(quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "registry").mkdir()
        registry, host = _start_registry(work / "registry")
        try:
            with_images = 40 if quick else 300
            small, large = (200, 1000) if quick else (1000, 5000)
            rows = [
                _measure(
                    f"controller: sign_run with .sig + .att on docker-registry, {with_images} runs",
                    with_images, work, storage="oci", registry_host=host,
                ),
                _measure(f"controller: tekton storage, {small} runs", small, work,
                         storage="tekton", registry_host=None),
                _measure(f"controller: tekton storage, {large} runs", large, work,
                         storage="tekton", registry_host=None),
                _measure(f"controller: a fresh run behind {large} old unsigned runs", large,
                         work, storage="tekton", registry_host=None, backlog=True),
            ]  # fmt: skip
        finally:
            registry.terminate()
            registry.wait(10)
    small_rss = rows[1].extra["peak_rss_mb"]
    rows[2].extra["rss_ratio_to_smaller"] = round(rows[2].extra["peak_rss_mb"] / small_rss, 3)
    return rows
