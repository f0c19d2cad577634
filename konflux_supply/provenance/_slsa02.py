"""SLSA v0.2 predicates: Chains' ``in-toto`` / ``slsa/v1`` format (``formats/slsa/v1``)."""

from __future__ import annotations

import re
from typing import Any

from . import _gotypes as go
from ._format import Notes
from ._hints import append_artifact, subjects_v02
from ._materials import pipeline_run_materials, task_run_materials
from ._run import Run, executed, match_children, pipeline_tasks, task_name
from ._values import (
    format_nano,
    item,
    obj,
    param_value,
    seq,
    string,
    string_list,
)

__all__ = ["invocation", "pipeline_run", "pipeline_subjects", "task_run"]

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_REPRODUCIBLE = "chains.tekton.dev/reproducible"
_VARIABLE = re.compile(r"\$\([_a-zA-Z0-9.-]+(\.[_a-zA-Z0-9.-]+)*(\[([0-9]+|\*)\])?\)")


def invocation(run: Run, param_spec: dict[str, Any] | None, spec_path: str) -> dict[str, Any]:
    """``attest.Invocation``: config source, parameters (defaults < values), environment."""
    config: dict[str, Any] = {}
    source = run.ref_source()
    if source is not None:
        path = run.path("status.provenance.refSource")
        uri = string(source, "uri", path)
        digest = obj(source, "digest", path)
        entry_point = string(source, "entryPoint", path)
        if digest:
            config["digest"] = go.marshal(digest, go.STRING_MAP, f"{path}.digest")
        if entry_point:
            config["entryPoint"] = entry_point
        if uri:
            config["uri"] = uri
    parameters: dict[str, Any] = {}
    if param_spec is not None:
        for index, spec in enumerate(seq(param_spec, "params", spec_path)):
            where = f"{spec_path}.params[{index}]"
            spec = item(spec, where)
            if spec.get("default") is not None:
                parameters[string(spec, "name", where)] = param_value(
                    spec["default"], f"{where}.default"
                )
    for name, raw, present, path in run.spec_params():
        parameters[name] = param_value(raw, path, present=present)
    environment: dict[str, Any] = {}
    annotations = {
        key: value
        for key, value in run.annotations.items()
        if key != _LAST_APPLIED and not key.startswith("chains.tekton.dev/")
    }
    if annotations:
        environment["annotations"] = annotations
    if run.labels:
        environment["labels"] = run.labels
    out: dict[str, Any] = {"configSource": config, "parameters": parameters}
    if environment:
        out["environment"] = environment
    return out


