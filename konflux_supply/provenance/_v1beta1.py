"""``tekton.dev/v1beta1`` runs converted to ``tekton.dev/v1``, as the API server does for Chains.

Chains only ever sees ``tekton.dev/v1`` objects: the Kubernetes API server converts stored
``v1beta1`` runs with Tekton's conversion webhook. This module applies the same renames to
parsed JSON (tektoncd/pipeline v1.15 ``pkg/apis/pipeline/v1beta1/*_conversion.go``). Fields that
the conversion drops (PipelineResources, cloud events, embedded child statuses, ``configSource``)
are dropped here too, with a warning when they carried data.
"""

from __future__ import annotations

from typing import Any

from ._format import Notes

__all__ = ["pipeline_run_to_v1", "task_run_to_v1"]

Doc = dict[str, Any]


def _rename(source: Doc, renames: dict[str, str], drop: tuple[str, ...] = ()) -> Doc:
    out: Doc = {}
    for key, value in source.items():
        if key in drop:
            continue
        out[renames.get(key, key)] = value
    return out


def _maybe(value: Any, convert: Any) -> Any:
    return convert(value) if type(value) is dict else value


def _maybe_list(value: Any, convert: Any) -> Any:
    if type(value) is not list:
        return value
    return [convert(entry) if type(entry) is dict else entry for entry in value]


def _container(step: Doc) -> Doc:
    # v1beta1 Step/Sidecar/StepTemplate `resources` became `computeResources`.
    return _rename(step, {"resources": "computeResources"})


def _run_container_spec(spec: Doc) -> Doc:
    return _rename(spec, {"resources": "computeResources"})


def _task_spec(spec: Doc) -> Doc:
    out = _rename(spec, {}, drop=("resources",))
    if "steps" in out:
        out["steps"] = _maybe_list(out["steps"], _container)
    if "sidecars" in out:
        out["sidecars"] = _maybe_list(out["sidecars"], _container)
    if "stepTemplate" in out:
        out["stepTemplate"] = _maybe(out["stepTemplate"], _container)
    return out


def _ref(ref: Doc, notes: Notes, path: str) -> Doc:
    if ref.get("bundle"):
        notes.warn(
            f"{path}.bundle: v1beta1 Tekton bundles are not converted to tekton.dev/v1 "
            "(use the bundles resolver); the field is ignored"
        )
    return _rename(ref, {}, drop=("bundle",))


def _provenance(provenance: Doc, notes: Notes, path: str) -> Doc:
    if provenance.get("configSource") and not provenance.get("refSource"):
        notes.warn(
            f"{path}.configSource: the deprecated v1beta1 configSource is not carried into "
            "tekton.dev/v1 (Chains reads refSource only); no config source recorded"
        )
    return _rename(provenance, {}, drop=("configSource",))


def _pipeline_task(task: Doc, notes: Notes, path: str) -> Doc:
    out = _rename(task, {}, drop=("resources",))
    if type(out.get("taskRef")) is dict:
        out["taskRef"] = _ref(out["taskRef"], notes, f"{path}.taskRef")
    if type(out.get("taskSpec")) is dict:
        out["taskSpec"] = _task_spec(out["taskSpec"])
    return out


def _pipeline_spec(spec: Doc, notes: Notes, path: str) -> Doc:
    out = _rename(spec, {}, drop=("resources",))
    for key in ("tasks", "finally"):
        if type(out.get(key)) is list:
            out[key] = [
                _pipeline_task(task, notes, f"{path}.{key}[{index}]")
                if type(task) is dict
                else task
                for index, task in enumerate(out[key])
            ]
    return out


def _warn_dropped(doc: Doc, keys: tuple[str, ...], path: str, notes: Notes) -> None:
    for key in keys:
        if doc.get(key):
            notes.warn(f"{path}.{key}: not part of tekton.dev/v1; ignored")


