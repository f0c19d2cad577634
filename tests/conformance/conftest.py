"""Conformance fixtures: the integration services (local registry, loopback git server) made
available here, and the ``validate image`` acceptance world.

The service fixtures live in ``tests/integration/conftest.py``; they are re-exported (not
redefined) so a conformance test gets the same real services an integration test does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance._validate_image import (
    FEATURE_PATH,
    SNAPSHOT_PATH,
    Acceptance,
    load_snapshots,
)
from tests.integration.conftest import (  # noqa: F401 - session fixtures re-exported
    RegistryService,
    referrers_registry,
    registry,
    tls_git_server,
)
from tests.integration.git_server import GitServer


@pytest.fixture(scope="session")
def validate_image_snapshots(peers: Path) -> dict[str, str]:
    """Conforma's ``validate_image.snap`` entries; skip (one line) when the corpus lacks it."""
    path = peers.joinpath(*SNAPSHOT_PATH)
    if not path.is_file() or not peers.joinpath(*FEATURE_PATH).is_file():
        pytest.skip(f"Conforma's validate_image feature/snapshot not in the peer corpus ({path})")
    return load_snapshots(path)


@pytest.fixture
def world(
    registry: RegistryService,  # noqa: F811 - the re-exported session fixture
    tls_git_server: GitServer,  # noqa: F811
    tmp_path: Path,
) -> Acceptance:
    """A fresh scenario world: its own registry namespace and git repository prefix."""
    return Acceptance(registry.host, tls_git_server, tmp_path)


@pytest.fixture
def referrers_world(
    referrers_registry: RegistryService,  # noqa: F811
    tls_git_server: GitServer,  # noqa: F811
    tmp_path: Path,
) -> Acceptance:
    """A scenario world on the registry with the OCI 1.1 referrers API."""
    return Acceptance(referrers_registry.host, tls_git_server, tmp_path)
