"""A fake Kubernetes API server on loopback: just the semantics the controller depends on.

Covered (docs/controller.md "What the fake API server covers"):

* tekton.dev ``taskruns``/``pipelineruns`` (``v1`` and ``v1beta1``, one store; the answer
  carries the requested ``apiVersion``), namespaced and all-namespace paths; GET, LIST, WATCH,
  POST, PATCH (``application/merge-patch+json`` only: RFC 7386; others get 415), DELETE;
* ``coordination.k8s.io/v1`` ``leases``: GET, LIST, POST, PUT, DELETE;
* one global ``resourceVersion`` counter; PUT and merge patches carrying a stale
  ``metadata.resourceVersion`` get 409 Conflict, a POST of an existing name 409
  AlreadyExists, a DELETE with a stale ``preconditions.resourceVersion`` 409;
* LIST: ``labelSelector`` (``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``), ``fieldSelector``
  (``metadata.name``, ``metadata.namespace``), ``limit`` + ``continue`` (the continuation
  serves the *current* state after the last key, not the first page's snapshot; a token
  older than the compacted history is 410 Gone);
* WATCH: events after ``resourceVersion`` from a bounded history; a version older than the
  history is an ``ERROR`` event with code 410; ``allowWatchBookmarks`` BOOKMARK events every
  ``bookmark_interval`` seconds; ``timeoutSeconds``;
* deletion with finalizers sets ``deletionTimestamp``; the object goes when they are gone;
* bearer-token authentication (401 otherwise);
* chaos: 500s, 429 with ``Retry-After``, watch streams cut mid-stream (no final chunk).

Not covered: admission, defaulting, schema validation, server-side apply, strategic merge
patch, JSON patch, ``resourceVersionMatch``, watch-cache semantics, field managers,
namespaces as objects, RBAC.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "fake-api-token"

_PATH = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$"
)
_KINDS = {"taskruns": "TaskRun", "pipelineruns": "PipelineRun", "leases": "Lease"}
_GROUPS = {"tekton.dev": {"taskruns", "pipelineruns"}, "coordination.k8s.io": {"leases"}}


@dataclass
class Chaos:
    """Faults for requests from clients (never for the test's direct calls)."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after: int = 1
    cut_watch_after: float | None = None
    seed: int = 7
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class ApiFailure(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _labels_match(labels: Mapping[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _fields_match(obj: Mapping[str, Any], selector: str) -> bool:
    meta = obj.get("metadata") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        negate = "!=" in term
        k, v = term.replace("!=", "=").replace("==", "=").split("=", 1)
        actual = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}
        if k not in actual:
            raise ApiFailure(400, "BadRequest", f"field label not supported: {k}")
        if (actual[k] == v) == negate:
            return False
    return True


class FakeKube:
    """The store, the event history and the HTTP server (:meth:`start`/:meth:`stop`)."""

    def __init__(self, *, history: int = 100_000, bookmark_interval: float = 1.0) -> None:
        self.cond = threading.Condition()
        self.rv = 1
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: deque[tuple[int, str, str, dict[str, Any]]] = deque(maxlen=history)
        self.compacted = 1
        self.bookmark_interval = bookmark_interval
        self.chaos = Chaos()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = False

    # -- the store (also the test's direct API) ---------------------------------------------

    def _record(self, plural: str, kind: str, obj: dict[str, Any]) -> None:
        if len(self.events) == self.events.maxlen:
            self.compacted = self.events[0][0]
        self.events.append((self.rv, plural, kind, copy.deepcopy(obj)))
        self.cond.notify_all()

    def _bump(self, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def create(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self.cond:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            key = (plural, str(meta.get("namespace") or "default"), str(meta["name"]))
            if key in self.objects:
                raise ApiFailure(409, "AlreadyExists", f'{plural} "{key[2]}" already exists')
            meta["namespace"] = key[1]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now())
            meta.pop("resourceVersion", None)
            obj.setdefault("kind", _KINDS[plural])
            self._bump(obj)
            self.objects[key] = obj
            self._record(plural, "ADDED", obj)
            return copy.deepcopy(obj)

    def get(self, plural: str, ns: str, name: str) -> dict[str, Any]:
        with self.cond:
            obj = self.objects.get((plural, ns, name))
            if obj is None:
                raise ApiFailure(404, "NotFound", f'{plural} "{name}" not found')
            return copy.deepcopy(obj)

    def _check_rv(self, current: dict[str, Any], wanted: Any) -> None:
        if wanted not in (None, "") and str(wanted) != current["metadata"]["resourceVersion"]:
            raise ApiFailure(
                409,
                "Conflict",
                "Operation cannot be fulfilled: the object has been modified; "
                "please apply your changes to the latest version and try again",
            )

    def _store(self, plural: str, key: tuple[str, str, str], obj: dict[str, Any]) -> dict[str, Any]:
        self._bump(obj)
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self.objects[key]
            self._record(plural, "DELETED", obj)
        else:
            self.objects[key] = obj
            self._record(plural, "MODIFIED", obj)
        return copy.deepcopy(obj)

    def patch(self, plural: str, ns: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        with self.cond:
            key = (plural, ns, name)
            current = self.objects.get(key)
            if current is None:
                raise ApiFailure(404, "NotFound", f'{plural} "{name}" not found')
            self._check_rv(current, (patch.get("metadata") or {}).get("resourceVersion"))
            merged = merge_patch(current, patch)
            for fixed in ("name", "namespace", "uid", "creationTimestamp"):
                merged["metadata"][fixed] = current["metadata"].get(fixed)
            return self._store(plural, key, merged)

    def replace(self, plural: str, ns: str, name: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self.cond:
            key = (plural, ns, name)
            current = self.objects.get(key)
            if current is None:
                raise ApiFailure(404, "NotFound", f'{plural} "{name}" not found')
            wanted = (obj.get("metadata") or {}).get("resourceVersion")
            if not wanted:
                raise ApiFailure(422, "Invalid", "metadata.resourceVersion: must be specified")
            self._check_rv(current, wanted)
            obj = copy.deepcopy(obj)
            for fixed in ("name", "namespace", "uid", "creationTimestamp"):
                obj["metadata"][fixed] = current["metadata"].get(fixed)
            obj.setdefault("kind", _KINDS[plural])
            return self._store(plural, key, obj)

    def delete(self, plural: str, ns: str, name: str, precondition: str | None = None) -> None:
        with self.cond:
            key = (plural, ns, name)
            current = self.objects.get(key)
            if current is None:
                raise ApiFailure(404, "NotFound", f'{plural} "{name}" not found')
            self._check_rv(current, precondition)
            obj = copy.deepcopy(current)
            if obj["metadata"].get("finalizers"):
                obj["metadata"].setdefault("deletionTimestamp", _now())
                self._store(plural, key, obj)
            else:
                del self.objects[key]
                self._bump(obj)
                self._record(plural, "DELETED", obj)

    def list_objects(
        self,
        plural: str,
        ns: str | None,
        *,
        labels: str = "",
        fields: str = "",
        limit: int = 0,
        token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str, str | None]:
        with self.cond:
            start: tuple[str, str] = ("", "")
            if token:
                state = json.loads(base64.urlsafe_b64decode(token))
                if int(state["rv"]) < self.compacted:
                    raise ApiFailure(410, "Expired", "the continue token has expired")
                start = (state["ns"], state["name"])
            out = []
            for (p, o_ns, o_name), obj in sorted(self.objects.items()):
                if p != plural or (ns and o_ns != ns) or (token and (o_ns, o_name) <= start):
                    continue
                meta = obj["metadata"]
                if labels and not _labels_match(meta.get("labels") or {}, labels):
                    continue
                if fields and not _fields_match(obj, fields):
                    continue
                out.append(copy.deepcopy(obj))
                if limit and len(out) > limit:
                    break
            nxt = None
            if limit and len(out) > limit:
                out = out[:limit]
                last = out[-1]["metadata"]
                nxt = base64.urlsafe_b64encode(
                    json.dumps(
                        {"rv": self.rv, "ns": last["namespace"], "name": last["name"]}
                    ).encode()
                ).decode()
            return out, str(self.rv), nxt

    def compact(self) -> None:
        """Forget the whole history: every watch, open or resumed, from an older version
        gets a 410 Gone (as after an etcd compaction)."""
        with self.cond:
            self.events.clear()
            self.rv += 1
            self.compacted = self.rv
            self.cond.notify_all()

    def count_annotated(self, plural: str, annotation: str, value: str) -> int:
        """How many objects carry ``annotation: value`` (no copies: cheap to poll)."""
        with self.cond:
            return sum(
                1
                for (p, _, _), o in self.objects.items()
                if p == plural and (o["metadata"].get("annotations") or {}).get(annotation) == value
            )

    def runs(self, plural: str) -> list[dict[str, Any]]:
        with self.cond:
            return [copy.deepcopy(o) for (p, _, _), o in self.objects.items() if p == plural]

    # -- HTTP -------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); returns the base URL."""
        fake = self

        class Handler(_Handler):
            kube = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.stopping = True
        with self.cond:
            self.cond.notify_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "controller", "user": {"token": TOKEN}}],
                    "contexts": [
                        {"name": "fake", "context": {"cluster": "fake", "user": "controller"}}
                    ],
                    "current-context": "fake",
                }
            )
        )
        return path

    def watch_events(
        self, plural: str, ns: str | None, since: int, labels: str, fields: str
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield events after ``since`` forever (the caller ends the stream)."""
        with self.cond:
            if since < self.compacted:
                raise ApiFailure(410, "Expired", f"too old resource version: {since}")
        position = since
        while not self.stopping:
            batch: list[tuple[str, dict[str, Any]]] = []
            with self.cond:
                # one event per resourceVersion, in order: index arithmetic, no scan
                first = self.events[0][0] if self.events else self.rv + 1
                if position < self.compacted or (position + 1 < first):
                    raise ApiFailure(410, "Expired", f"too old resource version: {position}")
                start = max(0, position + 1 - first)
                for index in range(start, len(self.events)):
                    rv, p, kind, obj = self.events[index]
                    position = rv
                    meta = obj["metadata"]
                    if p != plural or (ns and meta.get("namespace") != ns):
                        continue
                    if labels and not _labels_match(meta.get("labels") or {}, labels):
                        continue
                    if fields and not _fields_match(obj, fields):
                        continue
                    batch.append((kind, obj))
                if not batch:
                    self.cond.wait(0.2)
            yield from batch
            if not batch:
                yield "TICK", {}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kube: FakeKube

    def log_message(self, format: str, *args: object) -> None:
        return

    def _json(self, code: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body: Any = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._json(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        match = _PATH.match(url.path)
        if not match or match["plural"] not in _GROUPS.get(match["group"], ()):
            self._json(404, _status(404, "NotFound", f"the server could not find {url.path}"))
            return
        plural, ns, name = match["plural"], match["ns"], match["name"]
        watching = query.get("watch") in ("true", "1")
        verb = "watch" if watching else {"GET": "list" if not name else "get"}.get(method, method)
        chaos = self.kube.chaos
        with self.kube.cond:
            self.kube.requests[(verb.lower(), plural)] += 1
            roll = chaos.rng.random()
        if roll < chaos.error_rate:
            self._json(500, _status(500, "InternalError", "chaos: internal error"))
            return
        if roll < chaos.error_rate + chaos.throttle_rate:
            self._json(
                429,
                _status(429, "TooManyRequests", "chaos: slow down"),
                {"Retry-After": str(chaos.retry_after)},
            )
            return
        version = f"{match['group']}/{match['version']}"
        try:
            if watching:
                self._watch(plural, ns, query, version)
                return
            if method == "GET" and name:
                out: Any = self.kube.get(plural, ns or "", name)
            elif method == "GET":
                items, rv, nxt = self.kube.list_objects(
                    plural,
                    ns,
                    labels=query.get("labelSelector", ""),
                    fields=query.get("fieldSelector", ""),
                    limit=int(query.get("limit") or 0),
                    token=query.get("continue"),
                )
                for item in items:
                    item["apiVersion"] = version
                meta: dict[str, Any] = {"resourceVersion": rv}
                if nxt:
                    meta["continue"] = nxt
                out = {
                    "apiVersion": version,
                    "kind": _KINDS[plural] + "List",
                    "metadata": meta,
                    "items": items,
                }
            elif method == "POST":
                body.setdefault("metadata", {})["namespace"] = ns
                out = self.kube.create(plural, body)
                self._json(201, _versioned(out, version))
                return
            elif method == "PUT" and name:
                out = self.kube.replace(plural, ns or "", name, body)
            elif method == "PATCH" and name:
                kind = (self.headers.get("Content-Type") or "").split(";")[0]
                if kind != "application/merge-patch+json":
                    raise ApiFailure(415, "UnsupportedMediaType", f"unsupported patch type {kind}")
                out = self.kube.patch(plural, ns or "", name, body)
            elif method == "DELETE" and name:
                pre = ((body or {}).get("preconditions") or {}).get("resourceVersion")
                self.kube.delete(plural, ns or "", name, pre)
                out = {"kind": "Status", "apiVersion": "v1", "status": "Success"}
            else:
                raise ApiFailure(405, "MethodNotAllowed", "method not allowed")
        except ApiFailure as failure:
            self._json(failure.code, _status(failure.code, failure.reason, failure.message))
            return
        self._json(200, _versioned(out, version) if "metadata" in out else out)

    def _watch(self, plural: str, ns: str | None, query: Mapping[str, str], version: str) -> None:
        kube = self.kube
        since = int(query.get("resourceVersion") or 0)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 1800)
        cut = None
        if kube.chaos.cut_watch_after:
            cut = time.monotonic() + kube.chaos.rng.uniform(0.1, kube.chaos.cut_watch_after)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        last_bookmark = time.monotonic()
        try:
            if since == 0:
                for obj in kube.runs(plural):
                    self._chunk({"type": "ADDED", "object": _versioned(obj, version)})
                since = int(kube.rv)
            events = kube.watch_events(
                plural, ns, since, query.get("labelSelector", ""), query.get("fieldSelector", "")
            )
            for kind, obj in events:
                now = time.monotonic()
                if cut is not None and now > cut:
                    self.close_connection = True
                    return  # no final chunk: the client sees the stream end mid-way
                if kind != "TICK":
                    self._chunk({"type": kind, "object": _versioned(obj, version)})
                if bookmarks and now - last_bookmark >= kube.bookmark_interval:
                    last_bookmark = now
                    with kube.cond:
                        rv = str(max(since, kube.events[-1][0] if kube.events else kube.rv))
                    self._chunk(
                        {
                            "type": "BOOKMARK",
                            "object": {
                                "kind": _KINDS[plural],
                                "apiVersion": version,
                                "metadata": {"resourceVersion": rv},
                            },
                        }
                    )
                if now > deadline or kube.stopping:
                    break
        except ApiFailure as failure:
            self._chunk(
                {"type": "ERROR", "object": _status(failure.code, failure.reason, failure.message)}
            )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _chunk(self, event: Mapping[str, Any]) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


def _versioned(obj: dict[str, Any], version: str) -> dict[str, Any]:
    out = dict(obj)
    out["apiVersion"] = version
    return out


# -- runs for the tests -----------------------------------------------------------------------


def task_run(
    ns: str,
    name: str,
    *,
    finished: bool = True,
    completed: datetime.datetime | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    image: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A TaskRun (tekton.dev/v1); ``image``: (url, digest) as results."""
    done = completed or datetime.datetime.now(datetime.UTC)
    status: dict[str, Any] = {
        "conditions": [
            {"type": "Succeeded", "status": "True" if finished else "Unknown", "reason": "Done"}
        ],
        "startTime": (done - datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "podName": f"{name}-pod",
        "taskSpec": {"steps": [{"name": "build", "image": "busybox"}]},
        "steps": [
            {
                "name": "build",
                "container": "step-build",
                "imageID": "docker.io/busybox@sha256:" + "0" * 64,
            }
        ],
    }
    if finished:
        status["completionTime"] = done.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if image:
        status["results"] = [
            {"name": "IMAGE_URL", "type": "string", "value": image[0]},
            {"name": "IMAGE_DIGEST", "type": "string", "value": image[1]},
        ]
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": dict(labels or {}),
            "annotations": dict(annotations or {}),
        },
        "spec": {
            "taskRef": {"name": "build"},
            "serviceAccountName": "default",
            "futureField": {"x": 1},
        },
        "status": status,
    }


def pipeline_run(
    ns: str,
    name: str,
    children: list[str],
    *,
    finished: bool = True,
    completed: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A PipelineRun (tekton.dev/v1) naming its child TaskRuns in ``childReferences``."""
    done = completed or datetime.datetime.now(datetime.UTC)
    status: dict[str, Any] = {
        "conditions": [
            {"type": "Succeeded", "status": "True" if finished else "Unknown", "reason": "Done"}
        ],
        "startTime": (done - datetime.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pipelineSpec": {"tasks": [{"name": c, "taskRef": {"name": "build"}} for c in children]},
        "childReferences": [
            {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "name": c, "pipelineTaskName": c}
            for c in children
        ],
    }
    if finished:
        status["completionTime"] = done.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "namespace": ns, "labels": {}, "annotations": {}},
        "spec": {"pipelineRef": {"name": "build"}},
        "status": status,
    }
