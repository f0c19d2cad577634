"""What to do with one run: a pure function of the run, its children and the options.

No I/O here: :func:`reconcile` takes the run as read from the API server (a plain dict),
its child TaskRuns (PipelineRuns only) and a :class:`Policy`, and returns a
:class:`Decision` — wait, forget, sign, add or remove our finalizer. The controller carries
the decision out (``_controller.py``); tests call :func:`reconcile` with dicts.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "FINALIZER",
    "MAX_RETRIES",
    "RETRIES",
    "SIGNED",
    "SIGN_STATUS",
    "SKIP",
    "Decision",
    "Key",
    "Policy",
    "child_names",
    "completion_time",
    "failure_patch",
    "is_finished",
    "is_signed",
    "needs_signing",
    "reconcile",
    "shard_of",
]

SIGNED = "chains.tekton.dev/signed"
RETRIES = "chains.tekton.dev/retries"
SKIP = "chains.tekton.dev/skip"
SIGN_STATUS = "konflux-supply.dev/sign-status"
FINALIZER = "konflux-supply.dev/chains"
MAX_RETRIES = 3
"""As Chains: ``retries`` goes ``"0"``..``"3"``; the failure after ``"3"`` sets ``signed: failed``
(five attempts in all; reference/chains.md §3.6)."""

Plural = Literal["taskruns", "pipelineruns"]


@dataclass(frozen=True, order=True)
class Key:
    """What the work queue holds: which run, never the run itself."""

    plural: Plural
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.plural}/{self.namespace}/{self.name}"

    @classmethod
    def of(cls, run: Mapping[str, Any]) -> Key:
        """The key of a run object (its ``kind`` or its shape says TaskRun or PipelineRun)."""
        meta = _obj(run.get("metadata"))
        return cls(
            "pipelineruns" if _is_pipeline_run(run) else "taskruns",
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
        )


@dataclass(frozen=True)
class Policy:
    """The controller's options that change what reconcile decides.

    * ``ignore_before`` — runs that finished before this instant are never signed;
    * ``finalizer`` — add our finalizer to unfinished runs and remove it right after signing
      (off by default: a finalizer must never block deletion, reference/chains.md §5);
    * ``max_retries`` — Chains' retry budget (``retries`` annotation).
    """

    ignore_before: datetime.datetime | None = None
    finalizer: bool = False
    max_retries: int = MAX_RETRIES


Action = Literal["forget", "wait", "sign", "add-finalizer", "remove-finalizer"]


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`reconcile`.

    * ``forget`` — nothing to do (signed, failed for good, skipped, not ours…);
    * ``wait`` — try again later (a PipelineRun whose children are not all signed yet);
    * ``sign`` — call the signer with ``children``; then patch its annotations
      (``remove_finalizer``: and drop our finalizer in the same patch);
    * ``add-finalizer`` / ``remove-finalizer`` — only with ``Policy.finalizer``.
    """

    action: Action
    reason: str
    children: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    remove_finalizer: bool = False


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_pipeline_run(run: Mapping[str, Any]) -> bool:
    kind = run.get("kind")
    if kind in ("TaskRun", "PipelineRun"):
        return bool(kind == "PipelineRun")
    spec, status = _obj(run.get("spec")), _obj(run.get("status"))
    return bool(
        {"pipelineRef", "pipelineSpec"} & spec.keys()
        or {"pipelineSpec", "childReferences"} & status.keys()
    )


def _annotations(run: Mapping[str, Any]) -> dict[str, Any]:
    return _obj(_obj(run.get("metadata")).get("annotations"))


def _parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def is_finished(run: Mapping[str, Any]) -> bool:
    """The ``Succeeded`` condition is ``True`` or ``False`` (not ``Unknown``, not absent)."""
    for condition in _obj(run.get("status")).get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == "Succeeded":
            return condition.get("status") in ("True", "False")
    return False


def completion_time(run: Mapping[str, Any]) -> datetime.datetime | None:
    """``status.completionTime`` (else the creation time), timezone-aware; ``None`` when absent."""
    status, meta = _obj(run.get("status")), _obj(run.get("metadata"))
    return _parse_time(status.get("completionTime")) or _parse_time(meta.get("creationTimestamp"))


def is_signed(run: Mapping[str, Any]) -> bool:
    """Chains is done with it: ``signed`` is ``"true"`` or ``"failed"`` (both stop processing)."""
    return _annotations(run).get(SIGNED) in ("true", "failed")


def _skipped(run: Mapping[str, Any], policy: Policy) -> str | None:
    if str(_annotations(run).get(SKIP, "")).lower() == "true":
        return f"opted out ({SKIP})"
    if policy.ignore_before is not None:
        done = completion_time(run)
        if done is not None and done < policy.ignore_before:
            return "finished before --ignore-runs-before"
    return None


def needs_signing(run: Mapping[str, Any], policy: Policy = Policy()) -> bool:
    """What the watcher queues: finished, unsigned, not skipped (or, with the finalizer
    option, anything our finalizer must be added to or removed from)."""
    if policy.finalizer and _finalizer_work(run) is not None:
        return True
    return is_finished(run) and not is_signed(run) and _skipped(run, policy) is None


def _has_finalizer(run: Mapping[str, Any]) -> bool:
    return FINALIZER in (_obj(run.get("metadata")).get("finalizers") or ())


