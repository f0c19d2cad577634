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
