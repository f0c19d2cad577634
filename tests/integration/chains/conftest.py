"""Fixtures of the chains integration tests: a fresh fake Rekor log per test, on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from konflux_supply.oci import RetryPolicy
from konflux_supply.publish import RekorClient
from tests.integration.fake_rekor import FakeRekor

#: Fast retries: the log fails on purpose, no need to wait.
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02, timeout=10)


@pytest.fixture
def rekor() -> Iterator[FakeRekor]:
    """A running fake Rekor (``url``, ``public_pem``, ``mode``, ``posts``, ``entries``)."""
    log = FakeRekor()
    server = log.start()
    try:
        yield log
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rekor_client(rekor: FakeRekor) -> Iterator[RekorClient]:
    """A client of ``rekor`` with its key pinned and fast retries."""
    client = RekorClient(rekor.url, public_key=rekor.public_pem, retry=FAST)
    try:
        yield client
    finally:
        client.close()
