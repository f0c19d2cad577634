"""Read a run (and a PipelineRun's child TaskRuns) from a cluster, and annotate it: the two
Kubernetes calls ``sign-run --from-cluster`` makes, on the official client (extra
``kubernetes``).

The caller builds the ``kubernetes.client.ApiClient`` (in a pod: the service account's
in-cluster configuration); nothing here reads the environment. Children are fetched by name
from ``status.childReferences``, as Chains' reconciler does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from konflux_supply.errors import BackendUnavailable, InputError

__all__ = ["MERGE_PATCH", "annotate_run", "read_run"]

MERGE_PATCH = "application/merge-patch+json"
_GROUP, _VERSION = "tekton.dev", "v1"
_PLURALS = {"PipelineRun": "pipelineruns", "TaskRun": "taskruns"}


def _client(api_client: Any) -> Any:
    try:
        from kubernetes import client
    except ImportError:
        raise BackendUnavailable.missing_extra("kubernetes", "kubernetes") from None
    return client.CustomObjectsApi(api_client)


def _api_error(error: Exception, what: str) -> Exception:
    status = getattr(error, "status", None)
    if status == 404:
        return InputError(f"{what} not found", field="--from-cluster")
    if status in (401, 403):
        return BackendUnavailable(
            f"the Kubernetes API refused access to {what} (HTTP {status})",
            hint="grant the service account get on taskruns/pipelineruns (patch to annotate)",
        )
    reason = getattr(error, "reason", None) or type(error).__name__
    return BackendUnavailable(f"the Kubernetes API could not answer for {what}: {reason}")


def _get(api: Any, namespace: str, kind: str, name: str) -> dict[str, Any]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        found = api.get_namespaced_custom_object(_GROUP, _VERSION, namespace, _PLURALS[kind], name)
    except (ApiException, HTTPError, OSError) as error:
        raise _api_error(error, f"{kind} {namespace}/{name}") from None
    if not isinstance(found, dict):
        raise BackendUnavailable(f"the Kubernetes API returned no object for {kind} {name}")
    found.setdefault("kind", kind)
    found.setdefault("apiVersion", f"{_GROUP}/{_VERSION}")
    return found


def _split(target: str) -> tuple[str | None, str, str]:
    parts = target.split("/")
    if len(parts) == 3 and parts[0].lower() in ("taskrun", "pipelinerun"):
        kind = "TaskRun" if parts[0].lower() == "taskrun" else "PipelineRun"
        return kind, parts[1], parts[2]
    if len(parts) == 2 and all(parts):
        return None, parts[0], parts[1]
    raise InputError(
        f"expected NAMESPACE/NAME or taskrun|pipelinerun/NAMESPACE/NAME, got {target!r}",
        field="--from-cluster",
    )


def read_run(api_client: Any, target: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run ``target`` names (``NAMESPACE/NAME``: a PipelineRun, else a TaskRun; or
    ``taskrun/NAMESPACE/NAME``) and, for a PipelineRun, its child TaskRuns."""
    kind, namespace, name = _split(target)
    api = _client(api_client)
    if kind is None:
        try:
            run = _get(api, namespace, "PipelineRun", name)
        except InputError:
            run = _get(api, namespace, "TaskRun", name)
    else:
        run = _get(api, namespace, kind, name)
    children: list[dict[str, Any]] = []
    if run.get("kind") == "PipelineRun":
        status = run.get("status") if isinstance(run.get("status"), dict) else {}
        references = status.get("childReferences") if isinstance(status, dict) else None
        for reference in references if isinstance(references, list) else []:
            if not isinstance(reference, Mapping) or reference.get("kind") != "TaskRun":
                continue
            child = reference.get("name")
            if not isinstance(child, str) or not child:
                continue
            try:
                children.append(_get(api, namespace, "TaskRun", child))
            except InputError:
                continue  # a vanished child: the provenance reports it missing
    return run, children


def annotate_run(api_client: Any, run: Mapping[str, Any], patch: Mapping[str, str | None]) -> None:
    """Merge-patch ``metadata.annotations`` of ``run`` (``None`` removes a key)."""
    if not patch:
        return
    metadata = run.get("metadata") if isinstance(run.get("metadata"), Mapping) else {}
    kind = run.get("kind")
    if kind not in _PLURALS or not isinstance(metadata, Mapping):
        raise InputError("the run has no kind TaskRun/PipelineRun", field="kind")
    namespace, name = metadata.get("namespace"), metadata.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise InputError("the run has no metadata.namespace/name", field="metadata")
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = _client(api_client)
    try:
        api.patch_namespaced_custom_object(
            _GROUP,
            _VERSION,
            namespace,
            _PLURALS[str(kind)],
            name,
            {"metadata": {"annotations": dict(patch)}},
            _content_type=MERGE_PATCH,
        )
    except (ApiException, HTTPError, OSError) as error:
        raise _api_error(error, f"{kind} {namespace}/{name}") from None
