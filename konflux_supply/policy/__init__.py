"""The release policy: EnterpriseContractPolicy, rule selection, evaluation (as Conforma)."""

from __future__ import annotations

from konflux_supply.policy.config import (
    Configuration,
    EnterpriseContractPolicy,
    Identity,
    Source,
    SourceConfig,
    VolatileConfig,
    VolatileCriterion,
    load_policy,
)
from konflux_supply.policy.criteria import (
    Criteria,
    Outcome,
    RuleInfoLike,
    UnmatchedCriterion,
    original_component_name,
    score_results,
)

__all__ = [
    "Configuration",
    "Criteria",
    "EnterpriseContractPolicy",
    "Identity",
    "Outcome",
    "RuleInfoLike",
    "Source",
    "SourceConfig",
    "UnmatchedCriterion",
    "VolatileConfig",
    "VolatileCriterion",
    "load_policy",
    "original_component_name",
    "score_results",
]