def _finalizer_work(run: Mapping[str, Any]) -> Action | None:
    deleting = bool(_obj(run.get("metadata")).get("deletionTimestamp"))
    present = _has_finalizer(run)
    if present and (is_signed(run) or (deleting and not is_finished(run))):
        return "remove-finalizer"
    if not present and not deleting and not is_finished(run) and not is_signed(run):
        return "add-finalizer"
    return None


def child_names(run: Mapping[str, Any]) -> list[str]:
    """The PipelineRun's child TaskRuns: ``status.childReferences`` (v1) or the keys of
    ``status.taskRuns`` (v1beta1 full embedded status). Custom runs are not signed by us."""
    status = _obj(run.get("status"))
    names: list[str] = []
    for ref in status.get("childReferences") or ():
        if isinstance(ref, dict) and ref.get("kind", "TaskRun") == "TaskRun" and ref.get("name"):
            names.append(str(ref["name"]))
    names.extend(str(name) for name in _obj(status.get("taskRuns")) if name not in names)
    return names


def reconcile(
    run: Mapping[str, Any] | None,
    children: Mapping[str, Mapping[str, Any] | None] | None = None,
    policy: Policy = Policy(),
) -> Decision:
    """Decide what to do with ``run`` (``None``: it is gone).

    ``children`` maps each name of :func:`child_names` to the TaskRun read from the API
    server (``None``: it does not exist any more); PipelineRuns only. A PipelineRun is signed
    only once every existing child is finished and signed (the ``.att`` write-race guard
    Chains uses); a vanished child does not block it forever (it can never be signed).
    """
    if run is None:
        return Decision("forget", "the run is gone")
    deleting = bool(_obj(run.get("metadata")).get("deletionTimestamp"))
    if policy.finalizer:
        work = _finalizer_work(run)
        if work is not None:
            reason = "signed" if is_signed(run) else "being deleted before it finished"
            if work == "add-finalizer":
                reason = "unfinished: hold deletion until signed"
            return Decision(work, reason)
    if is_signed(run):
        return Decision("forget", f"already {SIGNED}={_annotations(run).get(SIGNED)}")
    if not is_finished(run):
        return Decision("forget", "not finished")
    skipped = _skipped(run, policy)
    if skipped is not None:
        return Decision("forget", skipped, remove_finalizer=_has_finalizer(run))
    found: list[Mapping[str, Any]] = []
    if _is_pipeline_run(run):
        wanted = child_names(run)
        children = children or {}
        for name in wanted:
            if name not in children:
                return Decision("wait", f"child TaskRun {name} not read")
            child = children[name]
            if child is None:
                continue
            if not is_finished(child) or not is_signed(child):
                if deleting:
                    break
                return Decision("wait", f"child TaskRun {name} not finished and signed yet")
            found.append(child)
    return Decision(
        "sign",
        "finished and unsigned",
        children=tuple(found),
        remove_finalizer=_has_finalizer(run),
    )


def failure_patch(
    run: Mapping[str, Any], cause: str, max_retries: int = MAX_RETRIES
) -> dict[str, str | None]:
    """The annotations after a sign attempt that raised (the signer never returned an
    outcome): ``retries`` counted as Chains counts it, ``signed: failed`` once spent."""
    current = _annotations(run).get(RETRIES)
    try:
        previous: int | None = int(current) if current is not None else None
    except (TypeError, ValueError):
        previous = None
    patch: dict[str, str | None] = {
        SIGN_STATUS: json.dumps({"error": cause[:500]}, separators=(",", ":"))
    }
    if previous is not None and previous >= max_retries:
        patch[SIGNED] = "failed"
    else:
        patch[RETRIES] = "0" if previous is None else str(previous + 1)
    return patch


def shard_of(namespace: str, shard_count: int) -> int:
    """A stable shard for a namespace: ``sha256(namespace) mod shard_count`` (the same in
    every replica and every Python process, unlike ``hash()``)."""
    if shard_count < 1:
        raise ValueError("shard_count must be >= 1")
    digest = hashlib.sha256(namespace.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shard_count


def merge_annotations_patch(
    annotations: Mapping[str, str | None],
    *,
    remove_finalizer_from: Sequence[str] | None = None,
    resource_version: str | None = None,
) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) on ``metadata`` only: the annotations, and, when
    ``remove_finalizer_from`` is the run's finalizer list, that list without ours (a list is
    replaced whole by a merge patch, so then ``resource_version`` must guard it: a stale
    patch is a 409 Conflict instead of dropping someone else's finalizer)."""
    meta: dict[str, Any] = {}
    if annotations:
        meta["annotations"] = dict(annotations)
    if remove_finalizer_from is not None:
        meta["finalizers"] = [f for f in remove_finalizer_from if f != FINALIZER]
        if resource_version is not None:
            meta["resourceVersion"] = resource_version
    return {"metadata": meta}


def finalizers(run: Mapping[str, Any]) -> list[str]:
    """The run's ``metadata.finalizers`` (strings only)."""
    return [str(f) for f in _obj(run.get("metadata")).get("finalizers") or () if f]


def resource_version(run: Mapping[str, Any]) -> str | None:
    """``metadata.resourceVersion`` when present."""
    value = _obj(run.get("metadata")).get("resourceVersion")
    return str(value) if value is not None else None


def names(runs: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """``{metadata.name: run}``."""
    return {str(_obj(r.get("metadata")).get("name")): r for r in runs}
