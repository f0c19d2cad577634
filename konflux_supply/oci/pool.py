"""Opening registries: one for a reference, or a pool that shares them (one per host).

The only module that knows the implementations (:mod:`._http`, :mod:`._layout`); they and the
rest of :mod:`konflux_supply.oci` depend on the :class:`~.registry.Registry` protocol only.
"""

from __future__ import annotations

import threading

from konflux_supply.oci.options import RegistryOptions
from konflux_supply.oci.reference import Reference, parse_reference
from konflux_supply.oci.registry import Registry

__all__ = ["RegistryPool", "open_registry"]


def _new(reference: Reference, options: RegistryOptions) -> Registry:
    # Imported when first needed: ``requests`` costs start-up time a layout never needs.
    if reference.layout:
        from konflux_supply.oci._layout import LayoutRegistry

        return LayoutRegistry(reference.repository, options)
    from konflux_supply.oci._http import HttpRegistry

    return HttpRegistry(reference.registry, options)


def open_registry(
    reference: str | Reference, *, options: RegistryOptions | None = None
) -> tuple[Registry, Reference]:
    """Parse ``reference`` (if a string) and open the registry or layout that holds it.

    The caller closes the registry (``registry.close()``) when done.
    """
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    return _new(ref, options or RegistryOptions()), ref


class RegistryPool:
    """Registries opened once and shared (one connection pool per host), thread-safe.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions()
        self._lock = threading.Lock()
        self._open: dict[tuple[bool, str], Registry] = {}

    def open(self, reference: str | Reference) -> tuple[Registry, Reference]:
        """The (shared) registry for ``reference``, and the parsed reference."""
        ref = parse_reference(reference) if isinstance(reference, str) else reference
        key = (ref.layout, ref.repository if ref.layout else ref.registry)
        with self._lock:
            registry = self._open.get(key)
            if registry is None:
                registry = _new(ref, self.options)
                self._open[key] = registry
        return registry, ref

    def close(self) -> None:
        """Close every registry opened through this pool."""
        with self._lock:
            registries = list(self._open.values())
            self._open.clear()
        for registry in registries:
            registry.close()

    def __enter__(self) -> RegistryPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
