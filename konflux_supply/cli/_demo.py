"""``konflux-supply demo``: the main job end to end, on embedded defaults, offline.

What a Konflux build does with Tekton Chains and cosign, in one command and one directory:

1. a cosign key pair (``cosign.key`` encrypted with an empty password, ``cosign.pub``);
2. a small container image built into an OCI image layout (``layout/``, tag ``demo``), standing
   in for the image a buildah TaskRun pushes;
3. SLSA provenance for that TaskRun, as Chains' default ``in-toto`` format makes it;
4. the image signed (``.sig``), the provenance attested (``.att``, DSSE), an SBOM generated,
   attached (``.sbom``) and attested (CycloneDX predicate) — all stored where cosign looks;
5. everything verified again with ``cosign.pub``, and a signature by another key refused.

Progress goes to stderr; a JSON summary (paths, digest, tags, verified predicate types) to
stdout. Exit 0 only if every verification held.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import click

from konflux_supply.errors import VerificationError

IMAGE_NAME = "quay.io/konflux-demo/app"
#: Written into the work directory so that a re-run may replace what an earlier demo made.
MARKER = ".konflux-supply-demo"
GREETING = b"hello from the konflux-supply demo\n"


def register(group: click.Group) -> None:
    """Add the ``demo`` command."""
    group.add_command(demo)


def _say(message: str) -> None:
    click.echo(message, err=True)


def _layer_tar() -> bytes:
    """A reproducible one-file filesystem layer (fixed times and owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode, info.mtime = len(GREETING), 0o644, 0
        tar.addfile(info, io.BytesIO(GREETING))
    return buffer.getvalue()


def _image() -> tuple[bytes, bytes, bytes]:
    """``(config, compressed layer, manifest)`` of the demo image (deterministic bytes)."""
    tar = _layer_tar()
    layer = gzip.compress(tar, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["cat", "/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [_sha256(tar)]},
        },
        separators=(",", ":"),
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": _sha256(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "size": len(layer),
                    "digest": _sha256(layer),
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    return config, layer, manifest


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _task_run(digest: str) -> dict[str, Any]:
    """A finished buildah-style TaskRun that reports the image it built, as Chains sees it."""
    step_image = "registry.access.redhat.com/ubi9/buildah"
    step_digest = "sha256:" + hashlib.sha256(b"buildah step image").hexdigest()
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": "demo-build-7xk2p",
            "namespace": "konflux-demo",
            "uid": "2f1c6d0e-5b7a-4e39-9d61-0c8a1f3b2e77",
            "labels": {"tekton.dev/task": "buildah"},
        },
        "spec": {
            "params": [{"name": "IMAGE", "value": f"{IMAGE_NAME}:latest"}],
            "taskRef": {"name": "buildah", "kind": "Task"},
            "serviceAccountName": "build-pipeline",
        },
        "status": {
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
            "startTime": "2026-11-21T10:00:00Z",
            "completionTime": "2026-11-21T10:01:30Z",
            "podName": "demo-build-7xk2p-pod",
            "steps": [
                {
                    "name": "build",
                    "container": "step-build",
                    "imageID": f"{step_image}@{step_digest}",
                    "terminated": {"exitCode": 0, "reason": "Completed"},
                }
            ],
            "results": [
                {"name": "IMAGE_URL", "type": "string", "value": f"{IMAGE_NAME}:latest"},
                {"name": "IMAGE_DIGEST", "type": "string", "value": digest},
            ],
            "taskSpec": {
                "params": [{"name": "IMAGE", "type": "string"}],
                "results": [{"name": "IMAGE_URL"}, {"name": "IMAGE_DIGEST"}],
                "steps": [
                    {
                        "name": "build",
                        "image": step_image,
                        "script": 'buildah build --tag "$(params.IMAGE)" . && buildah push ...',
                    }
                ],
            },
        },
    }


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("konflux-supply-demo"),
    show_default=True,
    help="Directory for the key pair, the OCI layout and the outputs (new, empty, or an "
    "earlier demo's, which is replaced).",
)
def demo(workdir: Path) -> None:
    """Build, sign, attest and verify an image end to end (offline, embedded defaults)."""
    existed = workdir.exists()
    try:
        _run(workdir)
    except BaseException:
        # A failed or interrupted demo leaves nothing half-made behind (only what it made).
        if (workdir / MARKER).is_file():
            shutil.rmtree(workdir, ignore_errors=True)
            if existed:
                workdir.mkdir(parents=True, exist_ok=True)
        raise


