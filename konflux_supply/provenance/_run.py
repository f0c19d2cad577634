"""A TaskRun or PipelineRun as Chains' formatters read it, straight from parsed JSON/YAML.

:class:`Run` reads only what the formatters need, lazily, with Go decoding semantics (see
:mod:`._values`): a value of the wrong type is an :class:`InputError` naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from konflux_supply.errors import InputError

from . import _v1beta1
from ._format import Notes
from ._values import item, obj, param_value, parse_time, seq, string, string_map, wrong_type

__all__ = ["PIPELINE_TASK_LABEL", "Result", "Run", "load_run"]

PIPELINE_TASK_LABEL = "tekton.dev/pipelineTask"
TASK_RUN, PIPELINE_RUN = "TaskRun", "PipelineRun"
_API_VERSIONS = ("tekton.dev/v1", "tekton.dev/v1beta1")

# (name, value as ParamValue decodes it, value present?, field path of the value)
Result = tuple[str, Any, bool, str]


def _detect_kind(doc: dict[str, Any], where: str) -> str:
    kind = doc.get("kind")
    if kind is not None:
        if kind in (TASK_RUN, PIPELINE_RUN):
            return str(kind)
        raise InputError(
            f"kind {kind!r} is not supported (expected TaskRun or PipelineRun)",
            field=f"{where}kind",
        )
    raw_spec, raw_status = doc.get("spec"), doc.get("status")
    spec: dict[str, Any] = raw_spec if type(raw_spec) is dict else {}
    status: dict[str, Any] = raw_status if type(raw_status) is dict else {}
    task_like = any(k in spec for k in ("taskRef", "taskSpec")) or any(
        k in status for k in ("taskSpec", "steps", "podName", "taskResults", "sidecars")
    )
    pipeline_like = any(k in spec for k in ("pipelineRef", "pipelineSpec")) or any(
        k in status for k in ("pipelineSpec", "childReferences", "pipelineResults", "skippedTasks")
    )
    if task_like and not pipeline_like:
        return TASK_RUN
    if pipeline_like and not task_like:
        return PIPELINE_RUN
    raise InputError(
        "cannot tell whether this is a TaskRun or a PipelineRun; set `kind`",
        field=f"{where}kind",
    )


class Run:
    """One run. ``where`` prefixes field paths (``children[1].`` for a child TaskRun)."""

    __slots__ = (
        "_all_step_results",
        "_params",
        "_results",
        "_step_results",
        "_steps",
        "_times",
        "annotations",
        "doc",
        "kind",
        "labels",
        "metadata",
        "name",
        "spec",
        "status",
        "uid",
        "where",
    )

    def __init__(self, doc: dict[str, Any], kind: str, where: str) -> None:
        self.doc = doc
        self.kind = kind
        self.where = where
        self.metadata = obj(doc, "metadata", where.rstrip("."))
        meta_path = f"{where}metadata"
        self.name = string(self.metadata, "name", meta_path)
        self.uid = string(self.metadata, "uid", meta_path)
        self.labels = string_map(self.metadata, "labels", meta_path)
        self.annotations = string_map(self.metadata, "annotations", meta_path)
        self.spec = obj(doc, "spec", where.rstrip("."))
        self.status = obj(doc, "status", where.rstrip("."))
        # What the formatters read more than once is decoded once.
        self._results: list[Result] | None = None
        self._steps: list[dict[str, Any]] | None = None
        self._step_results: dict[int, list[Result]] = {}
        self._all_step_results: list[Result] | None = None
        self._params: list[tuple[str, Any, bool, str]] | None = None
        self._times: dict[str, tuple[datetime, int] | None] = {}

    # -- identity -----------------------------------------------------------------------------

    @property
    def is_task_run(self) -> bool:
        return self.kind == TASK_RUN

    def path(self, *parts: str) -> str:
        return self.where + ".".join(parts)

    def labels_or_none(self) -> dict[str, str] | None:
        """Labels as Go's ``GetLabels()`` returns them: ``None`` when unset."""
        return self.labels if self.metadata.get("labels") is not None else None

    def annotations_or_none(self) -> dict[str, str] | None:
        return self.annotations if self.metadata.get("annotations") is not None else None

    # -- times --------------------------------------------------------------------------------

    def _time(self, key: str) -> tuple[datetime, int] | None:
        if key not in self._times:
            self._times[key] = parse_time(self.status.get(key), self.path(f"status.{key}"))
        return self._times[key]

    def start_time(self) -> Any:
        return self._time("startTime")

    def completion_time(self) -> Any:
        return self._time("completionTime")

    def is_complete(self) -> bool:
        return self.completion_time() is not None

    # -- results ------------------------------------------------------------------------------

    def results(self) -> list[Result]:
        """``status.results`` of the run."""
        if self._results is None:
            self._results = _read_results(
                seq(self.status, "results", self.path("status")), self.path("status.results")
            )
        return self._results

    def step_states(self) -> list[dict[str, Any]]:
        """``status.steps`` (each an object)."""
        if self._steps is None:
            path = self.path("status.steps")
            steps = seq(self.status, "steps", self.path("status"))
            self._steps = [item(step, f"{path}[{i}]") for i, step in enumerate(steps)]
        return self._steps

    def step_results(self, index: int, step: dict[str, Any]) -> list[Result]:
        """The results of ``status.steps[index]``."""
        found = self._step_results.get(index)
        if found is None:
            path = self.path(f"status.steps[{index}]")
            found = _read_results(seq(step, "results", path), f"{path}.results")
            self._step_results[index] = found
        return found

    def all_step_results(self) -> list[Result]:
        """``GetStepResults()``: the results of every step, in order."""
        if self._all_step_results is None:
            out: list[Result] = []
            for index, step in enumerate(self.step_states()):
                out.extend(self.step_results(index, step))
            self._all_step_results = out
        return self._all_step_results

    # -- provenance ---------------------------------------------------------------------------

    def provenance(self) -> dict[str, Any]:
        return obj(self.status, "provenance", self.path("status"))

    def ref_source(self) -> dict[str, Any] | None:
        """``status.provenance.refSource`` or ``None`` when unset."""
        source = self.provenance().get("refSource")
        if source is None:
            return None
        if type(source) is not dict:
            raise wrong_type(self.path("status.provenance.refSource"), "an object", source)
        return source

    def is_remote(self) -> bool:
        """``IsRemote()``: the task/pipeline ref names a resolver other than ``Cluster``."""
        key = "taskRef" if self.is_task_run else "pipelineRef"
        ref = obj(self.spec, key, self.path("spec"))
        resolver = string(ref, "resolver", self.path(f"spec.{key}"))
        return resolver not in ("", "Cluster")

    # -- specs --------------------------------------------------------------------------------

    def task_spec(self) -> dict[str, Any] | None:
        """``status.taskSpec`` or ``None``."""
        spec = self.status.get("taskSpec")
        if spec is None:
            return None
        if type(spec) is not dict:
            raise wrong_type(self.path("status.taskSpec"), "an object", spec)
        return spec

    def pipeline_spec(self) -> dict[str, Any] | None:
        """``status.pipelineSpec`` or ``None``."""
        spec = self.status.get("pipelineSpec")
        if spec is None:
            return None
        if type(spec) is not dict:
            raise wrong_type(self.path("status.pipelineSpec"), "an object", spec)
        return spec

    def spec_params(self) -> list[tuple[str, Any, bool, str]]:
        """``spec.params`` as ``(name, raw value, present, path)``."""
        if self._params is None:
            self._params = _read_params(
                seq(self.spec, "params", self.path("spec")), self.path("spec.params")
            )
        return self._params


