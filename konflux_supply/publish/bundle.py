"""Sigstore bundle referrers: a DSSE envelope stored as an OCI 1.1 referrer holding a v0.3
bundle, as Tekton Chains' ``storage.oci.encoding-format: sigstore-bundle`` and cosign v3 store
them (manifest ``artifactType`` the bundle media type, annotations
``dev.sigstore.bundle.content`` / ``dev.sigstore.bundle.predicateType`` /
``org.opencontainers.image.created``, an empty config). Key-based bundles carry no
transparency-log entry (verify with :data:`~konflux_supply.verify.UNSAFE_IGNORE_TLOG`).
"""

from __future__ import annotations

import datetime
import json

from konflux_supply.errors import InputError
from konflux_supply.models.dsse import Envelope
from konflux_supply.models.oci import (
    OCI_EMPTY,
    OCI_EMPTY_DATA,
    OCI_MANIFEST,
    Descriptor,
    ImageManifest,
    RawManifest,
)
from konflux_supply.oci import Reference, Registry
from konflux_supply.oci.referrers import push_referrer
from konflux_supply.publish._store import Published, pinned, resolved
from konflux_supply.publish.options import PublishOptions
from konflux_supply.signing import Signer, bundle

__all__ = ["BUNDLE_ARTIFACT_TYPE", "attach_bundle"]

BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def _predicate_type(envelope: Envelope) -> str:
    try:
        statement = json.loads(envelope.payload_bytes)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InputError("the envelope's payload is not JSON", field="envelope.payload") from None
    value = statement.get("predicateType") if isinstance(statement, dict) else None
    if not isinstance(value, str) or not value:
        raise InputError("the statement has no predicateType", field="statement.predicateType")
    return value


def attach_bundle(
    registry: Registry,
    subject: Reference,
    envelope: Envelope,
    signer: Signer,
    *,
    options: PublishOptions | None = None,
    now: datetime.datetime | None = None,
) -> Published:
    """Store ``envelope`` (already signed by ``signer``) for ``subject`` as a bundle referrer.

    ``signer`` gives the bundle's public-key hint; ``now`` the ``created`` annotation.
    """
    opts = options or PublishOptions()
    subject = resolved(registry, subject, require=opts.require_image)
    described = registry.head_manifest(subject.repository, pinned(subject))
    if described is None:
        raise InputError(f"image not found: {subject}", field="image")
    data = bundle.dsse_bundle(envelope, signer)
    layer = Descriptor.for_bytes(data, BUNDLE_ARTIFACT_TYPE)
    config = Descriptor.for_bytes(OCI_EMPTY_DATA, OCI_EMPTY)
    created = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = RawManifest.of(
        ImageManifest(
            schema_version=2,
            media_type=OCI_MANIFEST,
            artifact_type=BUNDLE_ARTIFACT_TYPE,
            config=config,
            layers=[layer],
            subject=Descriptor(
                media_type=described.media_type, size=described.size, digest=described.digest
            ),
            annotations={
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": _predicate_type(envelope),
                "org.opencontainers.image.created": created,
            },
        )
    )
    registry.put_blob(subject.repository, data, digest=layer.digest)
    registry.put_blob(subject.repository, OCI_EMPTY_DATA, digest=config.digest)
    push_referrer(registry, subject, manifest, policy=opts.policy)
    return Published(f"{subject.name}@{manifest.digest}", layer, True, manifest)