def _run(workdir: Path) -> None:
    from konflux_supply import oci, provenance, publish, sbom, signing, verify
    from konflux_supply.errors import InputError
    from konflux_supply.models.oci import parse_manifest

    if (workdir / MARKER).is_file():
        shutil.rmtree(workdir)  # an earlier demo's output: start afresh
    elif workdir.exists() and any(workdir.iterdir()):
        raise InputError(
            "the directory is not empty and was not made by an earlier demo",
            source=str(workdir),
            hint="pass --workdir with a new or empty directory",
        )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by `konflux-supply demo`; a re-run replaces this folder\n")

    # 1. Keys.
    pair = signing.generate_key_pair(b"")
    key_path, pub_path = signing.write_key_pair(pair, workdir / "cosign")
    signer = signing.load_signer(str(key_path), secrets=lambda _what: b"")
    verifier = signing.load_verifier(str(pub_path))
    _say(f"1. key pair: {key_path} (empty password), {pub_path}")

    # 2. The image, in an OCI layout.
    layout = workdir / "layout"
    registry, tagged = oci.open_registry(f"oci:{layout}:demo")
    try:
        config, layer, manifest_bytes = _image()
        registry.put_blob(tagged.repository, config)
        registry.put_blob(tagged.repository, layer)
        manifest = parse_manifest(manifest_bytes)
        registry.put_manifest(tagged.repository, "demo", manifest)
        image = tagged.with_digest(manifest.digest)
        _say(f"2. image built into {layout}: {image}")

        # 3. Provenance, as Chains' default format makes it for the TaskRun.
        run = _task_run(manifest.digest)
        statement = provenance.generate(run, format="in-toto")
        (workdir / "taskrun.json").write_text(json.dumps(run, indent=2) + "\n")
        (workdir / "provenance.json").write_bytes(statement.to_json() + b"\n")
        for warning in statement.warnings:
            _say(f"   warning: {warning}")
        subjects = ", ".join(
            f"{s.name}@sha256:{s.digest.get('sha256', '')[:12]}…" for s in statement.subject
        )
        _say(f"3. provenance ({statement.predicate_type}) for subjects: {subjects}")

        # 4. Sign, attest, SBOM.
        options = publish.PublishOptions()
        signed = publish.sign_image(registry, image, signer, options=options, identity=IMAGE_NAME)
        publish.attest_statement(registry, image, statement.to_json(), signer, options=options)
        bom = sbom.generate(
            str(image),
            repository=IMAGE_NAME,
            components=[
                {
                    "type": "file",
                    "name": "hello.txt",
                    "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(GREETING).hexdigest()}],
                }
            ],
        )
        sbom_bytes = bom.to_bytes()
        (workdir / "sbom.cdx.json").write_bytes(sbom_bytes)
        publish.attach_sbom(registry, image, bom, options=options)
        publish.attest_sbom(registry, image, bom, signer, options=options)
        _say(f"4. signed:   {signed.location}")
        _say(f"   attested: {oci.triangulate(image, oci.Kind.ATTESTATION)} (provenance + SBOM)")
        _say(f"   SBOM:     {oci.triangulate(image, oci.Kind.SBOM)}")

        # 5. Verify with cosign.pub; a key that did not sign must be refused.
        keys = verify.Keys([verifier])
        verified = verify.verify_signatures(registry, image, keys)
        provenance_type = verify.PredicateType(statement.predicate_type)
        slsa = verify.verify_attestations(registry, image, verify.AllOf(keys, provenance_type))
        sbom_type = verify.PredicateType("cyclonedx")
        cyclonedx = verify.verify_attestations(registry, image, verify.AllOf(keys, sbom_type))
        stranger = signing.verifier_from_pem(signing.generate_key_pair(b"").public_pem)
        try:
            verify.verify_signatures(registry, image, [stranger])
        except VerificationError as refused:
            refusal = refused.summary()
        else:
            raise VerificationError("a signature verified under a key that never signed")
        _say(
            f"5. verified with {pub_path}: {len(verified.signatures)} signature, "
            f"{len(slsa.attestations)} provenance and {len(cyclonedx.attestations)} SBOM "
            f"attestation(s); another key was refused ({refusal})"
        )
    finally:
        registry.close()

    summary = {
        "workdir": str(workdir),
        "image": str(image),
        "publicKey": str(pub_path),
        "signatureTag": str(oci.triangulate(image, oci.Kind.SIGNATURE)),
        "attestationTag": str(oci.triangulate(image, oci.Kind.ATTESTATION)),
        "sbomTag": str(oci.triangulate(image, oci.Kind.SBOM)),
        "verified": {
            "signatures": len(verified.signatures),
            "attestations": [statement.predicate_type, sbom_type.uri],
        },
        "next": [
            f"konflux-supply verify --key {pub_path} {image}",
            f"konflux-supply verify-attestation --key {pub_path} --type slsaprovenance {image}",
        ],
    }
    click.echo(json.dumps(summary, indent=2))
