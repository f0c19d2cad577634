"""Materials (SLSA v0.2) and resolved dependencies (SLSA v1.0), as Chains builds them.

Sources: step and sidecar ``imageID``s, ``refSource`` of the run and of child TaskRuns and
remote StepActions, ``CHAINS-GIT_URL``/``CHAINS-GIT_COMMIT`` hints and ``*ARTIFACT_INPUTS``
results (Chains ``formats/slsa/internal/material`` and ``resolved_dependencies``).
"""

from __future__ import annotations

from typing import Any

from konflux_supply.errors import InputError

from ._format import Notes
from ._hints import ARTIFACT_INPUTS, append_artifact, structured
from ._names import parse_digest
from ._run import Result, Run
from ._values import item, obj, param_value, seq, string, string_map

__all__ = [
    "git_material",
    "image_materials",
    "inputs_from_results",
    "pipeline_git_materials",
    "pipeline_run_materials",
    "ref_source_entry",
    "remove_duplicate_dependencies",
    "step_action_inputs",
    "step_action_sources",
    "task_run_materials",
    "to_dependencies",
]

COMMIT_PARAM, URL_PARAM = "CHAINS-GIT_COMMIT", "CHAINS-GIT_URL"
Material = dict[str, Any]


def _image_material(image_id: str, field: str) -> Material:
    """``fromImageID``: ``oci://<repo>`` + ``{alg: hex}``; no digest fails the payload."""
    parts = image_id.split("@")
    digest = parts[1].split(":") if len(parts) == 2 else []
    if len(digest) != 2:
        raise InputError(
            f"imageID {image_id!r} is not <image>@<algorithm>:<hex>; Chains cannot build "
            "provenance without the digest of every step and sidecar image (images loaded "
            "without a registry digest, e.g. into kind, have none)",
            field=field,
        )
    uri = parts[0].removeprefix("docker-pullable://")
    return {"uri": "oci://" + uri, "digest": {digest[0]: digest[1]}}


def image_materials(run: Run, *, sidecars: bool) -> list[Material]:
    """``FromStepImages`` / ``FromSidecarImages`` (each deduplicated on its own)."""
    key = "sidecars" if sidecars else "steps"
    path = run.path(f"status.{key}")
    out: list[Material] = []
    for index, state in enumerate(seq(run.status, key, run.path("status"))):
        state = item(state, f"{path}[{index}]")
        image_id = string(state, "imageID", f"{path}[{index}]")
        material = _image_material(image_id, f"{path}[{index}].imageID")
        append_artifact(out, "uri", material["uri"], material["digest"])
    return out


def spdx_git(url: str) -> str:
    """``attest.SPDXGit(url, "")``."""
    if not url.startswith("git+"):
        url = "git+" + url
    if not url.endswith(".git"):
        url += ".git"
    return url


def _string_val(value: Any) -> str:
    return value if type(value) is str else ""


def _param_specs(spec: dict[str, Any] | None, path: str) -> list[tuple[str, Any, str]]:
    """``(name, default ParamValue, path)`` of params that have a default."""
    if spec is None:
        return []
    out = []
    for index, entry in enumerate(seq(spec, "params", path)):
        where = f"{path}.params[{index}]"
        entry = item(entry, where)
        if entry.get("default") is not None:
            name = string(entry, "name", where)
            out.append((name, param_value(entry["default"], f"{where}.default"), where))
    return out


def git_material(
    run: Run, notes: Notes, *, specs: list[tuple[str, Any, str]], task_run: bool
) -> list[Material]:
    """``CHAINS-GIT_*`` from spec defaults < run params < run results (the last one wins)."""
    commit = url = ""
    for name, value, _ in specs:
        if name == COMMIT_PARAM:
            commit = _string_val(value)
        elif name == URL_PARAM:
            url = _string_val(value)
    for name, raw, present, path in run.spec_params():
        if name in (COMMIT_PARAM, URL_PARAM):
            value = _string_val(param_value(raw, path, present=True) if present else "")
            if name == COMMIT_PARAM:
                commit = value
            else:
                url = value
    for name, value, _, _ in run.results():
        if name == COMMIT_PARAM:
            commit = _string_val(value)
        elif name == URL_PARAM:
            url = _string_val(value)
    where = run.where.rstrip(".") or run.kind
    if commit and not url:
        if task_run:
            notes.warn(
                f"{where}: {COMMIT_PARAM} is set but {URL_PARAM} is empty; recorded as material "
                "'git+.git', as Chains does"
            )
        else:
            notes.warn(f"{where}: {COMMIT_PARAM} is set but {URL_PARAM} is empty; no git material")
    elif url and not commit:
        notes.warn(f"{where}: {URL_PARAM} is set but {COMMIT_PARAM} is empty; no git material")
    if task_run:
        url = spdx_git(url)  # before the emptiness check: the `git+.git` quirk
    if not commit or not url:
        return []
    return [{"uri": spdx_git(url), "digest": {"sha1": commit}}]


def inputs_from_results(results: list[Result], notes: Notes) -> list[Material]:
    """``RetrieveMaterialsFromStructuredResults``: valid ``*ARTIFACT_INPUTS``."""
    out: list[Material] = []
    for value in structured(results, ARTIFACT_INPUTS, notes):
        alg, hex_part = parse_digest(value["digest"])
        append_artifact(out, "uri", value["uri"], {alg: hex_part})
    return out