def _task_run_status(status: Doc, notes: Notes, path: str) -> Doc:
    _warn_dropped(status, ("resourcesResult",), path, notes)
    out = _rename(status, {"taskResults": "results"}, drop=("resourcesResult", "cloudEvents"))
    if type(out.get("taskSpec")) is dict:
        out["taskSpec"] = _task_spec(out["taskSpec"])
    if type(out.get("provenance")) is dict:
        out["provenance"] = _provenance(out["provenance"], notes, f"{path}.provenance")
    if type(out.get("retriesStatus")) is list:
        out["retriesStatus"] = [
            _task_run_status(entry, notes, f"{path}.retriesStatus[{index}]")
            if type(entry) is dict
            else entry
            for index, entry in enumerate(out["retriesStatus"])
        ]
    if type(out.get("steps")) is list:
        steps = []
        for index, step in enumerate(out["steps"]):
            if type(step) is dict and type(step.get("provenance")) is dict:
                step = dict(step)
                step["provenance"] = _provenance(
                    step["provenance"], notes, f"{path}.steps[{index}].provenance"
                )
            steps.append(step)
        out["steps"] = steps
    return out


def task_run_to_v1(doc: Doc, notes: Notes, where: str = "") -> Doc:
    """A v1beta1 TaskRun as the v1 object the API server would hand to Chains."""
    out = dict(doc)
    out["apiVersion"] = "tekton.dev/v1"
    spec = doc.get("spec")
    if type(spec) is dict:
        _warn_dropped(spec, ("resources",), f"{where}spec", notes)
        new_spec = _rename(
            spec,
            {"stepOverrides": "stepSpecs", "sidecarOverrides": "sidecarSpecs"},
            drop=("resources",),
        )
        for key in ("stepSpecs", "sidecarSpecs"):
            if key in new_spec:
                new_spec[key] = _maybe_list(new_spec[key], _run_container_spec)
        if type(new_spec.get("taskRef")) is dict:
            new_spec["taskRef"] = _ref(new_spec["taskRef"], notes, f"{where}spec.taskRef")
        if type(new_spec.get("taskSpec")) is dict:
            new_spec["taskSpec"] = _task_spec(new_spec["taskSpec"])
        out["spec"] = new_spec
    status = doc.get("status")
    if type(status) is dict:
        out["status"] = _task_run_status(status, notes, f"{where}status")
    return out


def pipeline_run_to_v1(doc: Doc, notes: Notes, where: str = "") -> Doc:
    """A v1beta1 PipelineRun as the v1 object the API server would hand to Chains."""
    out = dict(doc)
    out["apiVersion"] = "tekton.dev/v1"
    spec = doc.get("spec")
    if type(spec) is dict:
        _warn_dropped(spec, ("resources",), f"{where}spec", notes)
        new_spec = _rename(
            spec, {}, drop=("resources", "serviceAccountName", "podTemplate", "timeout")
        )
        template: Doc = {}
        if spec.get("podTemplate") is not None:
            template["podTemplate"] = spec["podTemplate"]
        if spec.get("serviceAccountName") is not None:
            template["serviceAccountName"] = spec["serviceAccountName"]
        new_spec["taskRunTemplate"] = template
        if spec.get("timeout") is not None:
            new_spec["timeouts"] = {"pipeline": spec["timeout"]}
        if type(new_spec.get("pipelineRef")) is dict:
            new_spec["pipelineRef"] = _ref(
                new_spec["pipelineRef"], notes, f"{where}spec.pipelineRef"
            )
        if type(new_spec.get("pipelineSpec")) is dict:
            new_spec["pipelineSpec"] = _pipeline_spec(
                new_spec["pipelineSpec"], notes, f"{where}spec.pipelineSpec"
            )
        if type(new_spec.get("taskRunSpecs")) is list:
            new_spec["taskRunSpecs"] = _maybe_list(
                new_spec["taskRunSpecs"],
                lambda entry: _rename(
                    entry,
                    {
                        "taskServiceAccountName": "serviceAccountName",
                        "taskPodTemplate": "podTemplate",
                        "stepOverrides": "stepSpecs",
                        "sidecarOverrides": "sidecarSpecs",
                    },
                ),
            )
        out["spec"] = new_spec
    status = doc.get("status")
    if type(status) is dict:
        new_status = _rename(status, {"pipelineResults": "results"}, drop=("taskRuns", "runs"))
        if type(new_status.get("pipelineSpec")) is dict:
            new_status["pipelineSpec"] = _pipeline_spec(
                new_status["pipelineSpec"], notes, f"{where}status.pipelineSpec"
            )
        if type(new_status.get("provenance")) is dict:
            new_status["provenance"] = _provenance(
                new_status["provenance"], notes, f"{where}status.provenance"
            )
        out["status"] = new_status
    return out
