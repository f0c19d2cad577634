"""Fixtures of the release gate's end-to-end tests: a real OPA server (``scripts/build-opa``).

The binary is looked up in ``$KONFLUX_SUPPLY_TOOLS`` (default ``<repo>/.tools/bin``). Missing,
the tests fail in CI (``CI=true``) with the command to run, and skip locally with one line.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO_ROOT
from tests.integration.conftest import free_port


@pytest.fixture(scope="module")
def opa_server() -> Iterator[str]:
    tools = Path(os.environ.get("KONFLUX_SUPPLY_TOOLS") or REPO_ROOT / ".tools" / "bin")
    binary = tools / "opa"
    if not binary.is_file():
        message = f"no OPA server binary at {binary}: run scripts/build-opa"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("the OPA server did not start", pytrace=False)
        yield url
    finally:
        process.kill()
        process.wait()
