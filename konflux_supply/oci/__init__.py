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

This face is what a user calls; wire-level helpers (building signature images, pushing
referrers, the lossless-append loop) live in the public submodules :mod:`.cosign`,
:mod:`.referrers`, :mod:`.append`. Signing and storing together is
:mod:`konflux_supply.publish`.
"""

from __future__ import annotations

from konflux_supply.oci.append import AppendLock, AppendPolicy, HostFileLock, ThreadLocks
from konflux_supply.oci.copy import CopyOutcome, copy_image
from konflux_supply.oci.cosign import (
    AttachedLayer,
    Attachments,
    Kind,
    Layer,
    append_layer,
    read_attachments,
    resolve,
    triangulate,
)
from konflux_supply.oci.options import (
    Credentials,
    DockerConfig,
    Limits,
    RegistryOptions,
    RetryPolicy,
)
from konflux_supply.oci.pool import RegistryPool, open_registry
from konflux_supply.oci.reference import Reference, is_loopback, parse_reference
from konflux_supply.oci.referrers import (
    BundleReferrer,
    ReferrerImage,
    Referrers,
    list_referrers,
    read_bundles,
    read_referrer_images,
)
from konflux_supply.oci.registry import Registry, SizeLimitExceeded

#: ``oci.open(ref)`` as in DESIGN.md: the same as :func:`open_registry`. Not in ``__all__``:
#: ``from konflux_supply.oci import *`` must not shadow the builtin ``open``.
open = open_registry

__all__ = [
    "AppendLock",
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
    "Reference",
    "ReferrerImage",
    "Referrers",
    "Registry",
    "RegistryOptions",
    "RegistryPool",
    "RetryPolicy",
    "SizeLimitExceeded",
    "ThreadLocks",
    "append_layer",
    "copy_image",
    "is_loopback",
    "list_referrers",
    "open_registry",
    "parse_reference",
    "read_attachments",
    "read_bundles",
    "read_referrer_images",
    "resolve",
    "triangulate",
]
