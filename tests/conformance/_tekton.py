"""A tiny stand-in for a Tekton cluster: turns the Chains e2e example *specs* into finished runs.

Chains' e2e test applies ``examples/**.yaml`` to a cluster, waits for the runs to finish and
fills its expected-statement templates from the finished objects. We have no cluster, so this
module does what Tekton would do for these simple examples: apply the webhook defaults, resolve
step images to digests (made up, deterministic), run the ``echo … > $(results.X.path)`` scripts,
substitute ``$(params.…)``/``$(results.X.path)``, propagate pipeline results, and record times,
UIDs and step states. It then renders the templates the same way the e2e test does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shlex
from typing import Any

START = "2026-11-02T10:00:00Z"
FINISH = "2026-11-02T10:00:30Z"
_RESULT_PATH = re.compile(r"\$\(results\.([^.)]+)\.path\)")
_PARAM = re.compile(r"\$\(params\.([^)]+)\)")
_TASK_RESULT = re.compile(r"\$\(tasks\.([^.]+)\.results\.([^)]+)\)")


def _uid(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"


def image_id(image: str) -> str:
    """What the kubelet reports for a step image: the image pinned to a digest."""
    if "@" in image:
        return image
    repo = image.rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    elif "." not in repo.split("/")[0] and ":" not in repo.split("/")[0]:
        repo = f"docker.io/{repo}"
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _substitute(text: str, params: dict[str, str]) -> str:
    text = _RESULT_PATH.sub(lambda m: f"/tekton/results/{m.group(1)}", text)
    return _PARAM.sub(lambda m: params.get(m.group(1), m.group(0)), text)


def _run_script(script: str) -> dict[str, str]:
    """Results written by ``echo [-n] WORD (| tee|>) /tekton/results/NAME`` lines."""
    out: dict[str, str] = {}
    for line in script.splitlines():
        match = re.match(r"\s*echo\s+(.*?)\s*(?:\|\s*tee|>)\s*/tekton/results/(\S+)\s*$", line)
        if not match:
            continue
        words = shlex.split(match.group(1))
        newline = "\n"
        if words and words[0] == "-n":
            newline, words = "", words[1:]
        out[match.group(2)] = " ".join(words) + newline
    return out


def complete_task_run(
    spec: dict[str, Any],
    task_spec: dict[str, Any],
    *,
    name: str,
    params: dict[str, str],
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A finished TaskRun for ``task_spec`` run with ``params``."""
    resolved = copy.deepcopy(task_spec)
    written: dict[str, str] = {}
    steps = []
    for step in resolved.get("steps", []):
        if "script" in step:
            step["script"] = _substitute(step["script"], params)
            written.update(_run_script(step["script"]))
        steps.append(
            {
                "name": step["name"],
                "container": f"step-{step['name']}",
                "imageID": image_id(step["image"]),
            }
        )
    results = []
    for declared in sorted(resolved.get("results", []), key=lambda r: r["name"]):
        if declared["name"] not in written:
            continue
        kind = declared.get("type", "string")
        raw = written[declared["name"]]
        value: Any = json.loads(raw) if kind == "object" else raw
        results.append({"name": declared["name"], "type": kind, "value": value})
    run_spec = copy.deepcopy(spec)
    if not run_spec.get("serviceAccountName"):
        run_spec["serviceAccountName"] = "default"
    run_spec.setdefault("timeout", "1h0m0s")
    metadata: dict[str, Any] = {"name": name, "uid": _uid(name)}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": metadata,
        "spec": run_spec,
        "status": {
            "podName": f"{name}-pod",
            "startTime": START,
            "completionTime": FINISH,
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
            "steps": steps,
            "results": results,
            "taskSpec": resolved,
        },
    }


