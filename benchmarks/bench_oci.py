"""Verify signed and attested images in a local registry, against a bare ``requests`` session.

Starts its own Debian ``docker-registry`` (plain HTTP, loopback), pushes N images (200, or 30
with ``--quick``), each signed (``.sig``) and attested (``.att``, a ~20 KB SLSA statement)
with one P-256 key, then measures wall time per image (warm connections, one thread; the
two runs alternate and the median is taken; client CPU time is reported too):

* ``bare requests: fetch .sig + .att manifests and layers`` — the floor: the same four GETs
  our verification makes (two manifests, two layer blobs), on one ``requests.Session``,
  bodies read and nothing checked.
* ``konflux_supply: verify signatures + attestations`` — ``verify.verify_signatures`` and
  ``verify.verify_attestations`` (digest and size checks, manifest parsing, ECDSA over the
  payload, DSSE, claims). Target: **≤ 1.5x** the floor. ``images_per_second`` is reported.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks._harness import Result
from benchmarks.bench_signing import statement
from konflux_supply import oci, publish, signing, verify
from konflux_supply.oci.cosign import Kind, build_signature_image, triangulate


def _start_registry(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("docker-registry")
    if binary is None:
        raise SystemExit("docker-registry is not installed: apt-get install -y docker-registry")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'data'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', secret: bench}}\n"
    )
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("docker-registry did not start")


def _populate(
    registry: oci.Registry, host: str, count: int
) -> tuple[list[oci.Reference], signing.KeySigner]:
    signer = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
    predicate = statement(20_000)
    policy = oci.AppendPolicy(lock=oci.ThreadLocks())
    images = []
    for n in range(count):
        layer = oci.Layer("application/vnd.oci.image.layer.v1.tar", f"image {n}".encode())
        manifest, config = build_signature_image([layer.descriptor()])
        ref = oci.parse_reference(f"{host}/bench/app{n % 10}:v{n}")
        registry.put_blob(ref.repository, layer.data)
        registry.put_blob(ref.repository, config)
        registry.put_manifest(ref.repository, ref.tag or "", manifest)
        pinned = ref.with_digest(manifest.digest)
        write = publish.PublishOptions(policy=policy)
        publish.sign_image(registry, pinned, signer, options=write)
        publish.attest_image(registry, pinned, signer, predicate, "slsaprovenance1", options=write)
        images.append(pinned)
    return images, signer


def run(quick: bool) -> list[Result]:
    count = 30 if quick else 200
    workdir = Path(tempfile.mkdtemp(prefix="bench-oci-"))
    process, host = _start_registry(workdir)
    try:
        options = oci.RegistryOptions(allow_http=True)
        with oci.RegistryPool(options) as pool:
            registry, _ = pool.open(f"{host}/bench/app:v")
            images, signer = _populate(registry, host, count)
            verifier = signing.verifier_from_pem(signer.public_key_pem())
            # The same objects, located once (not timed): tag manifest + layer digest per kind.
            targets: list[tuple[str, str]] = []
            for image in images:
                for kind in (Kind.SIGNATURE, Kind.ATTESTATION):
                    tag = triangulate(image, kind)
                    raw = registry.get_manifest(image.repository, tag.tag or "")
                    assert raw is not None
                    manifest_url = f"http://{host}/v2/{image.repository}/manifests/{tag.tag}"
                    blob = raw.manifest.layers[0].digest
                    targets.append(
                        (manifest_url, f"http://{host}/v2/{image.repository}/blobs/{blob}")
                    )

            session = requests.Session()
            accept = {"Accept": _ACCEPT}

            def bare() -> None:
                for manifest_url, blob_url in targets:
                    session.get(manifest_url, headers=accept).content  # noqa: B018
                    session.get(blob_url).content  # noqa: B018

            def ours() -> None:
                for image in images:
                    verify.verify_signatures(registry, image, [verifier])
                    verify.verify_attestations(
                        registry,
                        image,
                        verify.AllOf(
                            verify.Keys([verifier]), verify.PredicateType("slsaprovenance1")
                        ),
                    )

            bare()
            ours()
            # Alternate the two so that registry warm-up and noise hit both alike.
            walls: dict[str, list[float]] = {"bare": [], "ours": []}
            cpus: dict[str, list[float]] = {"bare": [], "ours": []}
            for _ in range(3 if quick else 7):
                for name, fn in (("bare", bare), ("ours", ours)):
                    start, cpu = time.perf_counter(), time.process_time()
                    fn()
                    walls[name].append((time.perf_counter() - start) / count)
                    cpus[name].append((time.process_time() - cpu) / count)
            bare_time, ours_time = (statistics.median(walls[k]) for k in ("bare", "ours"))
            bare_cpu, ours_cpu = (statistics.median(cpus[k]) for k in ("bare", "ours"))
            session.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return [
        Result(
            "bare requests: fetch .sig + .att manifests and layers",
            bare_time,
            extra={
                "images": count,
                "images_per_second": round(1 / bare_time, 1),
                "client_cpu_us_per_image": round(bare_cpu * 1e6),
            },
        ),
        Result(
            "konflux_supply: verify signatures + attestations",
            ours_time,
            baseline="bare requests",
            baseline_per_call=bare_time,
            extra={
                "images": count,
                "images_per_second": round(1 / ours_time, 1),
                "client_cpu_us_per_image": round(ours_cpu * 1e6),
                "client_cpu_ratio": round(ours_cpu / bare_cpu, 2),
                "target": "<= 1.5x wall",
            },
        ),
    ]


_ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json"
)
