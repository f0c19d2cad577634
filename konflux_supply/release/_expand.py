"""Image-index expansion, as Conforma: each index also brings one component per manifest.

A component whose image is an OCI index (or Docker manifest list) is kept, and each manifest
of the index becomes a component named ``<name>-<child digest>-<arch>`` with image
``<repository>@<child digest>`` (the index itself is validated too). An image that cannot be
looked at here is left as it is with a warning: its own validation reports the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from konflux_supply import oci
from konflux_supply.errors import KonfluxSupplyError
from konflux_supply.models.oci import INDEX_MEDIA_TYPES
from konflux_supply.release.snapshot import Component, child_component_name

__all__ = ["expand_indexes"]

_LOG = logging.getLogger(__name__)


def _children(pool: oci.RegistryPool, component: Component) -> list[Component]:
    try:
        registry, ref = pool.open(component.container_image)
        head = registry.head_manifest(ref.repository, ref.identifier)
        if head is None or head.media_type not in INDEX_MEDIA_TYPES:
            return []
        manifest = registry.get_manifest(ref.repository, ref.identifier)
    except KonfluxSupplyError as error:
        _LOG.warning("could not check %s for an image index: %s", component.container_image, error)
        return []
    if manifest is None or not manifest.is_index:
        return []
    children = []
    for index, entry in enumerate(manifest.index.manifests):
        platform = entry.platform or {}
        arch = platform.get("architecture") if isinstance(platform, dict) else None
        children.append(
            replace(
                component,
                name=child_component_name(component.name, entry.digest, arch or "", index),
                container_image=f"{ref.name}@{entry.digest}",
            )
        )
    return children


def expand_indexes(
    pool: oci.RegistryPool, components: Sequence[Component], *, workers: int = 5
) -> list[Component]:
    """``components`` plus the manifests of every image index among them, sorted by image
    (as Conforma sorts the expanded Snapshot)."""
    if not components:
        return []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as executor:
        found = list(executor.map(lambda c: _children(pool, c), components))
    expanded: list[Component] = []
    for component, children in zip(components, found, strict=True):
        expanded.append(component)
        expanded.extend(children)
    return sorted(expanded, key=lambda c: c.container_image)
