"""A real git smart-HTTP server on loopback: ``git http-backend`` behind a small CGI bridge.

``GitServer.create_repo(name, {path: text})`` makes a bare repository ``<name>.git`` with one
commit on ``main`` (more with :meth:`GitRepo.commit`, tags with :meth:`GitRepo.tag`); its
URL is ``http://127.0.0.1:PORT/<name>.git`` (``https://`` when started with ``tls``).
``requests`` counts the HTTP requests served (per repository in ``requests_for``), so a test
can show a cached fetch asked nothing.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from tests.integration.loopback import LoopbackServer, QuietServer

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.test",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    env = {**os.environ, **_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd or Path.cwd())}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, check=check, text=True
    )
    return done.stdout.strip()


class GitRepo:
    """A bare repository served by :class:`GitServer`, with a work tree to commit from."""

    def __init__(self, server: GitServer, name: str) -> None:
        self.server = server
        self.name = name
        self.bare = server.root / f"{name}.git"
        self.work = server.root / "_work" / name

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:PORT/<name>.git``."""
        return f"{self.server.scheme}://{self.server.host}/{self.name}.git"

    def commit(self, files: dict[str, str], *, branch: str = "main", message: str = "c") -> str:
        """Write ``files`` (path → text; ``""`` text deletes), commit, push; the commit id."""
        if not _git("rev-parse", "--verify", "-q", "HEAD", cwd=self.work, check=False):
            _git("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=self.work)
        elif _git("branch", "--list", branch, cwd=self.work):
            _git("checkout", "-q", branch, cwd=self.work)
        else:
            _git("checkout", "-q", "-b", branch, cwd=self.work)
        for rel, text in files.items():
            target = self.work / rel
            if text == "" and target.exists():
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        _git("add", "-A", ".", cwd=self.work)
        _git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        _git("push", "-q", "--force", str(self.bare), f"HEAD:refs/heads/{branch}", cwd=self.work)
        return _git("rev-parse", "HEAD", cwd=self.work)

    def tag(self, name: str, commit: str, *, annotated: bool = False) -> None:
        """Tag ``commit`` (annotated tags point at a tag object, peeled by ``ls-remote``)."""
        args = ["tag", "-f"] + (["-a", "-m", name] if annotated else []) + [name, commit]
        _git(*args, cwd=self.work)
        _git("push", "-q", "--force", str(self.bare), f"refs/tags/{name}", cwd=self.work)


class GitServer(LoopbackServer):
    """``git http-backend`` (smart HTTP, protocol v2) for repositories under ``root``."""

    def __init__(self, root: Path, *, tls: tuple[Path, Path] | None = None) -> None:
        self.root = root
        self.tls = tls
        self.ca_file: Path | None = None
        self.requests = 0
        self.requests_for: Counter[str] = Counter()
        self._lock = threading.Lock()
        backend = Path(_git("--exec-path")) / "git-http-backend"
        if not backend.exists():
            raise RuntimeError(f"git-http-backend not found at {backend}")
        self.backend = backend

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def start(self) -> GitServer:
        if self.tls is None:
            self._serve(self._handler())
            return self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
        self._server = QuietServer(("127.0.0.1", 0), self._handler())
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def create_repo(self, name: str, files: dict[str, str]) -> GitRepo:
        """A new repository ``name`` whose ``main`` holds ``files`` (one commit)."""
        repo = GitRepo(self, name)
        if repo.bare.exists():
            raise ValueError(f"repository {name} exists already")
        _git("init", "-q", "--bare", "-b", "main", str(repo.bare))
        repo.work.mkdir(parents=True)
        _git("init", "-q", "-b", "main", cwd=repo.work)
        repo.commit(files, message="initial")
        return repo

    def remove(self, repo: GitRepo) -> None:
        shutil.rmtree(repo.bare, ignore_errors=True)

    def _count(self, path: str) -> None:
        name = path.lstrip("/").split(".git", 1)[0]
        with self._lock:
            self.requests += 1
            self.requests_for[name] += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._cgi(b"")

            def do_POST(self) -> None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                    self._cgi(bytes(body))
                else:
                    self._cgi(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _cgi(self, body: bytes) -> None:
                parts = urlsplit(self.path)
                server._count(parts.path)
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "GIT_PROJECT_ROOT": str(server.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": parts.path,
                    "QUERY_STRING": parts.query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_ADDR": "127.0.0.1",
                    "GIT_CONFIG_NOSYSTEM": "1",
                    "HOME": str(server.root),
                }
                if self.headers.get("Git-Protocol"):
                    env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
                if self.headers.get("Content-Encoding"):
                    env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
                done = subprocess.run(
                    [str(server.backend)], input=body, env=env, capture_output=True, check=False
                )
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                if not _:
                    head, _, payload = done.stdout.partition(b"\n\n")
                status = 200
                headers: list[tuple[str, str]] = []
                for line in head.decode("latin-1").splitlines():
                    key, _, value = line.partition(":")
                    if key.lower() == "status":
                        status = int(value.strip().split()[0])
                    elif key:
                        headers.append((key.strip(), value.strip()))
                if done.returncode != 0 and not head:
                    status, payload = 500, done.stderr
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
