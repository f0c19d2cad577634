"""The release gate's policy layer: Rego evaluation of an EnterpriseContractPolicy.

The ``ec.*`` builtins live in :mod:`konflux_supply.policy.builtins`.
"""

from __future__ import annotations

from konflux_supply.policy.builtins import (
    BuiltinContext,
    BuiltinError,
    BuiltinLimits,
    make_builtins,
)

__all__ = ["BuiltinContext", "BuiltinError", "BuiltinLimits", "make_builtins"]
