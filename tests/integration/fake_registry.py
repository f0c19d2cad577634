"""A small in-memory OCI registry for tests: referrers API, pagination, basic or bearer auth.

The Debian registry (distribution 2.8) has no referrers API and ignores tag pagination; this
fake has both, so the OCI 1.1 code paths and the bearer-token flow run against something.
It is deliberately simple (one process, dicts under a lock) and strict where clients can go
wrong: digests are checked on upload, manifests must be JSON with a known media type, and
the ``Accept`` header must allow what is stored (as distribution does).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .loopback import LoopbackServer

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_ROUTE = re.compile(
    r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags|referrers)(?:/(?P<rest>.*))?$"
)


@dataclass
class FakeState:
    """Everything the fake stores; tests may inspect it."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    subjects: dict[str, dict[str, str]] = field(default_factory=dict)  # repo → {digest: subject}
    uploads: dict[str, bytearray] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeRegistry(LoopbackServer):
    """Start with ``FakeRegistry(auth=None|"basic"|"bearer", referrers=True).start()``."""

    def __init__(
        self,
        *,
        auth: str | None = None,
        username: str = "tester",
        password: str = "s3cret",
        referrers: bool = True,
        page_size: int | None = None,
    ) -> None:
        self.auth = auth
        self.username = username
        self.password = password
        self.referrers_api = referrers
        self.page_size = page_size
        self.state = FakeState()
        self.tokens: dict[str, str] = {}  # token → scope
        self.token_requests = 0

    def start(self) -> FakeRegistry:
        fake = self

        class Handler(_Handler):
            registry = fake

        self._serve(Handler)
        return self