def _metadata(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    start, finish = run.start_time(), run.completion_time()
    if start is not None:
        out["buildStartedOn"] = format_nano(start)
    if finish is not None:
        out["buildFinishedOn"] = format_nano(finish)
    out["completeness"] = {"environment": False, "materials": False, "parameters": False}
    out["reproducible"] = run.labels.get(_REPRODUCIBLE) == "true"
    return out


def _step(
    step: dict[str, Any], state: dict[str, Any], step_path: str, state_path: str
) -> dict[str, Any]:
    """``attest.Step``: one entry of ``buildConfig.steps``."""
    command = string_list(step.get("command"), f"{step_path}.command")
    args = string_list(step.get("args"), f"{step_path}.args")
    script = string(step, "script", step_path)
    image_id = string(state, "imageID", state_path)
    return {
        "annotations": None,
        "arguments": args,
        "entryPoint": script or " ".join(command or ()),
        "environment": {
            "container": string(state, "name", state_path),
            "image": "oci://" + image_id.removeprefix("docker-pullable://"),
        },
    }


def _spec_steps(run: Run, spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    if spec is None:
        return []
    path = run.path("status.taskSpec.steps")
    return [
        item(s, f"{path}[{i}]")
        for i, s in enumerate(seq(spec, "steps", run.path("status.taskSpec")))
    ]


def task_run(run: Run, builder_id: str, notes: Notes) -> tuple[list[Any], dict[str, Any]]:
    """Subjects and predicate of a TaskRun."""
    subjects = subjects_v02(run.results(), notes)
    materials = task_run_materials(run, notes)
    spec = run.task_spec()
    spec_steps = _spec_steps(run, spec)
    names = [
        string(s, "name", run.path(f"status.taskSpec.steps[{i}]")) for i, s in enumerate(spec_steps)
    ]
    steps = []
    for index, state in enumerate(run.step_states()):
        state_path = run.path(f"status.steps[{index}]")
        name = string(state, "name", state_path)
        position = names.index(name) if name in names else -1
        step = spec_steps[position] if position >= 0 else {}
        step_path = run.path(f"status.taskSpec.steps[{position}]")
        steps.append(_step(step, state, step_path, state_path))
    predicate: dict[str, Any] = {
        "buildConfig": {"steps": steps},
        "buildType": "tekton.dev/v1/TaskRun",
        "builder": {"id": builder_id},
        "invocation": invocation(run, spec, run.path("status.taskSpec")),
        "metadata": _metadata(run),
    }
    if materials:
        predicate["materials"] = materials
    return subjects, predicate


def _expressions(value: Any) -> list[str]:
    if type(value) is not str:
        return []
    return [match.group(0)[2:-1] for match in _VARIABLE.finditer(value)]


def _param_expressions(params: list[Any], path: str) -> list[str]:
    out: list[str] = []
    for index, param in enumerate(params):
        where = f"{path}[{index}]"
        param = item(param, where)
        value = param_value(param.get("value"), f"{where}.value")
        if isinstance(value, str):
            out.extend(_expressions(value))
        elif isinstance(value, list):
            for entry in value:
                out.extend(_expressions(entry))
        else:
            for entry in value.values():
                out.extend(_expressions(entry))
    return out


def _container_expressions(container: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("name", "image", "imagePullPolicy", "script", "workingDir"):
        out.extend(_expressions(container.get(key)))
    for key in ("command", "args"):
        values = container.get(key)
        for entry in values if type(values) is list else ():
            out.extend(_expressions(entry))
    env = container.get("env")
    for var in env if type(env) is list else ():
        if type(var) is not dict:
            continue
        out.extend(_expressions(var.get("value")))
        source = var.get("valueFrom")
        if type(source) is dict:
            for ref_key in ("secretKeyRef", "configMapKeyRef"):
                ref = source.get(ref_key)
                if type(ref) is dict:
                    out.extend(_expressions(ref.get("key")))
                    out.extend(_expressions(ref.get("name")))
    return out


def _result_ref_tasks(task: dict[str, Any], path: str) -> list[str]:
    """``v1.PipelineTaskResultRefs``: the pipeline tasks whose results this task reads."""
    expressions = _param_expressions(seq(task, "params", path), f"{path}.params")
    matrix = obj(task, "matrix", path)
    expressions += _param_expressions(
        seq(matrix, "params", f"{path}.matrix"), f"{path}.matrix.params"
    )
    for index, include in enumerate(seq(matrix, "include", f"{path}.matrix")):
        where = f"{path}.matrix.include[{index}]"
        include = item(include, where)
        expressions += _param_expressions(seq(include, "params", where), f"{where}.params")
    for index, when in enumerate(seq(task, "when", path)):
        when = item(when, f"{path}.when[{index}]")
        expressions += _expressions(when.get("input")) + _expressions(when.get("cel"))
        values = when.get("values")
        for entry in values if type(values) is list else ():
            expressions += _expressions(entry)
    embedded = obj(task, "taskSpec", path)
    for key in ("steps", "sidecars"):
        containers = embedded.get(key)
        for container in containers if type(containers) is list else ():
            if type(container) is dict:
                expressions += _container_expressions(container)
    out = []
    for expression in expressions:
        parts = expression.split(".")
        if len(parts) in (4, 5) and parts[0] in ("tasks", "finally") and parts[2] == "results":
            out.append(parts[1])
    return out


def _status(run: Run) -> str:
    conditions = seq(run.status, "conditions", run.path("status"))
    if not conditions:
        return ""
    first = item(conditions[0], run.path("status.conditions[0]"))
    value = string(first, "status", run.path("status.conditions[0]"))
    return {"False": "Failed", "True": "Succeeded", "Unknown": "Running"}.get(value, "")


def _task_attestation(
    pipeline: Run,
    child: Run,
    task: dict[str, Any],
    task_path: str,
    after: list[str],
    notes: Notes,
) -> dict[str, Any] | None:
    label = f"{child.where.rstrip('.')} ({child.name})"
    spec = child.task_spec()
    if spec is None:
        notes.warn(f"{label}: no status.taskSpec; left out of buildConfig.tasks (as Chains does)")
        return None
    spec_steps = _spec_steps(child, spec)
    states = child.step_states()
    if len(spec_steps) != len(states):
        notes.warn(
            f"{label}: status.steps has {len(states)} entries but status.taskSpec.steps has "
            f"{len(spec_steps)}; left out of buildConfig.tasks (as Chains does)"
        )
        return None
    steps = []
    for index, (step, state) in enumerate(zip(spec_steps, states, strict=True)):
        state_path = child.path(f"status.steps[{index}]")
        step_path = child.path(f"status.taskSpec.steps[{index}]")
        if string(state, "name", state_path).startswith("unnamed-") and string(
            step, "name", step_path
        ):
            notes.warn(
                f"{label}: step {index} is unnamed in status.steps but named in "
                "status.taskSpec.steps; left out of buildConfig.tasks (as Chains does)"
            )
            return None
        steps.append(_step(step, state, step_path, state_path))
    start, finish = child.start_time(), child.completion_time()
    if start is None:
        notes.warn(
            f"{label}: status.startTime is missing although completionTime is set; left out of "
            "buildConfig.tasks (Chains would crash on this run)"
        )
        return None
    template = obj(pipeline.spec, "taskRunTemplate", pipeline.path("spec"))
    attestation: dict[str, Any] = {}
    name = string(task, "name", task_path)
    if name:
        attestation["name"] = name
    if after:
        attestation["after"] = after
    attestation["ref"] = go.marshal(task.get("taskRef"), go.TASK_REF, f"{task_path}.taskRef")
    attestation["startedOn"] = format_nano(start)
    attestation["finishedOn"] = format_nano(finish)
    account = string(template, "serviceAccountName", pipeline.path("spec.taskRunTemplate"))
    if account:
        attestation["serviceAccountName"] = account
    status = _status(child)
    if status:
        attestation["status"] = status
    if steps:
        attestation["steps"] = steps
    attestation["invocation"] = invocation(child, spec, child.path("status.taskSpec"))
    results = go.marshal(
        seq(child.status, "results", child.path("status")),
        go.ListOf(go.RESULT),
        child.path("status.results"),
    )
    if results:
        attestation["results"] = results
    return attestation


def _build_config(
    run: Run, matched: list[tuple[int, dict[str, Any], list[Run]]], notes: Notes
) -> dict[str, Any]:
    if run.pipeline_spec() is None:
        return {"tasks": None}
    _, regular = pipeline_tasks(run)
    tasks = []
    last = ""
    for index, task, runs in matched:
        if not runs:
            continue
        where = f"tasks[{index}]" if index < regular else f"finally[{index - regular}]"
        task_path = run.path(f"status.pipelineSpec.{where}")
        for child in runs:
            if not child.is_complete():
                continue
            run_after = string_list(task.get("runAfter"), f"{task_path}.runAfter") or []
            after = list(run_after)
            for ref in _result_ref_tasks(task, task_path):
                if ref not in after:
                    after.append(ref)
            if not after and index >= regular and last:
                after.append(last)
            attestation = _task_attestation(run, child, task, task_path, after, notes)
            if attestation is not None:
                tasks.append(attestation)
        if index < regular:
            last = task_name(run, task, index, regular)
    return {"tasks": tasks}


def pipeline_subjects(run: Run, done: list[Run], deep: bool, notes: Notes) -> list[dict[str, Any]]:
    """``subjectsFromPipelineRun``: with deep inspection, children first, then the run's own."""
    own = subjects_v02(run.results(), notes)
    if not deep:
        return own
    merged: list[dict[str, Any]] = []
    for child in done:
        for subject in subjects_v02(child.results(), notes):
            append_artifact(merged, "name", subject["name"], subject["digest"])
    for subject in own:
        append_artifact(merged, "name", subject["name"], subject["digest"])
    return merged


def pipeline_run(
    run: Run, children: list[Run], builder_id: str, deep: bool, notes: Notes
) -> tuple[list[Any], dict[str, Any]]:
    """Subjects and predicate of a PipelineRun with its child TaskRuns."""
    matched = match_children(run, children, notes)
    done = executed(run, matched, notes)
    subjects = pipeline_subjects(run, done, deep, notes)
    materials = pipeline_run_materials(run, done, notes, deep=deep)
    spec = run.pipeline_spec()
    predicate: dict[str, Any] = {
        "buildConfig": _build_config(run, matched, notes),
        "buildType": "tekton.dev/v1/PipelineRun",
        "builder": {"id": builder_id},
        "invocation": invocation(run, spec, run.path("status.pipelineSpec")),
        "metadata": _metadata(run),
    }
    if materials:
        predicate["materials"] = materials
    return subjects, predicate
