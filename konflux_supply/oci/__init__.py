"""OCI storage: references, registries (HTTP and OCI layout), cosign's layout, referrers.

::

    from konflux_supply import oci

    registry, ref = oci.open_registry("registry.example/team/app:v1")
    ref, manifest = oci.resolve(registry, ref)            # tag → digest, once
    sigs = oci.read_attachments(registry, ref, oci.Kind.SIGNATURE)   # caps: options.limits
    oci.append_layer(registry, ref, oci.Kind.SIGNATURE, layer, policy=oci.AppendPolicy())

Every manifest and blob read is checked against the digest asked for and size-capped; a
registry that cannot answer raises :class:`~konflux_supply.errors.RegistryError`, which is
never to be read as "unsigned".
"""

from __future__ import annotations

from konflux_supply.oci.append import (
    AppendLock,
    AppendOutcome,
    AppendPolicy,
    HostFileLock,
    ThreadLocks,
    append_to_tag,
)
from konflux_supply.oci.copy import CopyOutcome, copy_image
from konflux_supply.oci.cosign import (
    AttachedLayer,
    Attachments,
    Kind,
    Layer,
    append_layer,
    build_signature_image,
    read_attachments,
    resolve,
    triangulate,
    write_sbom,
)
from konflux_supply.oci.options import (
    Credentials,
    DockerConfig,
    Limits,
    RegistryOptions,
    RetryPolicy,
)
from konflux_supply.oci.reference import Reference, is_loopback, parse_reference
from konflux_supply.oci.referrers import (
    BundleReferrer,
    ReferrerImage,
    Referrers,
    attach_referrer,
    fallback_tag,
    list_referrers,
    push_referrer,
    read_bundles,
    read_referrer_images,
)
from konflux_supply.oci.registry import (
    PutResult,
    Registry,
    RegistryPool,
    SizeLimitExceeded,
    TransientError,
    open_registry,
)

#: ``oci.open(ref)`` as in DESIGN.md: same as :func:`open_registry`.
open = open_registry

__all__ = [
    "AppendLock",
    "AppendOutcome",
    "AppendPolicy",
    "AttachedLayer",
    "Attachments",
    "BundleReferrer",
    "CopyOutcome",
    "Credentials",
    "DockerConfig",
    "HostFileLock",
    "Kind",
    "Layer",
    "Limits",
    "PutResult",
    "Reference",
    "ReferrerImage",
    "Referrers",
    "Registry",
    "RegistryOptions",
    "RegistryPool",
    "RetryPolicy",
    "SizeLimitExceeded",
    "ThreadLocks",
    "TransientError",
    "append_layer",
    "append_to_tag",
    "attach_referrer",
    "build_signature_image",
    "copy_image",
    "fallback_tag",
    "is_loopback",
    "list_referrers",
    "open",
    "open_registry",
    "parse_reference",
    "push_referrer",
    "read_attachments",
    "read_bundles",
    "read_referrer_images",
    "resolve",
    "triangulate",
    "write_sbom",
]
