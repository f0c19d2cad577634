"""A registry that accepts connections and never answers (issue 10, item 7).

``verify`` must give up within ``--timeout`` (not 5 attempts of 60 s), say on stderr which
request it is retrying, and end with exit 3 ("no verdict"), never 1.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from konflux_supply import signing
from konflux_supply.cli import main


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """A TCP port whose kernel completes the handshake; nobody ever reads or answers."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_verify_gives_up_at_the_timeout_and_says_what_it_retries(
    silent_registry: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cli_environment: None,
) -> None:
    signing.write_key_pair(signing.generate_key_pair(b"pw"), tmp_path / "k")
    image = f"{silent_registry}/team/app@sha256:{'1' * 64}"
    code = main(
        ["verify", "--key", str(tmp_path / "k.pub"), "--allow-http-registry", "--timeout", "3s",
         image]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3, err
    lines = err.splitlines()
    assert any("retrying (attempt 2 of 5)" in line and silent_registry in line for line in lines)
    assert "timed out" in lines[-2] or "timed out" in lines[-1]
    assert "--timeout" in err
