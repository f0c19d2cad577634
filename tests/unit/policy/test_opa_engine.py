"""The remote OPA engine against an in-memory fake of OPA's REST API (the real OPA server is
exercised in tests/integration/test_opa_server.py)."""

from __future__ import annotations

from typing import Any

import pytest

from konflux_supply.errors import InputError, PolicyError
from konflux_supply.policy import Module, OpaEngine, RegorusEngine, _opa
from tests.unit.policy._fake_opa import FakeOpa

POLICY = Module(
    "release/values.rego",
    """package release.values

import rego.v1

deny contains sprintf("value %v over %v", [v, data.rule_data.limit]) if {
\tsome v in input.values
\tv > data.rule_data.limit
}

warn_small contains "small" if count(input.values) < 2
""",
)
DATA = {"rule_data": {"limit": 3}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeOpa:
    server = FakeOpa()
    original = _opa._client

    def client(url: str, timeout: float, token: str | None) -> Any:
        made = original(url, timeout, token)
        made._session.mount("http://", server)
        return made

    monkeypatch.setattr(_opa, "_client", client)
    return server


def test_same_verdicts_as_the_embedded_engine(fake: FakeOpa) -> None:
    inputs: list[dict[str, Any]] = [{"values": [1]}, {"values": [1, 5, 9]}, {"values": []}]
    with (
        OpaEngine([POLICY], DATA, url="http://opa.test:8181") as remote,
        RegorusEngine([POLICY], DATA, workers=0) as local,
    ):
        assert remote.packages == local.packages == ("release.values",)
        for document in inputs:
            assert remote.evaluate(document) == local.evaluate(document)
        assert remote.query("data.rule_data.limit") == 3
    assert ("PUT", "/data") in fake.requests
    assert fake.policies == {}  # removed on close


def test_policies_that_call_ec_builtins_are_refused_up_front(fake: FakeOpa) -> None:
    module = Module("e.rego", "package e\n\nx := ec.oci.blob(input.ref)\n")
    with pytest.raises(InputError, match="embedded engine") as caught:
        OpaEngine([module], url="http://opa.test:8181")
    assert caught.value.source == "e.rego:3"
    assert fake.requests == []


def test_refusals_are_the_same_as_embedded(fake: FakeOpa) -> None:
    with pytest.raises(InputError, match=r"http\.send"):
        OpaEngine([Module("h.rego", "package h\n\nx := http.send({})\n")], url="http://o:1")


def test_a_server_compile_error_names_file_and_line(
    fake: FakeOpa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_opa, "analyse", lambda modules, builtins: [])
    with pytest.raises(InputError, match="OPA refused the policy") as caught:
        OpaEngine([Module("bad.rego", "package bad\n\nx := \n")], url="http://opa.test:8181")
    assert caught.value.source == "bad.rego:4"


def test_an_unreachable_server_is_a_policy_error(fake: FakeOpa) -> None:
    fake.down = True
    with pytest.raises(PolicyError, match="pushing policies failed"):
        OpaEngine([POLICY], DATA, url="http://opa.test:8181")


def test_a_server_going_down_mid_run_is_a_policy_error_never_a_pass(fake: FakeOpa) -> None:
    with OpaEngine([POLICY], DATA, url="http://opa.test:8181") as remote:
        fake.down = True
        with pytest.raises(PolicyError, match="query failed"):
            remote.evaluate({"values": [9]})


def test_a_bad_url_is_an_input_error() -> None:
    with pytest.raises(InputError, match="http"):
        OpaEngine([POLICY], url="ftp://nowhere")
