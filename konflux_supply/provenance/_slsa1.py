"""SLSA v1.0 predicates: Chains' ``slsa/v2alpha3`` and ``slsa/v2alpha4`` formats."""

from __future__ import annotations

import base64
from typing import Any

from konflux_supply.models.canonical import dumps_go

from . import _gotypes as go
from ._format import Format, Notes
from ._hints import (
    append_artifact,
    is_build_artifact_or_invalid,
    is_image_result,
    subjects_from_build_artifacts,
    subjects_v02,
)
from ._materials import (
    image_materials,
    pipeline_git_materials,
    ref_source_entry,
    remove_duplicate_dependencies,
    step_action_inputs,
    step_action_sources,
    task_params_and_results,
    to_dependencies,
)
from ._run import Result, Run, executed, match_children
from ._slsa02 import pipeline_subjects
from ._values import MarshalError, format_proto, param_value, string, to_struct_values

__all__ = [
    "SLSA_BUILD_TYPE",
    "TEKTON_BUILD_TYPE",
    "pipeline_run",
    "pipeline_subjects_v4",
    "task_run",
    "task_subjects_v4",
]

SLSA_BUILD_TYPE = "https://tekton.dev/chains/v2/slsa"
TEKTON_BUILD_TYPE = "https://tekton.dev/chains/v2/slsa-tekton"
_JSON = "application/json"


def _content(value: Any) -> str:
    return base64.b64encode(dumps_go(value)).decode("ascii")


def _byproduct(name: str, result: Result) -> dict[str, Any]:
    value = param_value(result[1], result[3], present=result[2])
    if type(value) is dict:
        value = {key: value[key] for key in sorted(value)}
    return {"content": _content(value), "mediaType": _JSON, "name": name}


def _all_results(prefix: str, results: list[Result]) -> list[dict[str, Any]]:
    """v2alpha3: every result, ``<prefix>/<result>``."""
    return [_byproduct(f"{prefix}/{result[0]}", result) for result in results]


def _non_artifacts(prefix: str, owner: str, results: list[Result]) -> list[dict[str, Any]]:
    """v2alpha4 ``GetResultsWithoutBuildArtifacts``: ``<prefix>/<owner>/<result>``."""
    out = []
    for result in results:
        if is_build_artifact_or_invalid(result) or is_image_result(result[0]):
            continue
        out.append(_byproduct(f"{prefix}/{owner}/{result[0]}", result))
    return out


def _task_byproducts_v4(run: Run) -> list[dict[str, Any]]:
    return _non_artifacts("taskRunResults", run.name, run.results()) + _non_artifacts(
        "stepResults", run.name, run.all_step_results()
    )


def task_subjects_v4(run: Run, notes: Notes) -> list[dict[str, Any]]:
    """v2alpha4 TaskRun subjects: each step's results, then the TaskRun's."""
    subjects: list[dict[str, Any]] = []
    for index, step in enumerate(run.step_states()):
        for subject in subjects_from_build_artifacts(run.step_results(index, step), notes):
            append_artifact(subjects, "name", subject["name"], subject["digest"])
    for subject in subjects_from_build_artifacts(run.results(), notes):
        append_artifact(subjects, "name", subject["name"], subject["digest"])
    return subjects


def pipeline_subjects_v4(
    run: Run, done: list[Run], deep: bool, notes: Notes
) -> list[dict[str, Any]]:
    """v2alpha4 PipelineRun subjects: the run's own, then (deep) each child's."""
    subjects = subjects_from_build_artifacts(run.results(), notes)
    if deep:
        for child in done:
            for subject in task_subjects_v4(child, notes):
                append_artifact(subjects, "name", subject["name"], subject["digest"])
    return subjects


def _external_parameters(run: Run) -> dict[str, Any]:
    spec_type = go.TASK_RUN_SPEC if run.is_task_run else go.PIPELINE_RUN_SPEC
    out: dict[str, Any] = {}
    source = run.ref_source()
    if source is not None and run.is_remote():
        path = run.path("status.provenance.refSource")
        digest = go.marshal(source.get("digest"), go.STRING_MAP, f"{path}.digest") or {}
        # Go takes the first entry of a map (random order); we take the first sorted one.
        ref = next((f"{alg}:{digest[alg]}" for alg in digest), "")
        out["buildConfigSource"] = {
            "path": string(source, "entryPoint", path),
            "ref": ref,
            "repository": string(source, "uri", path),
        }
    out["runSpec"] = to_struct_values(go.marshal(run.spec, spec_type, run.path("spec")))
    return out


