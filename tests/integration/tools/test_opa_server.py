"""The OPA server built by scripts/build-opa answers policy queries over its REST API."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.integration._tools import FETCH_HINT, OPA_HINT, OpaBinary, OpaServer, require_tool

pytestmark = pytest.mark.integration


def _call(url: str, method: str, body: bytes, content_type: str) -> object:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"{}")


def test_pushed_policy_is_evaluated(opa_server: OpaServer) -> None:
    policy = b"package konflux.fixture\n\nallow if input.level >= 2\n"
    _call(f"{opa_server.url}/v1/policies/fixture", "PUT", policy, "text/plain")
    query = f"{opa_server.url}/v1/data/konflux/fixture/allow"
    yes = _call(query, "POST", json.dumps({"input": {"level": 3}}).encode(), "application/json")
    no = _call(query, "POST", json.dumps({"input": {"level": 1}}).encode(), "application/json")
    assert yes == {"result": True}
    assert no == {}


def test_a_second_server_starts_on_its_own_port_and_stops(
    opa_binary: OpaBinary, opa_server: OpaServer, tmp_path: Path
) -> None:
    with opa_binary.start_server(tmp_path) as other:
        assert other.port != opa_server.port
        version = _call(f"{other.url}/health", "GET", b"", "text/plain")
        assert version == {}
    assert other.process.poll() is not None


def test_missing_tool_names_the_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KONFLUX_SUPPLY_TOOLS", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=r"run scripts/build-opa"):
        require_tool("opa", OPA_HINT)
    with pytest.raises(pytest.fail.Exception, match=r"run scripts/fetch-tools"):
        require_tool("cosign-3.1", FETCH_HINT)
