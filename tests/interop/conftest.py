"""The real cosign (2.5 from Debian trixie, 3.1 from sid) and crane judge what we write and read.

Fixtures:

* ``cosign`` — a :class:`Cosign` runner, parametrized over both versions (ids ``cosign-2.5``,
  ``cosign-3.1``); ``cosign_binaries``/``crane_binary`` come from ``tests/integration/_tools.py``.
* ``crane`` — a :class:`Crane` runner.
* ``ours`` — our CLI in process: ``ours("verify", …)`` → :class:`Result`.
* ``new_image(registry, name)`` — a fresh image pushed by crane (a third party), pinned by digest.
* ``registry`` (distribution 2.8: tags and the referrers fallback tag) and ``referrers_registry``
  (the OCI 1.1 referrers API), from ``tests/integration/conftest.py``.

cosign runs offline and without ``COSIGN_EXPERIMENTAL``: its own ``$HOME``, no TUF, no
transparency log (``--tlog-upload=false``, ``--insecure-ignore-tlog``), and every proxy variable
pointing at a closed loopback port so that any attempt to reach the internet fails at once
(loopback registries are exempt through ``NO_PROXY``).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from konflux_supply.cli import main
from tests.integration._tools import (  # noqa: F401  (fixtures re-exported)
    COSIGN_VERSIONS,
    cosign_binaries,
    crane_binary,
)
from tests.integration.conftest import (  # noqa: F401  (fixtures re-exported)
    RegistryService,
    referrers_registry,
    registry,
)
from tests.interop._helpers import PASSWORD, Cosign, Crane, Result, offline_environment


@pytest.fixture(scope="session")
def tools_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cosign-home")


@pytest.fixture(params=COSIGN_VERSIONS, ids=[f"cosign-{v}" for v in COSIGN_VERSIONS])
def cosign(
    request: pytest.FixtureRequest,
    cosign_binaries: dict[str, Path],  # noqa: F811
    tools_home: Path,
    tmp_path: Path,
) -> Cosign:
    version = str(request.param)
    return Cosign(
        version, cosign_binaries[version], offline_environment(tools_home / version), tmp_path
    )


@pytest.fixture(scope="session")
def cosigns(cosign_binaries: dict[str, Path], tools_home: Path) -> dict[str, Cosign]:  # noqa: F811
    """Both versions at once (for tests that compare them)."""
    return {
        version: Cosign(version, path, offline_environment(tools_home / version), tools_home)
        for version, path in cosign_binaries.items()
    }


@pytest.fixture(scope="session")
def crane(crane_binary: Path, tools_home: Path) -> Crane:  # noqa: F811
    return Crane(crane_binary, offline_environment(tools_home / "crane"))


@pytest.fixture
def new_image(crane: Crane, tmp_path: Path) -> Callable[[RegistryService, str], str]:
    """Push a one-layer image with crane; returns ``host/repo@sha256:…``.

    The layer holds the image's name, so every image (and every attachment made for it) is
    unique across repositories.
    """

    def push(service: RegistryService, name: str) -> str:
        layer = tmp_path / f"{name}.tar"
        with tarfile.open(layer, "w") as tar:
            data = f"{name}\n".encode()
            info = tarfile.TarInfo("name.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tagged = service.ref(f"interop/{name}:v1")
        crane.run("append", "-f", str(layer), "-t", tagged)
        digest = crane.text("digest", tagged).strip()
        return service.ref(f"interop/{name}@{digest}")

    return push


@pytest.fixture
def ours(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Result]:
    """Our CLI, in process, with the key password of the suite."""
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    monkeypatch.setenv("KONFLUX_SUPPLY_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.delenv("COSIGN_REPOSITORY", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    capsys.readouterr()

    def run(*args: str) -> Result:
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
