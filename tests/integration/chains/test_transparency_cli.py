"""``konflux-supply sign-run`` with ``transparency.enabled`` in the ConfigMap: logged in our
fake Rekor, the outcome and the annotations say where; a log that fails is exit 1, not
signed, and nothing is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply import oci
from konflux_supply.cli import main
from konflux_supply.oci import Kind
from konflux_supply.oci.cosign import BUNDLE_ANNOTATION
from tests.integration.fake_rekor import FakeRekor
from tests.unit.chains._helpers import (
    image_digest,
    push_named_image,
    task_run,
    write_cosign_secrets,
)

pytestmark = pytest.mark.integration


def _files(tmp_path: Path, rekor: FakeRekor) -> dict[str, Path]:
    key = tmp_path / "rekor.pub"
    key.write_bytes(rekor.public_pem)
    config = tmp_path / "chains-config.yaml"
    config.write_text(
        json.dumps(
            {
                "artifacts.taskrun.storage": "tekton",
                "artifacts.oci.storage": "oci",
                "transparency.enabled": "true",
                "transparency.url": rekor.url,
                "transparency.public-key": str(key),
            }
        )
    )
    (tmp_path / "run.json").write_text(json.dumps(task_run()))
    write_cosign_secrets(tmp_path / "secrets")
    registry, _ = oci.open_registry(f"oci:{tmp_path / 'layout'}")
    push_named_image(registry, "registry.example/team/app", "build-app")
    return {
        "config": config,
        "run": tmp_path / "run.json",
        "secrets": tmp_path / "secrets",
        "layout": tmp_path / "layout",
    }


def _args(files: dict[str, Path]) -> list[str]:
    return [
        "sign-run",
        "--config",
        str(files["config"]),
        "--signing-secrets",
        str(files["secrets"]),
        "--oci-layout",
        str(files["layout"]),
        str(files["run"]),
    ]


def test_sign_run_logs(
    tmp_path: Path, rekor: FakeRekor, cli_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(tmp_path, rekor)
    assert main(_args(files)) == 0, capsys.readouterr().err
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["signed"] is True
    url = f"{rekor.url}/api/v1/log/entries?logIndex=1"
    assert outcome["transparency"] == url
    assert outcome["annotations"]["chains.tekton.dev/transparency"] == url
    assert [a["transparency"] for a in outcome["artifacts"]] == [url.replace("=1", "=0"), url]
    registry, _ = oci.open_registry(f"oci:{files['layout']}")
    image = oci.parse_reference(f"oci:{files['layout']}@{image_digest('build-app')}")
    (layer,) = oci.read_attachments(registry, image, Kind.SIGNATURE).layers
    assert BUNDLE_ANNOTATION in layer.annotations


def test_sign_run_with_a_failing_log_is_exit_1(
    tmp_path: Path, rekor: FakeRekor, cli_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(tmp_path, rekor)
    rekor.mode = "bad-set"
    assert main(_args(files)) == 1
    captured = capsys.readouterr()
    outcome = json.loads(captured.out)
    assert outcome["signed"] is False
    assert all(a["state"] == "failed" for a in outcome["artifacts"])
    assert "invalid inclusion promise" in outcome["artifacts"][1]["cause"]
    assert "chains.tekton.dev/signed" not in outcome["annotations"]
    registry, _ = oci.open_registry(f"oci:{files['layout']}")
    image = oci.parse_reference(f"oci:{files['layout']}@{image_digest('build-app')}")
    assert not oci.read_attachments(registry, image, Kind.SIGNATURE).layers
    assert "Traceback" not in captured.err
