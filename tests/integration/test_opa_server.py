"""The remote OPA engine against a real OPA server (built by ``scripts/build-opa``).

The binary is looked up in ``$KONFLUX_SUPPLY_TOOLS`` (default ``<repo>/.tools/bin``). Missing,
the tests fail in CI (``CI=true``) with the command to run, and skip locally with one line.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from konflux_supply.errors import InputError
from konflux_supply.policy import Module, OpaEngine, RegorusEngine
from tests.conftest import REPO_ROOT
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration


def _opa_binary() -> Path:
    tools = Path(os.environ.get("KONFLUX_SUPPLY_TOOLS") or REPO_ROOT / ".tools" / "bin")
    binary = tools / "opa"
    if not binary.is_file():
        message = f"no OPA server binary at {binary}: run scripts/build-opa"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def opa_url() -> Iterator[str]:
    binary = _opa_binary()
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


LIB = Module(
    "lib/lib.rego",
    "package lib\n\nimport rego.v1\n\nover(v) if v > data.rule_data.limit\n",
)
POLICY = Module(
    "release/values.rego",
    """package release.values

import data.lib
import rego.v1

deny contains {"code": "values.over", "msg": sprintf("value %v is over", [v])} if {
\tsome v in input.values
\tlib.over(v)
}

violation_empty contains "no values" if count(input.values) == 0

warn contains "few values" if count(input.values) < 2
""",
)
DATA = {"rule_data": {"limit": 3}}


def test_the_same_verdicts_as_the_embedded_engine(opa_url: str) -> None:
    inputs: list[dict[str, Any]] = [{"values": [1, 2]}, {"values": [5, 1, 9]}, {"values": []}]
    # POLICY before LIB: the push must survive a module that uses a later one's functions
    with (
        OpaEngine([POLICY, LIB], DATA, url=opa_url) as remote,
        RegorusEngine([POLICY, LIB], DATA, workers=0) as local,
    ):
        for document in inputs:
            assert remote.evaluate(document) == local.evaluate(document)


def test_a_compile_error_on_the_server_names_file_and_line(opa_url: str) -> None:
    module = Module("bad.rego", "package bad\n\nimport rego.v1\n\nx := no_such_function(1)\n")
    with pytest.raises(InputError, match="OPA refused the policy") as caught:
        OpaEngine([module], url=opa_url)
    assert caught.value.source == "bad.rego:5"