def task_params_and_results(run: Run, notes: Notes) -> list[Material]:
    """``FromTaskParamsAndResults``."""
    specs = _param_specs(run.task_spec(), run.path("status.taskSpec"))
    mats = git_material(run, notes, specs=specs, task_run=True)
    for material in inputs_from_results(run.results(), notes):
        append_artifact(mats, "uri", material["uri"], material["digest"])
    return mats


def task_run_materials(run: Run, notes: Notes) -> list[Material]:
    """``TaskMaterials`` (SLSA v0.2 TaskRun)."""
    mats = image_materials(run, sidecars=False)
    for material in image_materials(run, sidecars=True) + task_params_and_results(run, notes):
        append_artifact(mats, "uri", material["uri"], material["digest"])
    return mats


def ref_source_entry(run: Run) -> Material | None:
    """``{uri, digest}`` of ``status.provenance.refSource`` (empty parts left out)."""
    source = run.ref_source()
    if source is None:
        return None
    path = run.path("status.provenance.refSource")
    entry: Material = {}
    uri = string(source, "uri", path)
    digest = string_map(source, "digest", path)
    if uri:
        entry["uri"] = uri
    if digest:
        entry["digest"] = {alg: digest[alg] for alg in sorted(digest)}
    return entry


def pipeline_git_materials(
    run: Run, executed: list[Run], notes: Notes, *, deep: bool
) -> list[Material]:
    """``FromPipelineParamsAndResults``."""
    mats = inputs_from_results(run.results(), notes)
    spec = run.pipeline_spec()
    if spec is not None and deep:
        for child in executed:
            for material in task_params_and_results(child, notes):
                append_artifact(mats, "uri", material["uri"], material["digest"])
    specs = _param_specs(spec, run.path("status.pipelineSpec"))
    for material in git_material(run, notes, specs=specs, task_run=False):
        append_artifact(mats, "uri", material["uri"], material["digest"])
    return mats


def _append_material(mats: list[Material], material: Material) -> None:
    append_artifact(mats, "uri", material.get("uri", ""), material.get("digest", {}))


def pipeline_run_materials(
    run: Run, executed: list[Run], notes: Notes, *, deep: bool
) -> list[Material]:
    """``PipelineMaterials`` (SLSA v0.2 PipelineRun); ``executed`` = the completed children."""
    mats: list[Material] = []
    source = ref_source_entry(run)
    if source is not None:
        _append_material(mats, source)
    for child in executed:
        for material in image_materials(child, sidecars=False) + image_materials(
            child, sidecars=True
        ):
            _append_material(mats, material)
        child_source = ref_source_entry(child)
        if child_source is not None:
            _append_material(mats, child_source)
    for material in pipeline_git_materials(run, executed, notes, deep=deep):
        _append_material(mats, material)
    return [_clean(material) for material in mats]


def _clean(material: Material) -> Material:
    # Go's `omitempty`: an empty uri or digest is not emitted.
    return {k: v for k, v in material.items() if v}


def to_dependencies(materials: list[Material], name: str = "") -> list[dict[str, Any]]:
    """``ConvertMaterialsToResolvedDependencies`` (proto: empty fields are not emitted)."""
    out = []
    for material in materials:
        entry = _clean(material)
        if name:
            entry["name"] = name
        out.append(entry)
    return out


def step_action_inputs(run: Run, notes: Notes) -> list[Material]:
    """``FromStepActionsResults``: git hints per step, then ``*ARTIFACT_INPUTS`` of all steps."""
    mats: list[Material] = []
    for index, step in enumerate(run.step_states()):
        commit = url = ""
        for name, value, _, _ in run.step_results(index, step):
            if name == COMMIT_PARAM:
                commit = _string_val(value)
            elif name == URL_PARAM:
                url = _string_val(value)
        if commit and not url:
            notes.warn(
                f"{run.path(f'status.steps[{index}]')}: step result {COMMIT_PARAM} is set but "
                f"{URL_PARAM} is empty; recorded as 'git+.git', as Chains does"
            )
        if commit:
            append_artifact(mats, "uri", spdx_git(url), {"sha1": commit})
    for material in inputs_from_results(run.all_step_results(), notes):
        append_artifact(mats, "uri", material["uri"], material["digest"])
    return mats


def step_action_sources(run: Run) -> list[dict[str, Any]]:
    """``fromRemoteStepActions``: ``stepAction/<step>`` for steps with a remote refSource."""
    out = []
    for index, step in enumerate(run.step_states()):
        path = run.path(f"status.steps[{index}]")
        provenance = obj(step, "provenance", path)
        source = provenance.get("refSource")
        if source is None:
            continue
        source = item(source, f"{path}.provenance.refSource")
        entry: dict[str, Any] = {"name": f"stepAction/{string(step, 'name', path)}"}
        uri = string(source, "uri", f"{path}.provenance.refSource")
        digest = string_map(source, "digest", f"{path}.provenance.refSource")
        if uri:
            entry["uri"] = uri
        if digest:
            entry["digest"] = {alg: digest[alg] for alg in sorted(digest)}
        out.append(entry)
    return out


def remove_duplicate_dependencies(deps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``RemoveDuplicateResolvedDependencies``: first (uri, digest, content) wins, except that
    entries named ``task``, ``pipeline`` and ``stepAction/*`` are always kept."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for dep in deps:
        digest = dep.get("digest")
        key = (
            dep.get("uri", ""),
            tuple(sorted(digest.items())) if digest else (),
            dep.get("content", ""),
        )
        if key in seen:
            name = dep.get("name", "")
            if name not in ("task", "pipeline") and not name.startswith("stepAction/"):
                continue
        seen.add(key)
        out.append(dep)
    return out
