"""A fake Kubernetes API server (http.server on loopback) serving Tekton runs.

GET ``/apis/tekton.dev/v1/namespaces/NS/PLURAL/NAME`` answers from ``objects``; PATCH merges
``metadata.annotations`` (a JSON merge patch: ``null`` removes) and records the request.
Anything else is a Kubernetes ``Status`` 404.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.integration.loopback import LoopbackServer

_PATH = re.compile(r"^/apis/tekton\.dev/v1/namespaces/([^/]+)/(taskruns|pipelineruns)/([^/?]+)$")


class FakeKube(LoopbackServer):
    """``FakeKube().start()``; put runs in ``objects[(plural, ns, name)]``."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def start(self) -> FakeKube:
        owner = self

        class Handler(_Handler):
            kube = owner

        self._serve(Handler)
        return self

    def kubeconfig(self) -> str:
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: fake, cluster: {{server: 'http://{self.host}'}}}}]\n"
            "users: [{name: sa, user: {token: not-a-real-token}}]\n"
            "contexts: [{name: fake, context: {cluster: fake, user: sa}}]\n"
            "current-context: fake\n"
        )


class _Handler(BaseHTTPRequestHandler):
    kube: FakeKube
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._send(
            404,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
            },
        )

    def _key(self) -> tuple[str, str, str] | None:
        match = _PATH.match(self.path.split("?", 1)[0])
        if match is None:
            return None
        namespace, plural, name = match.groups()
        return plural, namespace, name

    def do_GET(self) -> None:
        key = self._key()
        with self.kube.lock:
            self.kube.requests.append(("GET", self.path, None))
            found = self.kube.objects.get(key) if key else None
        if found is None:
            self._not_found()
        else:
            self._send(200, found)

    def do_PATCH(self) -> None:
        key = self._key()
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.kube.lock:
            self.kube.requests.append(("PATCH", self.path, self.headers.get("Content-Type")))
            found = self.kube.objects.get(key) if key else None
            if found is not None:
                self.kube.patches.append((self.path, body))
                annotations = found.setdefault("metadata", {}).setdefault("annotations", {})
                for name, value in body.get("metadata", {}).get("annotations", {}).items():
                    if value is None:
                        annotations.pop(name, None)
                    else:
                        annotations[name] = value
        if found is None:
            self._not_found()
        else:
            self._send(200, found)
