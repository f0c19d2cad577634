"""``konflux-supply sign-run``: keys as Chains finds them, outcome JSON, Tekton results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply import oci, signing, verify
from konflux_supply.cli import main
from tests.unit.chains._helpers import (
    digest_of,
    image_digest,
    push_image,
    push_named_image,
    task_run,
    write_cosign_secrets,
)

CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: chains-config, namespace: tekton-chains}
data:
  artifacts.taskrun.format: slsa/v2alpha4
  artifacts.taskrun.storage: "oci,tekton"
  artifacts.oci.storage: oci
"""


@pytest.fixture
def files(tmp_path: Path, cli_environment: None) -> dict[str, Path]:
    (tmp_path / "chains-config.yaml").write_text(CONFIG)
    (tmp_path / "run.json").write_text(json.dumps(task_run()))
    (tmp_path / "results").mkdir()
    public = write_cosign_secrets(tmp_path / "secrets")
    (tmp_path / "cosign.pub").write_bytes(public)
    registry, _ = oci.open_registry(f"oci:{tmp_path / 'layout'}")
    push_named_image(registry, "registry.example/team/app", "build-app")  # what the run built
    return {
        "config": tmp_path / "chains-config.yaml",
        "run": tmp_path / "run.json",
        "results": tmp_path / "results",
        "secrets": tmp_path / "secrets",
        "layout": tmp_path / "layout",
        "pub": tmp_path / "cosign.pub",
        "out": tmp_path / "outcome.json",
    }


def _args(files: dict[str, Path], *extra: str) -> list[str]:
    return [
        "sign-run",
        "--config",
        str(files["config"]),
        "--signing-secrets",
        str(files["secrets"]),
        "--oci-layout",
        str(files["layout"]),
        *extra,
        str(files["run"]),
    ]


def test_sign_run_writes_outcome_results_and_layout(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_args(files, "--results-dir", str(files["results"])))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    outcome = json.loads(captured.out)
    assert outcome["signed"] is True
    assert outcome["annotations"]["chains.tekton.dev/signed"] == "true"
    assert [a["state"] for a in outcome["artifacts"]] == ["stored", "stored"]
    signed = (files["results"] / "SIGNED").read_bytes()
    status = (files["results"] / "SIGN_STATUS").read_bytes()
    assert signed == b"true"
    assert len(status) <= 4096
    assert set(json.loads(status).values()) == {"stored"}
    registry, _ = oci.open_registry(f"oci:{files['layout']}")
    image = oci.parse_reference(f"registry.example/team/app@{image_digest('build-app')}")
    policy = verify.Keys([signing.load_verifier(str(files["pub"]))])
    assert verify.verify_signatures(registry, image, policy).signatures
    assert verify.verify_attestations(registry, image, policy).attestations
    # again (the run file has no annotations yet): nothing new is pushed
    assert main(_args(files, "--output", str(files["out"]))) == 0
    again = json.loads(files["out"].read_text())
    pushed = [
        s["written"] for a in again["artifacts"] for s in a["stores"] if s["backend"] == "oci"
    ]
    assert pushed == [False, False]


def test_missing_keys_exit_1_and_never_signed(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(files, "--results-dir", str(files["results"]))
    args[args.index(str(files["secrets"]))] = str(tmp_path / "nowhere")
    assert main(args) == 1
    captured = capsys.readouterr()
    outcome = json.loads(captured.out)
    assert outcome["signed"] is False
    assert outcome["annotations"].get("chains.tekton.dev/signed") != "true"
    assert "no valid private key" in captured.err
    assert (files["results"] / "SIGNED").read_bytes() == b"false"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("artifacts.taskrun.format: slsa/v9\n", "artifacts.taskrun.format"),
        ('transparency.enabled: "true"\n', "transparency.public-key"),
        ('transparency.enabled: "true"\ntransparency.url: "ftp://x"\n', "transparency.url"),
        ("[", "not YAML"),
    ],
)
def test_bad_config_exit_2_one_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], config: str, words: str
) -> None:
    files["config"].write_text(config)
    assert main(_args(files, "--results-dir", str(files["results"]))) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert words in captured.err
    assert "Traceback" not in captured.err
    assert list(files["results"].iterdir()) == []


def test_big_status_is_summarised_in_results() -> None:
    from konflux_supply.chains import ArtifactStatus, SignOutcome
    from konflux_supply.cli._chains import tekton_results

    artifacts = tuple(
        ArtifactStatus("oci", f"registry.example/app{i}@{digest_of(str(i))}", "stored")
        for i in range(100)
    )
    results = tekton_results(SignOutcome(run="taskrun/ns/x", artifacts=artifacts))
    assert results["SIGNED"] == b"true"
    assert json.loads(results["SIGN_STATUS"]) == {"counts": {"stored": 100}, "truncated": True}


def test_demo_path_an_image_in_an_oci_layout(
    tmp_path: Path, cli_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the demo does: the image lives in an OCI layout; sign-run stores into it, and
    verify / verify-attestation read it back by ``oci:DIR`` reference."""
    layout = tmp_path / "layout"
    registry, _ = oci.open_registry(f"oci:{layout}")
    digest = push_image(registry, "quay.io/konflux-demo/app", tag="demo")
    (tmp_path / "run.json").write_text(
        json.dumps(task_run(image="quay.io/konflux-demo/app", digest=digest))
    )
    (tmp_path / "config.yaml").write_text("artifacts.taskrun.storage: oci\n")
    public = write_cosign_secrets(tmp_path / "secrets")
    (tmp_path / "cosign.pub").write_bytes(public)
    args = ["--config", str(tmp_path / "config.yaml"), "--oci-layout", str(layout)]
    args += ["--signing-secrets", str(tmp_path / "secrets"), str(tmp_path / "run.json")]
    assert main(["sign-run", *args]) == 0
    pub = str(tmp_path / "cosign.pub")
    assert main(["verify", "--key", pub, f"oci:{layout}@{digest}"]) == 0
    assert (
        main(
            ["verify-attestation", "--key", pub, "--type", "slsaprovenance02", f"oci:{layout}:demo"]
        )
        == 0
    )
    capsys.readouterr()
