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

from collections.abc import Iterable
from typing import Any

from konflux_supply.errors import InputError

from . import _slsa02, _slsa1
from ._hints import oci_images as _oci_images
from ._hints import subjects_v02
from ._run import PIPELINE_RUN, TASK_RUN, Run, executed, load_run, match_children
from ._slsa1 import SLSA_BUILD_TYPE, TEKTON_BUILD_TYPE
from ._statement import Statement

__all__ = [
    "BUILD_TYPES",
    "DEFAULT_BUILDER_ID",
    "FORMATS",
    "SLSA_BUILD_TYPE",
    "TEKTON_BUILD_TYPE",
    "Statement",
    "artifact_uris",
    "generate",
    "oci_images",
]

FORMATS = ("in-toto", "slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4")
"""Accepted ``format`` values (``in-toto`` is an alias of ``slsa/v1``)."""
BUILD_TYPES = (SLSA_BUILD_TYPE, TEKTON_BUILD_TYPE)
"""Accepted ``build_type`` values for the SLSA v1.0 formats (``None`` = ``SLSA_BUILD_TYPE``)."""
DEFAULT_BUILDER_ID = "https://tekton.dev/chains/v2"
"""Chains' default ``builder.id``."""

_STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
_STATEMENT_V1 = "https://in-toto.io/Statement/v1"
_SLSA_V02 = "https://slsa.dev/provenance/v0.2"
_SLSA_V1 = "https://slsa.dev/provenance/v1"


def _check_format(format: Any) -> str:
    if format not in FORMATS:
        raise InputError(
            f"unknown provenance format {format!r} (use one of: {', '.join(FORMATS)})",
            field="format",
        )
    return str(format)


def _load(run: Any, children: Iterable[Any] | None, warnings: list[str]) -> tuple[Run, list[Run]]:
    main = load_run(run, warnings)
    kids = [
        load_run(child, warnings, where=f"children[{index}].", expect=TASK_RUN)
        for index, child in enumerate(children or ())
    ]
    if kids and main.kind == TASK_RUN:
        warnings.append("child TaskRuns are only read for a PipelineRun; ignored for this TaskRun")
    return main, kids


def _unique(warnings: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(warnings))


def generate(
    run: Any,
    *,
    format: str,
    builder_id: str = DEFAULT_BUILDER_ID,
    build_type: str | None = None,
    deep_inspection: bool = False,
    children: Iterable[Any] = (),
) -> Statement:
    """Make the in-toto statement Chains would make for ``run``.

    ``children`` are the PipelineRun's TaskRuns (Chains reads them from the cluster); they are
    matched to pipeline tasks by their ``tekton.dev/pipelineTask`` label. ``deep_inspection``
    also takes subjects and inputs from the children (Chains'
    ``artifacts.pipelinerun.enable-deep-inspection``). ``build_type`` applies to the SLSA v1.0
    formats only.
    """
    fmt = _check_format(format)
    if type(builder_id) is not str:
        raise InputError("builder id must be a string", field="builder_id")
    if build_type not in (None, "", *BUILD_TYPES):
        raise InputError(
            f"unsupported build type {build_type!r} (use {SLSA_BUILD_TYPE} or {TEKTON_BUILD_TYPE})",
            field="build_type",
        )
    warnings: list[str] = []
    try:
        main, kids = _load(run, children, warnings)
        if fmt in ("in-toto", "slsa/v1"):
            if build_type:
                warnings.append(
                    f"build type {build_type!r} applies to SLSA v1.0 formats only; ignored"
                )
            if main.kind == TASK_RUN:
                subject, predicate = _slsa02.task_run(main, builder_id, warnings)
            else:
                subject, predicate = _slsa02.pipeline_run(
                    main, kids, builder_id, deep_inspection, warnings
                )
            return Statement(_STATEMENT_V01, subject, _SLSA_V02, predicate, _unique(warnings))
        alpha4 = fmt == "slsa/v2alpha4"
        kind = build_type or SLSA_BUILD_TYPE
        if main.kind == TASK_RUN:
            subject, predicate = _slsa1.task_run(main, builder_id, kind, alpha4, warnings)
        else:
            subject, predicate = _slsa1.pipeline_run(
                main, kids, builder_id, kind, alpha4, deep_inspection, warnings
            )
        return Statement(_STATEMENT_V1, subject, _SLSA_V1, predicate, _unique(warnings))
    except RecursionError:
        raise InputError("the document is nested too deeply") from None


def oci_images(run: Any) -> list[tuple[str, str]]:
    """The images Chains signs with simple signing for a finished TaskRun.

    Chains' ``ExtractOCIImagesFromResults`` over the TaskRun's own results (``*IMAGE_URL`` /
    ``*IMAGE_DIGEST`` pairs, ``IMAGES``, OCI build artifacts) as normalised
    ``(repository, "sha256:<hex>")`` pairs without duplicates. A PipelineRun gets no image
    signatures from Chains: the list is empty.
    """
    warnings: list[str] = []
    try:
        main = load_run(run, warnings)
        if main.kind == PIPELINE_RUN:
            return []
        return _oci_images(main.results(), warnings)
    except RecursionError:
        raise InputError("the document is nested too deeply") from None


def artifact_uris(
    run: Any,
    *,
    format: str,
    deep_inspection: bool = False,
    children: Iterable[Any] = (),
) -> list[str]:
    """Chains' ``RetrieveAllArtifactURIs``: every subject as ``name@alg:hex``.

    This is what the Grafeas backend keys occurrences on; the list follows the subject order.
    """
    fmt = _check_format(format)
    warnings: list[str] = []
    try:
        main, kids = _load(run, children, warnings)
        alpha4 = fmt == "slsa/v2alpha4"
        if main.kind == TASK_RUN:
            subjects = (
                _slsa1.task_subjects_v4(main, warnings)
                if alpha4
                else subjects_v02(main.results(), warnings)
            )
        else:
            done = executed(main, match_children(main, kids, warnings), warnings)
            pick = _slsa1.pipeline_subjects_v4 if alpha4 else _slsa02.pipeline_subjects
            subjects = pick(main, done, deep_inspection, warnings)
        return [f"{s['name']}@{alg}:{hex_}" for s in subjects for alg, hex_ in s["digest"].items()]
    except RecursionError:
        raise InputError("the document is nested too deeply") from None
