"""Runs, keys and configs for the chains tests (unit and integration)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import chains, oci, signing
from konflux_supply.oci import Registry
from konflux_supply.oci.cosign import build_signature_image
from konflux_supply.signing import KeySigner

UID = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc"


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_digest(name: str) -> str:
    """The digest of the tiny image :func:`push_named_image` pushes for run ``name`` (what a
    run's ``IMAGE_DIGEST`` names by default: the image must exist to be signed)."""
    return _named_image(name)[0].digest


def _named_image(name: str) -> tuple[Any, bytes]:
    return build_signature_image(
        [], created="2026-12-01T00:00:00Z", annotations={"org.opencontainers.image.title": name}
    )


def push_named_image(registry: Registry, repository: str, name: str) -> str:
    """Push the image of run ``name`` (by digest) to ``repository``; returns its digest."""
    ref = oci.parse_reference(repository)
    manifest, config = _named_image(name)
    registry.put_blob(ref.repository, config, digest=manifest.manifest.config.digest)
    registry.put_manifest(ref.repository, manifest.digest, manifest)
    return str(manifest.digest)


def key_signer() -> KeySigner:
    """A fresh ECDSA P-256 signer (fast: no key file, no scrypt)."""
    return signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))


def task_run(
    *,
    image: str | None = "registry.example/team/app",
    digest: str | None = None,
    name: str = "build-app",
    uid: str = UID,
    succeeded: str = "True",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A finished TaskRun (tekton.dev/v1) whose results name one image (or none)."""
    results = []
    if image is not None:
        results = [
            {"name": "IMAGE_URL", "type": "string", "value": image},
            {"name": "IMAGE_DIGEST", "type": "string", "value": digest or image_digest(name)},
        ]
    run: dict[str, Any] = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": name, "namespace": "team", "uid": uid},
        "spec": {"taskRef": {"name": "buildah", "kind": "Task"}},
        "status": {
            "conditions": [{"type": "Succeeded", "status": succeeded, "reason": "Done"}],
            "startTime": "2026-12-01T10:00:00Z",
            "completionTime": "2026-12-01T10:01:00Z",
            "podName": f"{name}-pod",
            "results": results,
            "steps": [
                {
                    "name": "build",
                    "container": "step-build",
                    "imageID": "docker-pullable://quay.io/buildah/stable@" + digest_of("buildah"),
                }
            ],
            "taskSpec": {"steps": [{"name": "build", "image": "quay.io/buildah/stable"}]},
        },
    }
    if annotations:
        run["metadata"]["annotations"] = dict(annotations)
    return run


def patched(run: dict[str, Any], outcome: chains.SignOutcome) -> dict[str, Any]:
    """The run after applying the outcome's merge patch to its annotations."""
    out = copy.deepcopy(run)
    annotations = out["metadata"].setdefault("annotations", {})
    for key, value in outcome.annotations_to_patch().items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    return out


def from_data(data: dict[str, str]) -> chains.Config:
    return chains.Config.from_data(data)


def decode(annotations: dict[str, str], key: str) -> bytes:
    return base64.b64decode(annotations[key], validate=True)


def write_cosign_secrets(directory: Path, password: bytes = b"s3cret") -> bytes:
    """``cosign.key`` + ``cosign.password`` as Chains' signing-secrets hold them; returns the
    public key PEM."""
    pair = signing.generate_key_pair(password, scrypt=signing.LEGACY_SCRYPT)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cosign.key").write_bytes(pair.private_pem)
    (directory / "cosign.password").write_bytes(password)
    return pair.public_pem


def statement_of(annotations: dict[str, str], key: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(decode(annotations, f"chains.tekton.dev/payload-{key}"))
    return loaded


def push_image(registry: Registry, name: str, tag: str = "latest") -> str:
    """Push a tiny image (an empty-filesystem manifest) to ``name``; returns its digest."""
    ref = oci.parse_reference(f"{name}:{tag}")
    manifest, config = build_signature_image([], created="2026-12-01T00:00:00Z")
    registry.put_blob(ref.repository, config, digest=manifest.manifest.config.digest)
    registry.put_manifest(ref.repository, tag, manifest)
    return manifest.digest
