"""A release gate that cannot reach a verdict says so: a registry that goes down mid-run, an
engine that crashes or hangs — each makes the component an error (exit 3), never a pass and
never a violation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import oci
from tests.integration.conftest import RegistryService
from tests.integration.fault_proxy import FaultProxy
from tests.integration.release._helpers import REPO, minimal_policy, new_signer, publish_image

pytestmark = pytest.mark.integration

#: A rule that takes minutes: 25 million iterations, little memory.
SLOW_REGO = """package slow

import rego.v1

# METADATA
# title: Slow
# custom:
#   short_name: slow
deny contains result if {
\tsome i in numbers.range(1, 20000)
\tsome j in numbers.range(1, 20000)
\ti * j == -1
\tresult := {"code": "slow.slow", "msg": "never"}
}
"""


@pytest.fixture(scope="module")
def signed(registry: RegistryService) -> tuple[list[str], str]:
    signer = new_signer()
    reg, _ = oci.open_registry(registry.ref("faults/x:v1"), options=registry.options)
    try:
        images = [
            publish_image(reg, registry.host, f"faults/app{n}", signer=signer) for n in range(3)
        ]
    finally:
        reg.close()
    return images, signer.public_key_pem().decode()


def _cli(args: list[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "konflux_supply", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def _snapshot(images: list[str]) -> str:
    return json.dumps(
        {"components": [{"name": f"app{n}", "containerImage": ref} for n, ref in enumerate(images)]}
    )


def _validate(policy: dict[str, Any], images: list[str], *extra: str) -> tuple[int, Any, str]:
    result = _cli(
        [
            "validate", "image", "--policy", json.dumps(policy), "--images", _snapshot(images),
            "--allow-http-registry", "--registry-retries", "2", "--output", "json", *extra,
        ]
    )  # fmt: skip
    report = json.loads(result.stdout) if result.stdout.strip() else None
    return result.returncode, report, result.stderr


def test_a_registry_that_goes_down_mid_run_is_no_verdict(
    signed: tuple[list[str], str], registry: RegistryService, fault_proxy: FaultProxy
) -> None:
    images, pem = signed
    via = [ref.replace(registry.host, fault_proxy.host, 1) for ref in images]
    # app1's registry answers the first requests, then 503 for everything after.
    fault_proxy.plan.add("status", path=r"/faults/app1/.*sha256-", status=503, times=None)
    code, report, stderr = _validate(minimal_policy(pem), via)
    assert code == 3, stderr
    assert report["success"] is False
    by_name = {c["name"]: c for c in report["components"]}
    assert by_name["app0"]["success"] is True
    assert by_name["app2"]["success"] is True
    broken = by_name["app1"]
    assert broken["success"] is False
    assert broken["error"]["kind"] == "registry"
    assert "503" in broken["error"]["cause"]
    # Conforma's keys still fail it; no signature "violation" is invented (conforma/cli#1730).
    assert [v["msg"] for v in broken["violations"]] == [
        "Could not be evaluated: " + broken["error"]["cause"]
    ]
    assert "no verdict" in stderr
    assert "Traceback" not in stderr


def test_a_registry_down_for_every_image_is_never_success(
    signed: tuple[list[str], str], registry: RegistryService, fault_proxy: FaultProxy
) -> None:
    images, pem = signed
    via = [ref.replace(registry.host, fault_proxy.host, 1) for ref in images]
    fault_proxy.plan.add("reset", times=None)
    code, report, _ = _validate(minimal_policy(pem), via, "--strict=false")
    assert code == 3
    assert all(c["success"] is False and "error" in c for c in report["components"])


def _slow_policy(tmp_path: Path, pem: str) -> dict[str, Any]:
    (tmp_path / "slow.rego").write_text(SLOW_REGO)
    return {"publicKey": pem, "sources": [{"policy": [str(tmp_path)]}]}


def test_a_hanging_policy_is_an_error(signed: tuple[list[str], str], tmp_path: Path) -> None:
    images, pem = signed
    # 10 s: room for loading on a busy machine; the rule needs minutes
    code, report, stderr = _validate(_slow_policy(tmp_path, pem), images[:1], "--timeout", "10")
    assert code == 3, stderr
    (component,) = report["components"]
    assert component["success"] is False
    assert component["error"]["code"] == "builtin.policy.evaluation"
    assert "timed out" in component["error"]["cause"] or "timeout" in component["error"]["cause"]


def test_a_deadline_spent_before_the_registry_is_reached_is_a_component_error(
    signed: tuple[list[str], str], tmp_path: Path
) -> None:
    # found under load: the HTTPS probe got a negative timeout and the run ended in a traceback
    images, pem = signed
    code, report, stderr = _validate(_slow_policy(tmp_path, pem), images[:1], "--timeout", "0.01")
    assert code == 3, stderr
    assert "internal error" not in stderr
    (component,) = report["components"]
    assert component["success"] is False
    assert component["error"]["code"] in ("builtin.image.accessible", "builtin.policy.evaluation")


def _engine_workers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"konflux_supply.policy._workers" in cmdline:
            found.append(int(entry.name))
    return found


def test_an_engine_that_crashes_is_an_error(signed: tuple[list[str], str], tmp_path: Path) -> None:
    """The worker evaluating the component dies of SIGSEGV (sent from here while it is busy
    with a long rule: a crash inside regorus looks the same to the gate)."""
    images, pem = signed
    before = set(_engine_workers())
    result: dict[str, Any] = {}

    def run() -> None:
        result["value"] = _validate(_slow_policy(tmp_path, pem), images[:1], "--workers", "1")

    thread = threading.Thread(target=run)
    thread.start()
    killed = False
    deadline = time.monotonic() + 120
    while thread.is_alive() and not killed and time.monotonic() < deadline:
        for pid in set(_engine_workers()) - before:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().split()
            except OSError:
                continue
            if int(stat[13]) + int(stat[14]) > 200:  # > 2 s of CPU: busy in the slow rule
                os.kill(pid, signal.SIGSEGV)
                killed = True
        time.sleep(0.2)
    thread.join(timeout=300)
    assert killed
    code, report, stderr = result["value"]
    assert code == 3, stderr
    (component,) = report["components"]
    assert component["error"]["code"] == "builtin.policy.evaluation"
    assert "SIGSEGV" in component["error"]["cause"]


BUILTIN_REGO = """package reach

