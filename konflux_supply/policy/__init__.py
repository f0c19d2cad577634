"""Release-gate policy: the EnterpriseContractPolicy, rule selection, Rego engines, ``ec.*``
builtins and reports (as Conforma's ``ec validate``).

* :mod:`.config` — the ECP; :mod:`.criteria` — include/exclude, effective_on, successes;
* :mod:`.report` — the Conforma-shaped :class:`Report`, merge, shards; :mod:`.outputs` —
  ``--output`` parsing and rendering.
"""

from __future__ import annotations

from konflux_supply.policy.annotations import (
    PackageInfo,
    RuleInfo,
    package_infos,
    rule_infos,
)
from konflux_supply.policy.builtins import (
    BuiltinContext,
    BuiltinError,
    BuiltinLimits,
    make_builtins,
)
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
from konflux_supply.policy.evaluation import (
    EvaluationConfig,
    PreparedPolicy,
    Result,
    SourceGroup,
    evaluate,
    evaluate_documents,
    prepare_policy,
)
from konflux_supply.policy.input_report import (
    InputFileReport,
    InputReport,
)
from konflux_supply.policy.outputs import (
    FORMATS,
    INPUT_FORMATS,
    OutputTarget,
    RenderOptions,
    parse_output,
    parse_outputs,
    render,
    write_outputs,
)
from konflux_supply.policy.report import (
    AttestationResult,
    ComponentError,
    ComponentReport,
    Report,
    merge,
    parse_shard,
    select_shard,
)
from konflux_supply.policy.sources import (
    POLICY_CONFIG_NAMES,
    FetchedSource,
    SourceCache,
    SourceUrl,
    fetch_policy_config,
    is_git_policy,
    load_data,
    merge_data,
    parse_source_url,
    push_bundle,
    read_source_modules,
)

__all__ = [
    "FORMATS",
    "INPUT_FORMATS",
    "POLICY_CONFIG_NAMES",
    "AttestationResult",
    "BuiltinContext",
    "BuiltinError",
    "BuiltinFunction",
    "BuiltinLimits",
    "Builtins",
    "BuiltinsFactory",
    "ComponentError",
    "ComponentReport",
    "Configuration",
    "Criteria",
    "Engine",
    "EngineResult",
    "EnterpriseContractPolicy",
    "EvaluationConfig",
    "FetchedSource",
    "Identity",
    "InputFileReport",
    "InputReport",
    "Module",
    "OpaEngine",
    "Outcome",
    "OutputTarget",
    "PackageInfo",
    "PreparedPolicy",
    "RegorusEngine",
    "RenderOptions",
    "Report",
    "Result",
    "RuleInfo",
    "RuleInfoLike",
    "Source",
    "SourceCache",
    "SourceConfig",
    "SourceGroup",
    "SourceUrl",
    "UnmatchedCriterion",
    "VolatileConfig",
    "VolatileCriterion",
    "evaluate",
    "evaluate_documents",
    "fetch_policy_config",
    "is_git_policy",
    "load_data",
    "load_policy",
    "make_builtins",
    "merge",
    "merge_data",
    "original_component_name",
    "package_infos",
    "parse_output",
    "parse_outputs",
    "parse_shard",
    "parse_source_url",
    "prepare_policy",
    "push_bundle",
    "read_modules",
    "read_source_modules",
    "render",
    "rule_infos",
    "score_results",
    "select_shard",
    "write_outputs",
]
