"""Release policy: Rego engines (embedded regorus, remote OPA), annotations, tests and lint."""

from konflux_supply.policy.annotations import PackageInfo, RuleInfo, package_infos, rule_infos
from konflux_supply.policy.engine import (
    BuiltinFunction,
    Builtins,
    BuiltinsFactory,
    Engine,
    EngineResult,
    Module,
    OpaEngine,
    RegorusEngine,
    read_modules,
)

__all__ = [
    "BuiltinFunction",
    "Builtins",
    "BuiltinsFactory",
    "Engine",
    "EngineResult",
    "Module",
    "OpaEngine",
    "PackageInfo",
    "RegorusEngine",
    "RuleInfo",
    "package_infos",
    "read_modules",
    "rule_infos",
]