class _Handler(BaseHTTPRequestHandler):
    registry: FakeRegistry
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # A HEAD answer never carries a body (an error's JSON included): a client that keeps the
        # connection alive would read it as the start of the next response.
        if not head and body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str = "") -> None:
        body = json.dumps({"errors": [{"code": code, "message": message or code}]}).encode()
        self._send(status, body, {"Content-Type": "application/json"})

    def _authorised(self, name: str | None, push: bool) -> bool:
        fake = self.registry
        header = self.headers.get("Authorization", "")
        if fake.auth is None:
            return True
        if fake.auth == "basic":
            expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
            if header == f"Basic {expected}":
                return True
            self._send(401, b"{}", {"WWW-Authenticate": 'Basic realm="fake"'})
            return False
        scope = fake.tokens.get(header.removeprefix("Bearer ")) if header else None
        needed = f"repository:{name}:{'pull,push' if push else 'pull'}" if name else None
        if scope is not None and (needed is None or _covers(scope, name or "", push)):
            return True
        challenge = f'Bearer realm="http://{fake.host}/token",service="fake"'
        if needed:
            challenge += f',scope="{needed}"'
        self._send(401, b"{}", {"WWW-Authenticate": challenge})
        return False

    def _token(self) -> None:
        fake = self.registry
        fake.token_requests += 1
        query = parse_qs(urlsplit(self.path).query)
        expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._send(401, b"{}")
            return
        token = secrets.token_hex(16)
        fake.tokens[token] = " ".join(query.get("scope", []))
        self._send(200, json.dumps({"token": token, "expires_in": 300}).encode())

    def _dispatch(self, method: str) -> None:
        fake = self.registry
        path = urlsplit(self.path).path
        with fake.state.lock:
            fake.state.requests.append((method, path, self.headers.get("Authorization")))
        if path == "/token":
            self._token()
            return
        body = self._body() if method in ("PUT", "POST", "PATCH") else b""
        if path == "/v2/":
            if self._authorised(None, False):
                self._send(200, b"{}", {"Content-Type": "application/json"})
            return
        match = _ROUTE.match(path)
        if not match:
            self._send(404, b"404 page not found")
            return
        name, kind, rest = match["name"], match["kind"], match["rest"] or ""
        if not self._authorised(name, method in ("PUT", "POST", "PATCH", "DELETE")):
            return
        handler = getattr(self, f"_{kind}")
        handler(method, name, rest, body)

    do_GET = lambda self: self._dispatch("GET")  # noqa: E731
    do_HEAD = lambda self: self._dispatch("HEAD")  # noqa: E731
    do_PUT = lambda self: self._dispatch("PUT")  # noqa: E731
    do_POST = lambda self: self._dispatch("POST")  # noqa: E731
    do_PATCH = lambda self: self._dispatch("PATCH")  # noqa: E731
    do_DELETE = lambda self: self._dispatch("DELETE")  # noqa: E731

    # -- endpoints --------------------------------------------------------------------------

    def _blobs(self, method: str, name: str, rest: str, body: bytes) -> None:
        state = self.registry.state
        query = parse_qs(urlsplit(self.path).query)
        if rest.startswith("uploads"):
            upload_id = rest[len("uploads/") :] if rest.startswith("uploads/") else ""
            if method == "POST" and not upload_id:
                mount = query.get("mount", [None])[0]
                if mount and mount in state.blobs:
                    self._send(201, b"", {"Location": f"/v2/{name}/blobs/{mount}"})
                    return
                new = str(uuid.uuid4())
                state.uploads[new] = bytearray()
                self._send(
                    202, b"", {"Location": f"/v2/{name}/blobs/uploads/{new}", "Range": "0-0"}
                )
                return
            if upload_id not in state.uploads:
                self._error(404, "BLOB_UPLOAD_UNKNOWN")
                return
            buffer = state.uploads[upload_id]
            if method == "PATCH":
                buffer += body
                self._send(
                    202,
                    b"",
                    {
                        "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
                        "Range": f"0-{max(len(buffer) - 1, 0)}",
                    },
                )
                return
            if method == "PUT":
                buffer += body
                digest = query.get("digest", [""])[0]
                if "sha256:" + hashlib.sha256(buffer).hexdigest() != digest:
                    self._error(400, "DIGEST_INVALID")
                    return
                state.blobs[digest] = bytes(buffer)
                del state.uploads[upload_id]
                self._send(
                    201,
                    b"",
                    {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest},
                )
                return
            self._error(405, "UNSUPPORTED")
            return
        data = state.blobs.get(rest)
        if data is None:
            self._error(404, "BLOB_UNKNOWN")
            return
        headers = {"Docker-Content-Digest": rest, "Content-Type": "application/octet-stream"}
        if method == "HEAD":
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return
        self._send(200, data, headers)

    def _manifests(self, method: str, name: str, rest: str, body: bytes) -> None:
        state = self.registry.state
        tags = state.tags.setdefault(name, {})
        digest = rest if rest.startswith("sha256:") else tags.get(rest)
        if method == "PUT":
            try:
                document = json.loads(body)
            except ValueError:
                self._error(400, "MANIFEST_INVALID")
                return
            media_type = (self.headers.get("Content-Type") or "").split(";")[0]
            computed = "sha256:" + hashlib.sha256(body).hexdigest()
            if rest.startswith("sha256:") and rest != computed:
                self._error(400, "DIGEST_INVALID")
                return
            state.manifests[computed] = (body, media_type)
            if not rest.startswith("sha256:"):
                tags[rest] = computed
            headers = {
                "Docker-Content-Digest": computed,
                "Location": f"/v2/{name}/manifests/{computed}",
            }
            subject = document.get("subject") if isinstance(document, dict) else None
            if isinstance(subject, dict) and self.registry.referrers_api:
                state.subjects.setdefault(name, {})[computed] = str(subject.get("digest"))
                headers["OCI-Subject"] = str(subject.get("digest"))
            self._send(201, b"", headers)
            return
        if digest is None or digest not in state.manifests:
            self._error(404, "MANIFEST_UNKNOWN")
            return
        if method == "DELETE":
            del state.manifests[digest]
            for tag, target in list(tags.items()):
                if target == digest:
                    del tags[tag]
            self._send(202)
            return
        data, media_type = state.manifests[digest]
        accept = self.headers.get("Accept", "")
        if media_type not in accept:
            self._error(404, "MANIFEST_UNKNOWN", "accept header does not allow the stored type")
            return
        headers = {
            "Docker-Content-Digest": digest,
            "Content-Type": media_type,
            "ETag": f'"{digest}"',
        }
        if method == "HEAD":
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return
        self._send(200, data, headers)

    def _tags(self, method: str, name: str, rest: str, body: bytes) -> None:
        state = self.registry.state
        if name not in state.tags:
            self._error(404, "NAME_UNKNOWN")
            return
        query = parse_qs(urlsplit(self.path).query)
        names = sorted(state.tags[name])
        last = query.get("last", [None])[0]
        if last:
            names = [n for n in names if n > last]
        size = self.registry.page_size or int(query.get("n", ["1000"])[0])
        page, more = names[:size], len(names) > size
        headers = {"Content-Type": "application/json"}
        if more:
            headers["Link"] = f'</v2/{name}/tags/list?n={size}&last={page[-1]}>; rel="next"'
        self._send(200, json.dumps({"name": name, "tags": page}).encode(), headers)

    def _referrers(self, method: str, name: str, rest: str, body: bytes) -> None:
        state = self.registry.state
        if not self.registry.referrers_api:
            self._send(404, b"404 page not found", {"Content-Type": "text/plain"})
            return
        query = parse_qs(urlsplit(self.path).query)
        wanted = query.get("artifactType", [None])[0]
        manifests = []
        for digest, subject in sorted(state.subjects.get(name, {}).items()):
            if subject != rest or digest not in state.manifests:
                continue
            data, media_type = state.manifests[digest]
            document = json.loads(data)
            artifact_type = document.get("artifactType") or document.get("config", {}).get(
                "mediaType"
            )
            if wanted and artifact_type != wanted:
                continue
            entry: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": len(data)}
            if artifact_type:
                entry["artifactType"] = artifact_type
            if document.get("annotations"):
                entry["annotations"] = document["annotations"]
            manifests.append(entry)
        headers = {"Content-Type": OCI_INDEX}
        if wanted:
            headers["OCI-Filters-Applied"] = "artifactType"
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        self._send(200, json.dumps(index).encode(), headers)


def _covers(scope: str, name: str, push: bool) -> bool:
    for part in scope.split():
        _, _, rest = part.partition(":")
        repo, _, actions = rest.rpartition(":")
        if repo == name and ("push" in actions.split(",") or not push):
            return True
    return False
