"""A small structural check of Tekton ``tekton.dev/v1`` Task, Pipeline and PipelineRun YAML.

Not a full schema: the fields we write, their types, the names Tekton requires to be unique,
and every ``$(params.…)``, ``$(results.….path)``, ``$(workspaces.….…)`` and
``$(tasks.….results.…)`` reference resolved against what is declared. Returns a list of
problems (empty = fine).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RESULT_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
PARAM_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$")
PARAM_REF = re.compile(r"\$\(params\.([a-zA-Z0-9_.-]+?)\)")
RESULT_REF = re.compile(r"\$\(results\.([a-zA-Z0-9_-]+)\.path\)")
WORKSPACE_REF = re.compile(r"\$\(workspaces\.([a-z0-9-]+)\.(path|bound|claim|volume)\)")
TASK_RESULT_REF = re.compile(r"\$\(tasks\.([a-z0-9-]+)\.results\.([a-zA-Z0-9_-]+)\)")
CONTEXT_REF = re.compile(r"\$\(context\.[a-zA-Z.]+\)")
ANY_REF = re.compile(r"\$\(([^)]*)\)")
PARAM_TYPES = {"string", "array", "object"}
STEP_KEYS = {
    "name",
    "image",
    "script",
    "command",
    "args",
    "env",
    "volumeMounts",
    "workingDir",
    "computeResources",
    "securityContext",
    "onError",
    "timeout",
}
TASK_SPEC_KEYS = {
    "description",
    "params",
    "results",
    "steps",
    "workspaces",
    "volumes",
    "sidecars",
    "stepTemplate",
    "displayName",
}
PIPELINE_TASK_KEYS = {
    "name",
    "taskRef",
    "taskSpec",
    "params",
    "runAfter",
    "when",
    "workspaces",
    "matrix",
    "retries",
    "timeout",
    "displayName",
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _unique_names(
    items: Any, where: str, pattern: re.Pattern[str], problems: list[str]
) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        problems.append(f"{where}: must be a list")
        return []
    names: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            problems.append(f"{where}[{index}]: needs a name")
            continue
        name = item["name"]
        if not pattern.fullmatch(name):
            problems.append(f"{where}[{index}].name: {name!r} is not a valid name")
        if name in names:
            problems.append(f"{where}: {name!r} declared twice")
        names.append(name)
    return names


def check_params(params: Any, where: str, problems: list[str]) -> dict[str, Mapping[str, Any]]:
    _unique_names(params, where, PARAM_NAME, problems)
    declared: dict[str, Mapping[str, Any]] = {}
    for param in params or []:
        if not isinstance(param, Mapping) or "name" not in param:
            continue
        kind = param.get("type", "string")
        if kind not in PARAM_TYPES:
            problems.append(f"{where}.{param['name']}.type: {kind!r}")
        if "default" in param and kind == "string" and not isinstance(param["default"], str):
            problems.append(f"{where}.{param['name']}.default: a string param needs a string")
        declared[str(param["name"])] = param
    return declared


def check_task_spec(spec: Any, where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(spec, Mapping):
        return [f"{where}: must be a mapping"]
    for key in spec:
        if key not in TASK_SPEC_KEYS:
            problems.append(f"{where}.{key}: not a Task field")
    params = check_params(spec.get("params"), f"{where}.params", problems)
    results = _unique_names(spec.get("results"), f"{where}.results", RESULT_NAME, problems)
    workspaces = _unique_names(spec.get("workspaces"), f"{where}.workspaces", NAME, problems)
    volumes = _unique_names(spec.get("volumes"), f"{where}.volumes", NAME, problems)
    steps = spec.get("steps")
    if not isinstance(steps, list) or not steps:
        problems.append(f"{where}.steps: at least one step is required")
        steps = []
    _unique_names(steps, f"{where}.steps", NAME, problems)
    for index, step in enumerate(steps):
        at = f"{where}.steps[{index}]"
        if not isinstance(step, Mapping):
            continue
        for key in step:
            if key not in STEP_KEYS:
                problems.append(f"{at}.{key}: not a Step field")
        if not isinstance(step.get("image"), str) or not step["image"]:
            problems.append(f"{at}.image: required")
        if "script" in step and "command" in step:
            problems.append(f"{at}: script and command are exclusive")
        for key in ("command", "args"):
            if key in step and not (
                isinstance(step[key], list) and all(isinstance(a, str) for a in step[key])
            ):
                problems.append(f"{at}.{key}: must be a list of strings")
        for mount in step.get("volumeMounts") or []:
            if mount.get("name") not in volumes:
                problems.append(f"{at}.volumeMounts: {mount.get('name')!r} is not a volume")
    for text in _strings({k: v for k, v in spec.items() if k != "description"}):
        for ref in PARAM_REF.findall(text):
            if ref not in params:
                problems.append(f"{where}: $(params.{ref}) is not declared")
        for ref in RESULT_REF.findall(text):
            if ref not in results:
                problems.append(f"{where}: $(results.{ref}.path) is not declared")
        for ref, _ in WORKSPACE_REF.findall(text):
            if ref not in workspaces:
                problems.append(f"{where}: $(workspaces.{ref}.…) is not declared")
    return problems


def _metadata(doc: Mapping[str, Any], problems: list[str]) -> None:
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping):
        problems.append("metadata: required")
        return
    name = metadata.get("name") or metadata.get("generateName", "").rstrip("-")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.append(f"metadata.name: {name!r} is not a DNS-1123 name")


def check_document(doc: Any, tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems with one document; ``tasks`` are the Task specs a ``taskRef`` may name."""
    if not isinstance(doc, Mapping):
        return ["the document must be a mapping"]
    problems: list[str] = []
    if doc.get("apiVersion") != "tekton.dev/v1":
        problems.append(f"apiVersion: {doc.get('apiVersion')!r}, expected tekton.dev/v1")
    _metadata(doc, problems)
    kind = doc.get("kind")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        return [*problems, "spec: required"]
    if kind == "Task":
        return problems + check_task_spec(spec, "spec")
    if kind == "PipelineRun":
        declared = {p["name"] for p in spec.get("params") or [] if isinstance(p, Mapping)}
        pipeline = spec.get("pipelineSpec")
        if not isinstance(pipeline, Mapping):
            return [*problems, "spec.pipelineSpec: required (or use pipelineRef)"]
        problems += check_pipeline_spec(pipeline, "spec.pipelineSpec", tasks)
        wanted = check_params(pipeline.get("params"), "spec.pipelineSpec.params", [])
        for name, param in wanted.items():
            if "default" not in param and name not in declared:
                problems.append(f"spec.params: {name!r} is required by the pipeline")
        return problems
    return [*problems, f"kind: {kind!r} is not checked here"]