def _read_results(entries: list[Any], path: str) -> list[Result]:
    out: list[Result] = []
    for index, entry in enumerate(entries):
        where = f"{path}[{index}]"
        entry = item(entry, where)
        name = string(entry, "name", where)
        present = "value" in entry
        value = param_value(entry.get("value"), f"{where}.value") if present else ""
        out.append((name, value, present, f"{where}.value"))
    return out


def _read_params(entries: list[Any], path: str) -> list[tuple[str, Any, bool, str]]:
    out = []
    for index, entry in enumerate(entries):
        where = f"{path}[{index}]"
        entry = item(entry, where)
        out.append(
            (string(entry, "name", where), entry.get("value"), "value" in entry, f"{where}.value")
        )
    return out


def load_run(doc: Any, notes: Notes, *, where: str = "", expect: str | None = None) -> Run:
    """Check the envelope of a run document, convert v1beta1 to v1 and wrap it."""
    if type(doc) is not dict:
        raise InputError(
            "a run must be a JSON/YAML object (a TaskRun or PipelineRun)",
            field=where.rstrip(".") or None,
        )
    api_version = doc.get("apiVersion")
    if api_version is not None and api_version not in _API_VERSIONS:
        raise InputError(
            f"apiVersion {api_version!r} is not supported "
            "(expected tekton.dev/v1 or tekton.dev/v1beta1)",
            field=f"{where}apiVersion",
        )
    try:
        kind = _detect_kind(doc, where)
    except InputError:
        if expect is None or doc.get("kind") is not None:
            raise
        kind = expect  # a child with too little to tell from: it is what it was passed as
    if expect is not None and kind != expect:
        raise InputError(f"expected a {expect}, found a {kind}", field=f"{where}kind")
    if api_version == "tekton.dev/v1beta1":
        if kind == TASK_RUN:
            doc = _v1beta1.task_run_to_v1(doc, notes, where)
        else:
            doc = _v1beta1.pipeline_run_to_v1(doc, notes, where)
    for key in ("metadata", "spec", "status"):
        value = doc.get(key)
        if value is not None and type(value) is not dict:
            raise wrong_type(f"{where}{key}", "an object", value)
    return Run(doc, kind, where)


