"""The remote OPA engine against a real OPA server (built by ``scripts/build-opa``).

The server is the session's ``opa_server`` fixture (``tests/integration/_tools.py``); a missing
binary fails the test with the command to run.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from konflux_supply.errors import InputError
from konflux_supply.policy import Module, OpaEngine, RegorusEngine
from tests.integration._tools import OpaServer

pytestmark = pytest.mark.integration


@pytest.fixture
def opa_url(opa_server: OpaServer) -> str:
    """The session's OPA server (``tests/integration/_tools.py``), as a URL."""
    return opa_server.url


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


def test_a_failed_load_leaves_none_of_its_modules_on_the_server(opa_url: str) -> None:
    good = Module("good.rego", "package good\n\nimport rego.v1\n\nx := 1\n")
    bad = Module("bad.rego", "package bad\n\nimport rego.v1\n\nx := no_such_function(1)\n")
    with pytest.raises(InputError):
        OpaEngine([good, bad], url=opa_url)
    listed = requests.get(f"{opa_url}/v1/policies", timeout=10).json()["result"]
    assert [p["id"] for p in listed if "good.rego" in p["id"]] == []
