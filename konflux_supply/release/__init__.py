"""Release gate: validate a Snapshot's images against an EnterpriseContractPolicy."""

from __future__ import annotations

from konflux_supply.release.snapshot import (
    UNNAMED,
    Component,
    GitSource,
    Snapshot,
    child_component_name,
    load_snapshot,
)

__all__ = [
    "UNNAMED",
    "Component",
    "GitSource",
    "Snapshot",
    "child_component_name",
    "load_snapshot",
]