def _internal_parameters(run: Run, build_type: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    provenance = run.provenance()
    flags = provenance.get("featureFlags")
    if flags is not None:
        out["tekton-pipelines-feature-flags"] = to_struct_values(
            go.marshal(flags, go.FEATURE_FLAGS, run.path("status.provenance.featureFlags"))
        )
    if build_type == TEKTON_BUILD_TYPE:
        out["annotations"] = run.annotations_or_none()
        out["labels"] = run.labels_or_none()
    return out


def _statement_parts(
    run: Run,
    build_type: str,
    dependencies: list[dict[str, Any]],
    byproducts: list[dict[str, Any]],
    builder_id: str,
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "buildType": build_type,
        "externalParameters": _external_parameters(run),
        "internalParameters": _internal_parameters(run, build_type),
    }
    if dependencies:
        definition["resolvedDependencies"] = dependencies
    metadata: dict[str, Any] = {}
    start, finish = run.start_time(), run.completion_time()
    if finish is not None:
        metadata["finishedOn"] = format_proto(finish)
    if run.uid:
        metadata["invocationId"] = run.uid
    if start is not None:
        metadata["startedOn"] = format_proto(start)
    details: dict[str, Any] = {"builder": {"id": builder_id} if builder_id else {}}
    if byproducts:
        details["byproducts"] = byproducts
    details["metadata"] = metadata
    return {"buildDefinition": definition, "runDetails": details}


def _image_dependencies(run: Run) -> list[dict[str, Any]]:
    return to_dependencies(
        image_materials(run, sidecars=False) + image_materials(run, sidecars=True)
    )


def task_run(
    run: Run, builder_id: str, build_type: str, notes: Notes
) -> tuple[list[Any], dict[str, Any]]:
    """Subjects and SLSA v1.0 predicate of a TaskRun (``notes.format`` says which)."""
    alpha4 = notes.format is Format.SLSA_V2ALPHA4
    if alpha4:
        byproducts = _task_byproducts_v4(run)
    else:
        byproducts = _all_results("taskRunResults", run.results())
    deps = _image_dependencies(run)
    if alpha4:
        deps += to_dependencies(step_action_inputs(run, notes), "inputs/result")
        deps += step_action_sources(run)
    inputs = task_params_and_results(run, notes)
    deps += to_dependencies(inputs, "inputs/result") + to_dependencies(inputs, "pipelineResource")
    deps = remove_duplicate_dependencies(deps)
    source = ref_source_entry(run)
    if source is not None:
        deps.insert(0, {**source, "name": "task"})
    subjects = task_subjects_v4(run, notes) if alpha4 else subjects_v02(run.results(), notes)
    return subjects, _statement_parts(run, build_type, deps, byproducts, builder_id)


def _pipeline_task_entry(child: Run, build_type: str, notes: Notes) -> tuple[bool, Any]:
    """``AddSLSATaskDescriptor`` / ``AddTektonTaskDescriptor``: (usable?, entry or None)."""
    source = ref_source_entry(child)
    if build_type != TEKTON_BUILD_TYPE:
        return True, None if source is None else {**source, "name": "pipelineTask"}
    try:
        content = _content(go.marshal(child.doc, go.TASK_RUN, child.where.rstrip(".")))
    except MarshalError as error:
        notes.warn(
            f"{child.where.rstrip('.')} ({child.name}): cannot be serialised ({error.summary()}); "
            "left out of resolvedDependencies, as Chains does"
        )
        return False, None
    entry: dict[str, Any] = {"content": content, "name": "pipelineTask"}
    if source:
        entry.update(source)
    return True, entry


def pipeline_run(
    run: Run,
    children: list[Run],
    builder_id: str,
    build_type: str,
    deep: bool,
    notes: Notes,
) -> tuple[list[Any], dict[str, Any]]:
    """Subjects and SLSA v1.0 predicate of a PipelineRun with its child TaskRuns."""
    alpha4 = notes.format is Format.SLSA_V2ALPHA4
    matched = match_children(run, children, notes)
    done = executed(run, matched, notes)
    if alpha4:
        byproducts = _non_artifacts("pipelineRunResults", run.name, run.results())
        if deep:
            for child in done:
                byproducts += _task_byproducts_v4(child)
    else:
        byproducts = _all_results("pipelineRunResults", run.results())

    deps: list[dict[str, Any]] = []
    source = ref_source_entry(run)
    if source is not None:
        deps.append({**source, "name": "pipeline"})
    for child in done:
        usable, entry = _pipeline_task_entry(child, build_type, notes)
        if not usable:
            continue
        if entry is not None:
            deps.append(entry)
        images = _image_dependencies(child)
        if alpha4:
            deps += step_action_sources(child)
        deps += images
    if deep and alpha4:
        for child in done:
            deps += to_dependencies(step_action_inputs(child, notes), "inputs/result")
    deps += to_dependencies(pipeline_git_materials(run, done, notes, deep=deep), "inputs/result")
    deps = remove_duplicate_dependencies(deps)

    if alpha4:
        subjects = pipeline_subjects_v4(run, done, deep, notes)
    else:
        subjects = pipeline_subjects(run, done, deep, notes)
    return subjects, _statement_parts(run, build_type, deps, byproducts, builder_id)
