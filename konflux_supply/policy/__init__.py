"""Release-gate policy: ECP evaluation, Rego engines, ``ec.*`` builtins and reports.

Reports: :mod:`konflux_supply.policy.report` (the Conforma-shaped :class:`Report`, merge,
shards) and :mod:`konflux_supply.policy.outputs` (``--output`` parsing and rendering).
"""

from __future__ import annotations

from konflux_supply.policy.input_report import InputFileReport, InputReport
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

__all__ = [
    "FORMATS",
    "INPUT_FORMATS",
    "AttestationResult",
    "ComponentError",
    "ComponentReport",
    "InputFileReport",
    "InputReport",
    "OutputTarget",
    "RenderOptions",
    "Report",
    "merge",
    "parse_output",
    "parse_outputs",
    "parse_shard",
    "render",
    "select_shard",
    "write_outputs",
]
