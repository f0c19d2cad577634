"""Chains' ``artifacts.oci``: a simple-signing signature for every image a TaskRun built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from konflux_supply import provenance
from konflux_supply.chains._context import Context, b64, disabled, state, unb64
from konflux_supply.chains._oci import describe, image_reference
from konflux_supply.chains._outcome import ArtifactStatus, StoreResult
from konflux_supply.chains._transparency import failure
from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.signing import simple_signing
from konflux_supply.signing.rekor import RekorEntry

__all__ = ["sign_images"]


def _sign_image(ctx: Context, repository: str, digest: str) -> ArtifactStatus:
    art = ctx.config.oci
    key = f"{repository}@{digest}"
    short = digest.removeprefix("sha256:")[:12]
    try:
        signer = ctx.signer(art)
        verifier, _ = ctx.key_of(signer)
        pem = signer.public_key_pem()
        payload = simple_signing.payload(repository, digest)
        image = image_reference(repository, digest)
    except KonfluxSupplyError as error:
        return ArtifactStatus("oci", key, "failed", describe(error))
    signature: bytes | None = None
    if ctx.existing.get(f"chains.tekton.dev/payload-{short}") == b64(payload):
        candidate = unb64(ctx.existing.get(f"chains.tekton.dev/signature-{short}"))
        try:
            if candidate is not None:
                verifier.verify(candidate, payload)
                signature = candidate
        except (InputError, VerificationError):
            signature = None
    stores: list[StoreResult] = []
    missing = False
    entry: RekorEntry | None = None
    try:
        if "oci" in art.storage:
            try:
                registry = ctx.registry_for(image)
                layers: list[tuple[bytes, str | None]]
                if ctx.store.bundles:
                    present, found = ctx.store.find_signature(registry, image, payload, verifier)
                    layers = [(found, None)] if found is not None else []
                else:
                    layers = ctx.store.signature_layers(registry, image, payload, verifier)
                    present = bool(layers)
            except KonfluxSupplyError as error:
                stores.append(StoreResult("oci", key, error=describe(error)))
            else:
                if ctx.tlog is not None:
                    # only a layer whose Rekor bundle verifies counts as stored
                    for found_signature, bundle in layers:
                        entry = ctx.tlog.existing_signature(bundle, payload, found_signature, pem)
                        if entry is not None:
                            signature = found_signature
                            break
                    present = entry is not None
                if layers:
                    signature = signature or layers[0][0]
                if present:
                    stores.append(StoreResult("oci", key, written=False))
                missing = not present
        if signature is None and (missing or "tekton" in art.storage):
            signature = signer.sign(payload)
    except KonfluxSupplyError as error:
        return ArtifactStatus("oci", key, "failed", describe(error), tuple(stores), payload)
    if ctx.tlog is not None and signature is not None and entry is None:
        try:
            entry = ctx.tlog.log_signature(payload, signature, pem)
        except KonfluxSupplyError as error:
            return ArtifactStatus(
                "oci", key, "failed", failure(error), tuple(stores), payload, signature
            )
    if missing:
        assert signature is not None
        try:
            where = ctx.store.store_signature(
                ctx.registry_for(image),
                image,
                payload,
                signature,
                signer,
                bundle=entry.cosign_bundle() if entry is not None else None,
            )
            stores.append(StoreResult("oci", where, written=True))
        except KonfluxSupplyError as error:
            stores.append(StoreResult("oci", key, error=describe(error)))
    if "tekton" in art.storage and signature is not None:
        stores.insert(0, ctx.tekton(short, payload, signature))
    if entry is not None:
        stores.append(ctx.logged(entry))
    outcome, cause = state(signature, stores)
    url = entry.url(ctx.tlog.url) if entry is not None and ctx.tlog is not None else None
    return ArtifactStatus("oci", key, outcome, cause, tuple(stores), payload, signature, url)


def sign_images(ctx: Context, run: Mapping[str, Any]) -> list[ArtifactStatus]:
    """One status per image in the TaskRun's results (or one ``*`` status)."""
    off = disabled(ctx.config.oci)
    if off is not None:
        return [ArtifactStatus("oci", "*", "skipped", off)]
    try:
        images = provenance.oci_images(run)
    except KonfluxSupplyError as error:
        return [ArtifactStatus("oci", "*", "failed", describe(error))]
    return [_sign_image(ctx, repository, digest) for repository, digest in images]
