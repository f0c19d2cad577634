"""SLSA provenance for Tekton runs, statement for statement what Tekton Chains produces.

::

    from konflux_supply import provenance

    stmt = provenance.generate(run, format="slsa/v1", children=[task_run, ...])
    payload = stmt.to_json()          # the exact bytes to sign
    for warning in stmt.warnings:     # type hints and child runs that were dropped, and why
        ...

Formats (Chains' names): ``in-toto`` and ``slsa/v1`` (the same formatter: in-toto Statement
v0.1 with a SLSA v0.2 predicate), ``slsa/v2alpha3`` and ``slsa/v2alpha4`` (Statement v1, SLSA
v1.0). ``run`` is a TaskRun or PipelineRun as parsed JSON/YAML, ``tekton.dev/v1`` or
``v1beta1``. Everything here is a pure function of its arguments: no I/O, no clock.

Malformed type hints are dropped as Chains drops them, and reported in ``warnings``. Where
Chains cannot build the payload at all (a step or sidecar ``imageID`` without a digest, a
result or param without a value, a field of the wrong JSON type) :class:`InputError` is raised,
naming the field. No other exception escapes.
"""

from __future__ import annotations

from konflux_supply.provenance._format import DEFAULT_BUILDER_ID, FORMATS, Format
from konflux_supply.provenance._generate import BUILD_TYPES, artifact_uris, generate, oci_images
from konflux_supply.provenance._slsa1 import SLSA_BUILD_TYPE, TEKTON_BUILD_TYPE
from konflux_supply.provenance._statement import Statement

__all__ = [
    "BUILD_TYPES",
    "DEFAULT_BUILDER_ID",
    "FORMATS",
    "SLSA_BUILD_TYPE",
    "TEKTON_BUILD_TYPE",
    "Format",
    "Statement",
    "artifact_uris",
    "generate",
    "oci_images",
]