def pipeline_tasks(run: Run) -> tuple[list[dict[str, Any]], int]:
    """``status.pipelineSpec`` tasks then finally tasks, and how many are non-finally."""
    spec = run.pipeline_spec()
    if spec is None:
        return [], 0
    path = run.path("status.pipelineSpec")
    tasks = [item(t, f"{path}.tasks[{i}]") for i, t in enumerate(seq(spec, "tasks", path))]
    final = [item(t, f"{path}.finally[{i}]") for i, t in enumerate(seq(spec, "finally", path))]
    return tasks + final, len(tasks)


def task_name(run: Run, task: dict[str, Any], index: int, regular: int) -> str:
    where = f"tasks[{index}]" if index < regular else f"finally[{index - regular}]"
    return string(task, "name", run.path(f"status.pipelineSpec.{where}"))


def match_children(
    run: Run, children: list[Run], notes: Notes
) -> list[tuple[int, dict[str, Any], list[Run]]]:
    """Pipeline tasks with the child TaskRuns labelled for them (``GetTaskRunsFromTask``).

    Children are matched by the ``tekton.dev/pipelineTask`` label, in the order given.
    Children that match no pipeline task are reported and left out.
    """
    tasks, regular = pipeline_tasks(run)
    matched: set[int] = set()
    out = []
    for index, task in enumerate(tasks):
        name = task_name(run, task, index, regular)
        runs = []
        for position, child in enumerate(children):
            if child.labels.get(PIPELINE_TASK_LABEL) == name:
                runs.append(child)
                matched.add(position)
        out.append((index, task, runs))
    for position, child in enumerate(children):
        if position not in matched:
            label = child.labels.get(PIPELINE_TASK_LABEL)
            if run.pipeline_spec() is None:
                why = "the PipelineRun has no status.pipelineSpec"
            elif label is None:
                why = f"it has no {PIPELINE_TASK_LABEL} label"
            else:
                why = f"its {PIPELINE_TASK_LABEL} label {label!r} names no pipeline task"
            notes.warn(f"{child.where.rstrip('.')} ({child.name}): ignored, {why}")
    return out


def executed(
    run: Run, matched: list[tuple[int, dict[str, Any], list[Run]]], notes: Notes
) -> list[Run]:
    """``GetExecutedTasks``: matched children with a completion time, in pipeline order."""
    out = []
    for _, _, runs in matched:
        for child in runs:
            if child.is_complete():
                out.append(child)
            else:
                notes.warn(
                    f"{child.where.rstrip('.')} ({child.name}): ignored, the TaskRun has no "
                    "status.completionTime (it did not run to completion)"
                )
    return out
