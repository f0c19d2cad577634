"""Generation: a run (and its child TaskRuns) to the statement Chains would make."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.provenance import _slsa02, _slsa1
from konflux_supply.provenance._format import DEFAULT_BUILDER_ID, Format, Notes
from konflux_supply.provenance._hints import oci_images as _oci_images
from konflux_supply.provenance._hints import subjects_v02
from konflux_supply.provenance._run import (
    PIPELINE_RUN,
    TASK_RUN,
    Run,
    executed,
    load_run,
    match_children,
)
from konflux_supply.provenance._slsa1 import SLSA_BUILD_TYPE, TEKTON_BUILD_TYPE
from konflux_supply.provenance._statement import Statement

__all__ = ["BUILD_TYPES", "artifact_uris", "generate", "oci_images"]

BUILD_TYPES = (SLSA_BUILD_TYPE, TEKTON_BUILD_TYPE)
"""Accepted ``build_type`` values for the SLSA v1.0 formats (``None`` = ``SLSA_BUILD_TYPE``)."""


def _load(run: Any, children: Iterable[Any] | None, notes: Notes) -> tuple[Run, list[Run]]:
    main = load_run(run, notes)
    kids = [
        load_run(child, notes, where=f"children[{index}].", expect=TASK_RUN)
        for index, child in enumerate(children or ())
    ]
    if kids and main.kind == TASK_RUN:
        notes.warn("child TaskRuns are only read for a PipelineRun; ignored for this TaskRun")
    return main, kids


def generate(
    run: Any,
    *,
    format: str | Format,
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
    fmt = Format.parse(format)
    if type(builder_id) is not str:
        raise InputError("builder id must be a string", field="builder_id")
    if not builder_id.strip():
        raise InputError("builder id must not be empty (it names who built)", field="builder_id")
    if build_type not in (None, "", *BUILD_TYPES):
        raise InputError(
            f"unsupported build type {build_type!r} (use {SLSA_BUILD_TYPE} or {TEKTON_BUILD_TYPE})",
            field="build_type",
        )
    notes = Notes(fmt)
    try:
        main, kids = _load(run, children, notes)
        if not main.status:
            raise InputError(
                f"the {main.kind} has no status: it has not run, so there is nothing to attest "
                "(provenance is made for finished runs)",
                field="status",
            )
        if fmt.slsa_v02:
            if build_type:
                notes.warn(f"build type {build_type!r} applies to SLSA v1.0 formats only; ignored")
            if main.kind == TASK_RUN:
                subject, predicate = _slsa02.task_run(main, builder_id, notes)
            else:
                subject, predicate = _slsa02.pipeline_run(
                    main, kids, builder_id, deep_inspection, notes
                )
        else:
            kind = build_type or SLSA_BUILD_TYPE
            if main.kind == TASK_RUN:
                subject, predicate = _slsa1.task_run(main, builder_id, kind, notes)
            else:
                subject, predicate = _slsa1.pipeline_run(
                    main, kids, builder_id, kind, deep_inspection, notes
                )
        return Statement(fmt.statement_type, subject, fmt.predicate_type, predicate, notes.warnings)
    except RecursionError:
        raise InputError("the document is nested too deeply") from None


def oci_images(run: Any) -> list[tuple[str, str]]:
    """The images Chains signs with simple signing for a finished TaskRun.

    Chains' ``ExtractOCIImagesFromResults`` over the TaskRun's own results (``*IMAGE_URL`` /
    ``*IMAGE_DIGEST`` pairs, ``IMAGES``, OCI build artifacts) as normalised
    ``(repository, "sha256:<hex>")`` pairs without duplicates. A PipelineRun gets no image
    signatures from Chains: the list is empty.
    """
    notes = Notes()
    try:
        main = load_run(run, notes)
        if main.kind == PIPELINE_RUN:
            return []
        return _oci_images(main.results(), notes)
    except RecursionError:
        raise InputError("the document is nested too deeply") from None


def artifact_uris(
    run: Any,
    *,
    format: str | Format,
    deep_inspection: bool = False,
    children: Iterable[Any] = (),
) -> list[str]:
    """Chains' ``RetrieveAllArtifactURIs``: every subject as ``name@alg:hex``.

    This is what the Grafeas backend keys occurrences on; the list follows the subject order.
    """
    fmt = Format.parse(format)
    notes = Notes(fmt)
    try:
        main, kids = _load(run, children, notes)
        alpha4 = fmt is Format.SLSA_V2ALPHA4
        if main.kind == TASK_RUN:
            subjects = (
                _slsa1.task_subjects_v4(main, notes)
                if alpha4
                else subjects_v02(main.results(), notes)
            )
        else:
            done = executed(main, match_children(main, kids, notes), notes)
            pick = _slsa1.pipeline_subjects_v4 if alpha4 else _slsa02.pipeline_subjects
            subjects = pick(main, done, deep_inspection, notes)
        return [f"{s['name']}@{alg}:{hex_}" for s in subjects for alg, hex_ in s["digest"].items()]
    except RecursionError:
        raise InputError("the document is nested too deeply") from None
