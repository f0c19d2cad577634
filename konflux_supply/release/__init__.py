"""Release gate: validate a Snapshot's images against an EnterpriseContractPolicy.

::

    from konflux_supply import policy, release

    ecp = policy.load_policy("policy.yaml")
    snapshot = release.load_snapshot(images=["snapshot.json"])
    report = release.validate(snapshot, ecp, options=release.ValidateOptions(workers=4))
    report.exit_code()      # 0 pass, 1 violations, 3 no verdict for some component
"""

from __future__ import annotations

from konflux_supply.release._options import Progress, ValidateOptions
from konflux_supply.release._validate import enforce, validate
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
    "Progress",
    "Snapshot",
    "ValidateOptions",
    "child_component_name",
    "enforce",
    "load_snapshot",
    "validate",
]
