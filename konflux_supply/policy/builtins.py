"""Conforma's custom Rego builtins (``ec.oci.*``, ``ec.purl.*``, ``ec.sigstore.*``) in Python.

::

    from konflux_supply.policy.builtins import BuiltinContext, make_builtins

    ctx = BuiltinContext(registry=oci.RegistryOptions(...))   # one per component
    for name, (nargs, function) in make_builtins(ctx).items():
        engine.add_extension(name, nargs, function)            # None must become undefined
    ...
    if ctx.unavailable:                                         # a registry could not answer
        ...                                                     # the component is an ERROR

Each function takes Rego values as Python values (sets arrive as ``set``) and returns a
JSON-like value, or ``None`` for *undefined* (never Rego ``null``; the engine maps it). They
never raise for bad arguments or registry failures: like Conforma's they answer undefined
(``ec.sigstore.*``: ``success: false``), but unlike Conforma every registry failure is also
recorded on ``ctx.errors`` so that "a rule saw undefined because the registry failed" cannot
pass as a verdict (ADR 0058). Results are memoised on ``ctx`` for its lifetime.

Builtins and shapes: reference/conforma.md §5.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from konflux_supply.policy import _ec_oci, _ec_purl, _ec_sigstore
from konflux_supply.policy._ec_context import (
    BuiltinContext,
    BuiltinError,
    BuiltinLimits,
    FailureKind,
)

__all__ = [
    "BUILTIN_NAMES",
    "BuiltinContext",
    "BuiltinError",
    "BuiltinLimits",
    "FailureKind",
    "make_builtins",
]

_CONTEXT_BUILTINS: dict[str, tuple[int, Callable[..., Any]]] = {
    "ec.oci.blob": (1, _ec_oci.blob),
    "ec.oci.parsed_blob": (1, _ec_oci.parsed_blob),
    "ec.oci.blob_files": (2, _ec_oci.blob_files),
    "ec.oci.descriptor": (1, _ec_oci.descriptor),
    "ec.oci.image_manifest": (1, _ec_oci.image_manifest),
    "ec.oci.image_manifests": (1, _ec_oci.image_manifests),
    "ec.oci.image_index": (1, _ec_oci.image_index),
    "ec.oci.image_files": (2, _ec_oci.image_files),
    "ec.oci.image_tag_refs": (1, _ec_oci.image_tag_refs),
    "ec.oci.image_referrers": (1, _ec_oci.image_referrers),
    "ec.sigstore.verify_image": (2, _ec_sigstore.verify_image),
    "ec.sigstore.verify_attestation": (2, _ec_sigstore.verify_attestation),
}
_PURE_BUILTINS: dict[str, tuple[int, Callable[..., Any]]] = {
    "ec.purl.is_valid": (1, _ec_purl.is_valid),
    "ec.purl.parse": (1, _ec_purl.parse),
}

#: Every builtin :func:`make_builtins` provides, sorted.
BUILTIN_NAMES: tuple[str, ...] = tuple(sorted({**_CONTEXT_BUILTINS, **_PURE_BUILTINS}))


def make_builtins(ctx: BuiltinContext) -> dict[str, tuple[int, Callable[..., Any]]]:
    """``{name: (number of arguments, function)}`` of every ``ec.*`` builtin, bound to ``ctx``.

    A function returns ``None`` for *undefined*. Build a new context (and call this again)
    for each component: nothing is remembered across contexts.
    """
    table: dict[str, tuple[int, Callable[..., Any]]] = dict(_PURE_BUILTINS)
    for name, (nargs, function) in _CONTEXT_BUILTINS.items():
        table[name] = (nargs, partial(function, ctx))
    return dict(sorted(table.items()))
