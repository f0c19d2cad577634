"""konflux-supply: supply-chain security for Tekton and Konflux.

Chains-compatible SLSA provenance (:mod:`konflux_supply.provenance`), cosign-compatible keys and
signatures (:mod:`konflux_supply.signing`), signatures, attestations and SBOMs stored as OCI
artifacts (:mod:`konflux_supply.oci`, :mod:`konflux_supply.sbom`).

Submodules are imported lazily, on first use, so that ``import konflux_supply`` stays cheap;
both spellings work::

    from konflux_supply import provenance, signing, oci
    import konflux_supply
    konflux_supply.oci.parse_reference("quay.io/team/app:v1")
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

__all__ = ["__version__"]

#: The public subpackages, loaded by :func:`__getattr__` when first named.
_SUBMODULES = frozenset(
    {
        "errors",
        "models",
        "oci",
        "policy",
        "provenance",
        "publish",
        "release",
        "sbom",
        "signing",
        "verify",
    }
)


def __getattr__(name: str) -> ModuleType:
    """``konflux_supply.oci`` and the like: the submodule, imported on first use (PEP 562)."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES})
