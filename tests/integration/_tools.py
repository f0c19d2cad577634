"""The real third-party tools the tests run: cosign (2.5 and 3.1), crane and an OPA server.

They are fetched from Debian by ``scripts/fetch-tools`` (cosign, crane) and built by
``scripts/build-opa`` (OPA) into ``<repo>/.tools/bin``; tests find them through
``$KONFLUX_SUPPLY_TOOLS`` (a ``bin`` folder), else that default. A missing tool fails the test
with the command to run; it does not skip.

Fixtures (re-exported by ``tests/integration/conftest.py`` and ``tests/interop/conftest.py``):

* ``cosign_binaries`` — ``{"2.5": Path, "3.1": Path}``.
* ``crane_binary`` — ``Path``.
* ``opa_binary`` — :class:`OpaBinary`: ``path``; ``start_server(dir)`` → a running
  :class:`OpaServer` (``url``, ``port``, ``stop()``; also a context manager).
* ``opa_server`` — one :class:`OpaServer` for the session (``url``, ``port``); stopped at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
COSIGN_VERSIONS = ("2.5", "3.1")
FETCH_HINT = "run scripts/fetch-tools (or `make tools`)"
OPA_HINT = "run scripts/build-opa (or `make tools`)"


def tools_bin() -> Path:
    """``$KONFLUX_SUPPLY_TOOLS``, else ``$KONFLUX_SUPPLY_TOOLS_DIR/bin``, else the repo's."""
    configured = os.environ.get("KONFLUX_SUPPLY_TOOLS")
    if configured:
        return Path(configured)
    tools_dir = os.environ.get("KONFLUX_SUPPLY_TOOLS_DIR")
    return Path(tools_dir) / "bin" if tools_dir else REPO_ROOT / ".tools" / "bin"


def require_tool(name: str, hint: str) -> Path:
    """The path of a fetched tool, or fail the test naming the command that provides it."""
    path = tools_bin() / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{name} not found in {tools_bin()}; {hint}", pytrace=False)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OpaServer:
    """A running ``opa run --server`` on loopback."""

    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> OpaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class OpaBinary:
    """The OPA executable built by ``scripts/build-opa``."""

    path: Path

    def start_server(self, workdir: Path, *extra_args: str) -> OpaServer:
        """``opa run --server --addr 127.0.0.1:PORT`` on a free port, once ``/health`` answers."""
        workdir.mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(5):
            port = _free_port()
            log = workdir / f"opa-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(self.path), "run", "--server", "--addr", f"127.0.0.1:{port}", *extra_args],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                )
            server = OpaServer(port, process, log)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    with urllib.request.urlopen(f"{server.url}/health", timeout=1) as answer:
                        if answer.status == 200:
                            return server
                except (OSError, urllib.error.URLError):
                    time.sleep(0.05)
            server.stop()
            last = log.read_text(errors="replace")[-2000:]
        pytest.fail(f"opa server did not start: {last}", pytrace=False)


@pytest.fixture(scope="session")
def cosign_binaries() -> dict[str, Path]:
    """The real cosign, by version: ``{"2.5": …, "3.1": …}``."""
    return {version: require_tool(f"cosign-{version}", FETCH_HINT) for version in COSIGN_VERSIONS}


@pytest.fixture(scope="session")
def crane_binary() -> Path:
    """The real crane (go-containerregistry)."""
    return require_tool("crane", FETCH_HINT)


@pytest.fixture(scope="session")
def opa_binary() -> OpaBinary:
    """The OPA executable; ``opa_binary.start_server(dir)`` starts a server on a free port."""
    return OpaBinary(require_tool("opa", OPA_HINT))


@pytest.fixture(scope="session")
def opa_server(
    opa_binary: OpaBinary, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpaServer]:
    """One OPA server on loopback for the session (policies pushed by tests stay until the end)."""
    server = opa_binary.start_server(tmp_path_factory.mktemp("opa"))
    try:
        yield server
    finally:
        server.stop()
