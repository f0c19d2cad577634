"""The few Kubernetes API calls the controller makes, through the official ``kubernetes`` client.

Every call goes through one :class:`~konflux_supply.controller._queue.TokenBucket` (the
``--kube-api-qps``/``--kube-api-burst`` flags; Lease calls have their own small bucket so a
busy controller never loses its Leases to its own throttling), is counted for the metrics,
and is retried on 429 (honouring ``Retry-After``), 5xx and broken connections a few times
before the error reaches the caller.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from konflux_supply.controller._queue import TokenBucket
from konflux_supply.controller._reconcile import Key

__all__ = ["ApiError", "Gone", "KubeApi", "Lease", "ListPage"]

_log = logging.getLogger("konflux_supply.controller")

T = TypeVar("T")

GROUP = "tekton.dev"
_RETRIED = frozenset({429, 500, 502, 503, 504})


class ApiError(Exception):
    """An API call failed for good (after retries); ``status`` is the HTTP status (0: no
    answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status


class Gone(ApiError):
    """410 Gone: the resourceVersion is too old (a watch or a continue token expired)."""


@dataclass(frozen=True)
class ListPage:
    """One page of a list: the objects, the list's resourceVersion and the continue token."""

    items: list[dict[str, Any]]
    resource_version: str
    next: str | None


@dataclass(frozen=True)
class Lease:
    """A ``coordination.k8s.io/v1`` Lease, reduced to what leader election needs."""

    name: str
    holder: str | None
    duration: int
    renew_time: datetime.datetime | None
    transitions: int
    resource_version: str
    labels: Mapping[str, str]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class KubeApi:
    """Rate-limited, counted, retried calls; ``api_client`` is a configured
    ``kubernetes.client.ApiClient`` (from a kubeconfig or the in-cluster config)."""

    def __init__(
        self,
        api_client: Any,
        *,
        version: str = "v1",
        qps: float = 50.0,
        burst: int = 100,
        attempts: int = 5,
        timeout: float = 30.0,
        count: Callable[[str, str, int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from kubernetes import client

        self._client = client
        self.api_client = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.coordination = client.CoordinationV1Api(api_client)
        self.version = version
        self.bucket = TokenBucket(qps, burst, sleep=sleep)
        self.lease_bucket = TokenBucket(max(5.0, qps / 10), 10, sleep=sleep)
        self.attempts = max(1, attempts)
        self.timeout = (5.0, timeout)
        self._count = count or (lambda verb, resource, status: None)
        self._sleep = sleep
        self._rng = random.Random()

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, verb: str, resource: str, call: Callable[[], T], *, lease: bool = False) -> T:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        bucket = self.lease_bucket if lease else self.bucket
        delay = 0.1
        for attempt in range(self.attempts):
            bucket.acquire()
            try:
                result = call()
            except ApiException as error:
                status = int(error.status or 0)
                self._count(verb, resource, status)
                if status == 410:
                    raise Gone(410, str(error.reason)) from None
                if status not in _RETRIED or attempt + 1 == self.attempts:
                    raise ApiError(status, str(error.reason)) from None
                wait = _retry_after(error.headers) if status == 429 else None
                self._sleep(wait if wait is not None else delay * (1 + self._rng.random()))
            except (HTTPError, OSError) as error:
                self._count(verb, resource, 0)
                if attempt + 1 == self.attempts:
                    raise ApiError(0, f"no answer: {type(error).__name__}") from None
                self._sleep(delay * (1 + self._rng.random()))
            else:
                self._count(verb, resource, 200)
                return result
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- runs -------------------------------------------------------------------------------

    def list_runs(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 500,
        next_token: str | None = None,
    ) -> ListPage:
        """One page of TaskRuns or PipelineRuns (all namespaces when ``namespace`` is None)."""
        kwargs: dict[str, Any] = {"limit": limit, "_request_timeout": self.timeout}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        if next_token:
            kwargs["_continue"] = next_token

        def call() -> Any:
            if namespace:
                return self.custom.list_namespaced_custom_object(
                    GROUP, self.version, namespace, plural, **kwargs
                )
            return self.custom.list_custom_object_for_all_namespaces(
                GROUP, self.version, plural, **kwargs
            )

        body = self._call("list", plural, call)
        meta = body.get("metadata") or {}
        items = [item for item in body.get("items") or () if isinstance(item, dict)]
        return ListPage(items, str(meta.get("resourceVersion") or ""), meta.get("continue") or None)

    def watch_runs(
        self,
        plural: str,
        resource_version: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout: int = 300,
        on_response: Callable[[Any], None] | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Watch events (``ADDED``/``MODIFIED``/``DELETED``/``BOOKMARK``) after
        ``resource_version``, with bookmarks; raises :class:`Gone` when it is too old. The
        stream ends after ``timeout`` seconds or when the server cuts it."""
        from kubernetes.watch.watch import iter_resp_lines

        kwargs: dict[str, Any] = {
            "watch": True,
            "allow_watch_bookmarks": True,
            "resource_version": resource_version,
            "timeout_seconds": timeout,
            "_preload_content": False,
            "_request_timeout": (10, timeout + 30),
        }
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector

        def call() -> Any:
            if namespace:
                return self.custom.list_namespaced_custom_object(
                    GROUP, self.version, namespace, plural, **kwargs
                )
            return self.custom.list_custom_object_for_all_namespaces(
                GROUP, self.version, plural, **kwargs
            )

        response = self._call("watch", plural, call)
        if on_response is not None:
            on_response(response)
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                kind, obj = event.get("type"), event.get("object")
                if not isinstance(obj, dict) or not isinstance(kind, str):
                    continue
                if kind == "ERROR":
                    code = int(obj.get("code") or 0)
                    if code == 410:
                        raise Gone(410, str(obj.get("message") or "resourceVersion too old"))
                    raise ApiError(code, str(obj.get("message") or "watch error"))
                yield kind, obj
        finally:
            # never hand a half-read stream back to the pool
            response.close()
            response.release_conn()

    def get_run(self, key: Key) -> dict[str, Any] | None:
        """The run now (``None``: not found)."""
        try:
            body = self._call(
                "get",
                key.plural,
                lambda: self.custom.get_namespaced_custom_object(
                    GROUP,
                    self.version,
                    key.namespace,
                    key.plural,
                    key.name,
                    _request_timeout=self.timeout,
                ),
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return body if isinstance(body, dict) else None

    def list_children(self, namespace: str, pipeline_run: str) -> list[dict[str, Any]]:
        """The TaskRuns labelled ``tekton.dev/pipelineRun=<name>`` (one LIST, not one GET each)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.list_runs(
                "taskruns",
                namespace=namespace,
                label_selector=f"tekton.dev/pipelineRun={pipeline_run}",
                next_token=token,
            )
            items.extend(page.items)
            token = page.next
            if not token:
                return items

    def patch_run(self, key: Key, patch: Mapping[str, Any]) -> dict[str, Any] | None:
        """A JSON merge patch (RFC 7386); ``None`` when the run is gone; :class:`ApiError`
        409 when a ``metadata.resourceVersion`` in the patch is stale."""
        try:
            body = self._call(
                "patch",
                key.plural,
                lambda: self.custom.patch_namespaced_custom_object(
                    GROUP,
                    self.version,
                    key.namespace,
                    key.plural,
                    key.name,
                    dict(patch),
                    _content_type="application/merge-patch+json",
                    _request_timeout=self.timeout,
                ),
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return body if isinstance(body, dict) else None

    # -- leases -----------------------------------------------------------------------------

    def _lease(self, body: Any) -> Lease:
        spec = body.spec
        meta = body.metadata
        return Lease(
            name=str(meta.name),
            holder=spec.holder_identity or None,
            duration=int(spec.lease_duration_seconds or 0),
            renew_time=spec.renew_time,
            transitions=int(spec.lease_transitions or 0),
            resource_version=str(meta.resource_version or ""),
            labels=dict(meta.labels or {}),
        )

    def get_lease(self, namespace: str, name: str, *, reserved: bool = True) -> Lease | None:
        try:
            body = self._call(
                "get",
                "leases",
                lambda: self.coordination.read_namespaced_lease(
                    name, namespace, _request_timeout=self.timeout
                ),
                lease=reserved,
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return self._lease(body)

    def list_leases(self, namespace: str, label_selector: str) -> list[Lease]:
        body = self._call(
            "list",
            "leases",
            lambda: self.coordination.list_namespaced_lease(
                namespace, label_selector=label_selector, _request_timeout=self.timeout
            ),
            lease=True,
        )
        return [self._lease(item) for item in body.items or ()]

    def write_lease(
        self,
        namespace: str,
        name: str,
        *,
        holder: str | None,
        duration: int,
        transitions: int,
        labels: Mapping[str, str],
        resource_version: str | None,
        reserved: bool = True,
    ) -> Lease:
        """Create (``resource_version`` None) or replace the Lease; a stale replace is an
        :class:`ApiError` 409, a create of an existing one too. ``reserved``: count against
        the Leases' own rate budget (shard Leases), not the workers' (append locks)."""
        c = self._client
        now = _now()
        body = c.V1Lease(
            metadata=c.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels=dict(labels),
                resource_version=resource_version,
            ),
            spec=c.V1LeaseSpec(
                holder_identity=holder,
                lease_duration_seconds=duration,
                acquire_time=now if holder else None,
                renew_time=now if holder else None,
                lease_transitions=transitions,
            ),
        )
        if resource_version is None:
            out = self._call(
                "create",
                "leases",
                lambda: self.coordination.create_namespaced_lease(
                    namespace, body, _request_timeout=self.timeout
                ),
                lease=reserved,
            )
        else:
            out = self._call(
                "update",
                "leases",
                lambda: self.coordination.replace_namespaced_lease(
                    name, namespace, body, _request_timeout=self.timeout
                ),
                lease=reserved,
            )
        return self._lease(out)

    def delete_lease(
        self, namespace: str, name: str, resource_version: str, *, reserved: bool = True
    ) -> None:
        """Delete the Lease if it is still at ``resource_version`` (else 409; 404 is fine)."""
        c = self._client
        options = c.V1DeleteOptions(
            preconditions=c.V1Preconditions(resource_version=resource_version)
        )
        try:
            self._call(
                "delete",
                "leases",
                lambda: self.coordination.delete_namespaced_lease(
                    name, namespace, body=options, _request_timeout=self.timeout
                ),
                lease=reserved,
            )
        except ApiError as error:
            if error.status != 404:
                raise


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return min(30.0, max(0.0, float(value))) if value is not None else None
    except (TypeError, ValueError):
        return None
