"""konflux-supply: supply-chain security for Tekton and Konflux.

Chains-compatible SLSA provenance (:mod:`konflux_supply.provenance`), cosign-compatible keys and
signatures (:mod:`konflux_supply.signing`), signatures, attestations and SBOMs stored as OCI
artifacts (:mod:`konflux_supply.oci`, :mod:`konflux_supply.sbom`).

Submodules are imported lazily so that ``import konflux_supply`` stays cheap::

    from konflux_supply import provenance, signing, oci
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
