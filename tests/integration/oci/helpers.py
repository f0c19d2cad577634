"""Helpers for the OCI integration tests: push a small image, make attachment layers."""

from __future__ import annotations

import json

from konflux_supply.oci import (
    Layer,
    Reference,
    Registry,
    parse_reference,
)
from konflux_supply.oci.cosign import (
    DSSE_ENVELOPE,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    build_signature_image,
)


def push_image(registry: Registry, reference: str, content: bytes = b"layer") -> Reference:
    """Push a one-layer image under ``reference``'s tag; returns it pinned to its digest."""
    ref = parse_reference(reference)
    layer = Layer("application/vnd.oci.image.layer.v1.tar", content)
    manifest, config = build_signature_image([layer.descriptor()], created="2024-01-01T00:00:00Z")
    registry.put_blob(ref.repository, layer.data)
    registry.put_blob(ref.repository, config)
    registry.put_manifest(ref.repository, ref.tag or manifest.digest, manifest)
    return ref.with_digest(manifest.digest)


def sig_layer(name: str) -> Layer:
    return Layer(
        SIMPLE_SIGNING, json.dumps({"writer": name}).encode(), {SIGNATURE_ANNOTATION: name}
    )


def att_layer(name: str) -> Layer:
    envelope = json.dumps({"payloadType": "application/vnd.in-toto+json", "payload": name})
    return Layer(
        DSSE_ENVELOPE,
        envelope.encode(),
        {SIGNATURE_ANNOTATION: "", "predicateType": "https://example.com/p"},
    )