def check_pipeline_spec(
    spec: Mapping[str, Any], where: str, tasks: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    problems: list[str] = []
    params = check_params(spec.get("params"), f"{where}.params", problems)
    entries = spec.get("tasks")
    if not isinstance(entries, list) or not entries:
        return [*problems, f"{where}.tasks: at least one task"]
    names = _unique_names(entries, f"{where}.tasks", NAME, problems)
    results_of: dict[str, list[str]] = {}
    for entry in entries:
        task = _task_spec(entry, tasks)
        if task is not None:
            results_of[entry["name"]] = [r["name"] for r in task.get("results") or []]
    for index, entry in enumerate(entries):
        at = f"{where}.tasks[{index}]"
        for key in entry:
            if key not in PIPELINE_TASK_KEYS:
                problems.append(f"{at}.{key}: not a PipelineTask field")
        task = _task_spec(entry, tasks)
        if task is None:
            problems.append(f"{at}: taskRef names no known Task, and there is no taskSpec")
            continue
        if "taskSpec" in entry:
            problems += check_task_spec(entry["taskSpec"], f"{at}.taskSpec")
        accepted = check_params(task.get("params"), f"{at}.task.params", [])
        given = _unique_names(entry.get("params"), f"{at}.params", PARAM_NAME, problems)
        for name in given:
            if name not in accepted:
                problems.append(f"{at}.params: {name!r} is not a param of the task")
        for name, param in accepted.items():
            if "default" not in param and name not in given:
                problems.append(f"{at}.params: {name!r} is required by the task")
        for after in entry.get("runAfter") or []:
            if after not in names:
                problems.append(f"{at}.runAfter: {after!r} is not a task")
    for text in _strings(spec):
        for ref in PARAM_REF.findall(text):
            if ref not in params:
                problems.append(f"{where}: $(params.{ref}) is not declared")
        for task_name, result in TASK_RESULT_REF.findall(text):
            if result not in results_of.get(task_name, []):
                problems.append(f"{where}: $(tasks.{task_name}.results.{result}) does not exist")
    return problems


def _task_spec(entry: Any, tasks: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if not isinstance(entry, Mapping):
        return None
    if isinstance(entry.get("taskSpec"), Mapping):
        spec: Mapping[str, Any] = entry["taskSpec"]
        return spec
    ref = entry.get("taskRef")
    if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
        return tasks.get(ref["name"])
    return None