def complete(example: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The finished run for an example spec, and its child TaskRuns (PipelineRuns only)."""
    name = example["metadata"].get("name") or example["metadata"]["generateName"] + "x7k2p"
    if example["kind"] == "TaskRun":
        spec = example["spec"]
        run = complete_task_run(spec, spec["taskSpec"], name=name, params={})
        return run, []
    spec = copy.deepcopy(example["spec"])
    pipeline = spec["pipelineSpec"]
    params = {p["name"]: p["value"] for p in spec.get("params", [])}
    children = []
    child_results: dict[str, dict[str, Any]] = {}
    for task in pipeline.get("tasks", []) + pipeline.get("finally", []):
        child_name = f"{name}-{task['name']}"
        task_params = {p["name"]: _substitute(p["value"], params) for p in task.get("params", [])}
        child = complete_task_run(
            {"params": task.get("params", []), "taskSpec": task["taskSpec"]},
            task["taskSpec"],
            name=child_name,
            params=task_params,
            labels={"tekton.dev/pipelineTask": task["name"], "tekton.dev/pipelineRun": name},
        )
        children.append(child)
        child_results[task["name"]] = {r["name"]: r["value"] for r in child["status"]["results"]}
    results = []
    for declared in pipeline.get("results", []):
        match = _TASK_RESULT.fullmatch(declared["value"])
        if match and match.group(2) in child_results.get(match.group(1), {}):
            results.append(
                {"name": declared["name"], "value": child_results[match.group(1)][match.group(2)]}
            )
    spec.setdefault("taskRunTemplate", {}).setdefault("serviceAccountName", "default")
    spec.setdefault("timeouts", {"pipeline": "1h0m0s"})
    run = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "uid": _uid(name)},
        "spec": spec,
        "status": {
            "startTime": START,
            "completionTime": FINISH,
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
            "pipelineSpec": pipeline,
            "results": results,
            "childReferences": [
                {"kind": "TaskRun", "name": c["metadata"]["name"]} for c in children
            ],
        },
    }
    return run, children


def template_values(run: dict[str, Any], children: list[dict[str, Any]]) -> dict[str, Any]:
    """The placeholders Chains' e2e test fills (``test/examples_test.go`` ``Format``)."""
    task_runs = children or [run]
    pairs: list[tuple[str, str]] = []
    for task_run in task_runs:
        states = task_run["status"].get("steps", []) + task_run["status"].get("sidecars", [])
        for state in states:
            pair = (f"oci://{state['imageID'].split('@')[0]}", state["imageID"].split(":")[1])
            if pair not in pairs:
                pairs.append(pair)
    name = run["metadata"]["name"]
    if not children and run["spec"].get("taskRef"):
        name = run["spec"]["taskRef"]["name"]
    return {
        "TektonObjectName": name,
        "UID": run["metadata"]["uid"],
        "PipelineStartedOn": run["status"]["startTime"],
        "PipelineFinishedOn": run["status"]["completionTime"],
        "BuildStartTimes": [t["status"]["startTime"] for t in task_runs],
        "BuildFinishedTimes": [t["status"]["completionTime"] for t in task_runs],
        "ContainerNames": [s["name"] for t in task_runs for s in t["status"]["steps"]],
        "StepImages": [s["imageID"] for t in task_runs for s in t["status"]["steps"]],
        "URIDigest": pairs,
        "ChildTaskRunNames": [c["metadata"]["name"] for c in children],
    }


def render(template: str, values: dict[str, Any]) -> Any:
    """Fill a Go ``html/template`` expected statement the way the e2e test does, then parse it."""

    def each(match: re.Match[str]) -> str:
        body = match.group(1)
        return "".join(
            body.replace("{{.URI}}", uri).replace("{{.Digest}}", digest)
            for uri, digest in values["URIDigest"]
        )

    text = re.sub(r"\{\{range \.URIDigest\}\}(.*?)\{\{end\}\}", each, template, flags=re.S)
    text = re.sub(
        r"\{\{index \.(\w+) (\d+)\}\}", lambda m: values[m.group(1)][int(m.group(2))], text
    )
    text = re.sub(r"\{\{\.(\w+)\}\}", lambda m: values[m.group(1)], text)
    return json.loads(text)
