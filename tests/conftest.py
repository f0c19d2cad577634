"""Shared test fixtures: repository paths and the peer conformance corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "fixtures"


def peers_root() -> Path:
    """The peer corpus: $KONFLUX_SUPPLY_PEERS, else ../shared/peers beside the checkout."""
    configured = os.environ.get("KONFLUX_SUPPLY_PEERS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "peers"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def peers() -> Path:
    """Root of the peer corpus; tests using it skip (one line) when it is absent."""
    root = peers_root()
    if not root.is_dir():
        pytest.skip(f"peer corpus not found at {root} (set KONFLUX_SUPPLY_PEERS)")
    return root


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment the image commands read, isolated: key password ``pw``, append locks in
    ``tmp_path``, no ``COSIGN_REPOSITORY``, no docker credentials of the machine's user."""
    monkeypatch.setenv("COSIGN_PASSWORD", "pw")
    monkeypatch.setenv("KONFLUX_SUPPLY_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.delenv("COSIGN_REPOSITORY", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