import rego.v1

# METADATA
# title: Base image manifest is readable
# custom:
#   short_name: base_readable
deny contains result if {
\tnot ec.oci.image_manifest(input.image.ref)
\tresult := {"code": "reach.base_readable", "msg": "no manifest"}
}

# METADATA
# title: Elsewhere
# custom:
#   short_name: elsewhere
deny contains result if {
\tref := sprintf("%s/other@%s", [data.elsewhere, split(input.image.ref, "@")[1]])
\tnot ec.oci.image_manifest(ref)
\tresult := {"code": "reach.elsewhere", "msg": "elsewhere missing"}
}
"""


def test_an_ec_builtin_whose_registry_does_not_answer_is_an_error(
    signed: tuple[list[str], str], tmp_path: Path
) -> None:
    """``ec.oci.image_manifest`` is undefined when its registry cannot answer (as Conforma);
    the rule would then fire or pass by accident — the component is an error instead."""
    images, pem = signed
    (tmp_path / "reach.rego").write_text(BUILTIN_REGO)
    (tmp_path / "data.json").write_text(json.dumps({"elsewhere": "127.0.0.1:9"}))
    policy = {"publicKey": pem, "sources": [{"policy": [str(tmp_path)], "data": [str(tmp_path)]}]}
    code, report, stderr = _validate(policy, images[:1], "--registry-retries", "1")
    assert code == 3, stderr
    (component,) = report["components"]
    assert component["error"]["code"] == "builtin.policy.evaluation"
    assert component["error"]["kind"] == "registry"
    assert "ec.oci.image_manifest(127.0.0.1:9/other@sha256:" in component["error"]["cause"]
