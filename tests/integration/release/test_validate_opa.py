"""``--opa-url``: a real OPA server gives the same verdicts as the embedded engine, for policies
without ``ec.*`` builtins (our policies/ library has none)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import oci
from tests.integration._tools import OpaServer
from tests.integration.conftest import RegistryService
from tests.integration.release._helpers import minimal_policy, new_signer, publish_image
from tests.unit.release._helpers import run_cli

pytestmark = pytest.mark.integration

WHEN = ("--effective-time", "2026-06-01T00:00:00Z", "--allow-past-effective-time")

TERMS = """package terms

import rego.v1

# METADATA
# title: Terms
# custom:
#   short_name: termed
#   collections: [A]
deny contains {"code": "terms.termed", "msg": sprintf("bad %s", [t]), "term": t} if {
\tsome t in input.bad
}

# METADATA
# title: Soon
# custom:
#   short_name: soon
deny contains result if {
	result := {"code": "terms.soon", "msg": "fails in 2099", "effective_on": "2099-01-01T00:00:00Z"}
}

warn contains {"code": "terms.noted", "msg": "noted"} if input.note
"""


@pytest.fixture(scope="module")
def images(registry: RegistryService) -> tuple[list[str], str]:
    signer = new_signer()
    reg, _ = oci.open_registry(registry.ref("opa/x:v1"), options=registry.options)
    try:
        refs = [
            publish_image(reg, registry.host, "opa/good", signer=signer),
            publish_image(reg, registry.host, "opa/unsigned", signer=signer, sign=False),
        ]
    finally:
        reg.close()
    return refs, signer.public_key_pem().decode()


def _image_report(policy: dict[str, Any], images: list[str], *extra: str) -> tuple[int, Any]:
    snapshot = {
        "components": [{"name": f"c{i}", "containerImage": r} for i, r in enumerate(images)]
    }
    code, out, err = run_cli(
        "validate", "image", "--policy", json.dumps(policy), "--images", json.dumps(snapshot),
        "--allow-http-registry", "--output", "json", "--show-successes", *WHEN, *extra,
    )  # fmt: skip
    assert out, err
    return code, json.loads(out)


def test_validate_image_same_verdicts_on_opa(
    images: tuple[list[str], str], opa_server: OpaServer
) -> None:
    refs, pem = images
    policy = minimal_policy(pem)
    embedded = _image_report(policy, refs)
    remote = _image_report(policy, refs, "--opa-url", opa_server.url)
    assert embedded[0] == remote[0] == 1
    assert embedded[1]["components"] == remote[1]["components"]
    good = next(c for c in remote[1]["components"] if c["containerImage"] == refs[0])
    assert good["success"] is True
    assert len(good["successes"]) > 3


def test_validate_input_same_verdicts_on_opa(tmp_path: Path, opa_server: OpaServer) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "terms.rego").write_text(TERMS)
    policy = json.dumps(
        {"sources": [{"policy": [str(tmp_path / "p")], "config": {"exclude": ["terms.termed:b"]}}]}
    )
    document = tmp_path / "input.json"
    document.write_text(json.dumps({"bad": ["a", "b", "c"], "note": True}))
    args = ["validate", "input", "-f", str(document), "-p", policy, "-o", "json", "--info", *WHEN]
    code, out, _ = run_cli(*args)
    remote_code, remote_out, _ = run_cli(*args, "--opa-url", opa_server.url)
    assert code == remote_code == 1
    local, remote = json.loads(out), json.loads(remote_out)
    assert local["filepaths"] == remote["filepaths"]
    (entry,) = local["filepaths"]
    assert [v["metadata"].get("term") for v in entry["violations"]] == ["a", "c"]
    assert [w["msg"] for w in entry["warnings"]] == [
        "noted",
        "fails in 2099. This will become a failure starting on 2099-01-01T00:00:00Z",
    ]


def test_an_opa_server_that_does_not_answer_is_no_verdict(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "terms.rego").write_text(TERMS)
    policy = json.dumps({"sources": [{"policy": [str(tmp_path / "p")]}]})
    document = tmp_path / "input.json"
    document.write_text(json.dumps({"bad": ["a"]}))
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    args = ["validate", "input", "-f", str(document), "-p", policy, "-o", "json", *WHEN]
    code, out, err = run_cli(*args, "--opa-url", url)
    assert code == 3
    assert b'"success": true' not in out
    assert "Traceback" not in err
