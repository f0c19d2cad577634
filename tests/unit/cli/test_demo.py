"""`konflux-supply demo`: the README's first command runs the whole product end to end — a
sample PipelineRun signed with chains.sign_run into an OCI layout, release.validate passing
it, and two tampered copies rejected with their codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from konflux_supply.cli import _demo, main

EXPECTED = {
    "tampered-key": "builtin.attestation.signature_check",
    "untrusted-builder": "slsa_build_build_service.slsa_builder_id_accepted",
}


def _demo_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    assert main(["demo", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr()
    summary: dict[str, Any] = json.loads(out.out)
    return summary, out.err


def test_demo_passes_the_image_and_rejects_both_tampered_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    workdir = tmp_path / "demo"
    summary, err = _demo_run(workdir, capsys)

    # The passing report, as text, and each rejection with its code, on stderr.
    assert "Result: SUCCESS" in err
    assert "Violations: 0" in err
    for name, code in EXPECTED.items():
        assert f"5. {name} (" in err
        line = next(line for line in err.splitlines() if line.startswith(f"5. {name} "))
        assert "REJECTED" in line
        assert code in line
    assert "Traceback" not in err

    # The JSON summary: the old keys, the verdicts.
    image = str(summary["image"])
    assert image.startswith(f"oci:{workdir}/layout@sha256:")
    assert summary["success"] is True
    assert summary["pipelineRun"] == "team-a-tenant/app-build-7x2kq"
    assert summary["validation"]["success"] is True
    assert summary["validation"]["violations"] == 0
    assert summary["validation"]["successes"] > 0
    assert summary["verified"]["signatures"] == 1
    assert "https://slsa.dev/provenance/v0.2" in summary["verified"]["attestations"]
    assert "https://cyclonedx.org/bom" in summary["verified"]["attestations"]
    for key in ("signatureTag", "attestationTag", "sbomTag", "publicKey", "next"):
        assert summary[key]
    rejected = {r["name"]: r for r in summary["rejected"]}
    assert set(rejected) == set(EXPECTED)
    for name, code in EXPECTED.items():
        assert rejected[name]["rejected"] is True
        assert rejected[name]["expected"] == code
        assert code in rejected[name]["codes"]
        # The copy is the same image: only its signatures/attestations differ.
        assert rejected[name]["image"].split("@")[1] == image.split("@")[1]
    # Another key: nothing else passed or failed in its place (no policy ran on it).
    assert rejected["tampered-key"]["codes"] == [EXPECTED["tampered-key"]]

    for name in ("cosign.key", "cosign.pub", "pipelinerun.json", "sbom.cdx.json", "policy.yaml"):
        assert (workdir / name).is_file()
    run = json.loads((workdir / "pipelinerun.json").read_text())
    digests = [r["value"] for r in run["status"]["results"] if r["name"] == "IMAGE_DIGEST"]
    assert digests == [image.split("@")[1]]  # the sample run reports the image really built
    assert run["metadata"]["annotations"]["chains.tekton.dev/signed"] == "true"
    assert "konflux-supply.dev/sign-status" not in run["metadata"]["annotations"]
    report = json.loads((workdir / "report.json").read_text())
    assert report["success"] is True
    assert [c["containerImage"] for c in report["components"]] == [image]

    # The commands the demo suggests work on what it stored.
    pub = str(summary["publicKey"])
    assert main(["verify", "--key", pub, image]) == 0
    assert main(["verify-attestation", "--key", pub, "--type", "slsaprovenance", image]) == 0
    assert main(["verify-attestation", "--key", pub, "--type", "cyclonedx", image]) == 0
    capsys.readouterr()
    policy = str(summary["policy"])
    assert main(["validate", "image", "--policy", policy, "--public-key", pub, "-i", image]) == 0
    untrusted = rejected["untrusted-builder"]["image"]
    args = ["validate", "image", "--policy", policy, "--public-key", pub, "-i", untrusted]
    assert main(args) == 1
    assert EXPECTED["untrusted-builder"] in capsys.readouterr().out

    # Run again in the same directory: it replaces its own output, same image, same verdicts.
    again, _ = _demo_run(workdir, capsys)
    assert again["image"] == summary["image"]  # the image bytes are reproducible
    assert again["success"] is True
    assert again["publicKey"] == summary["publicKey"]
    assert json.loads((workdir / "report.json").read_text())["success"] is True


def test_a_tampered_copy_that_is_not_rejected_fails_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The "untrusted" builder is the trusted one: that copy passes, so the demo must not.
    monkeypatch.setattr(_demo, "UNTRUSTED_BUILDER", "https://tekton.dev/chains/v2")
    workdir = tmp_path / "demo"
    assert main(["demo", "--workdir", str(workdir)]) == 1
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["success"] is False
    assert summary["validation"]["success"] is True
    rejected = {r["name"]: r for r in summary["rejected"]}
    assert rejected["tampered-key"]["rejected"] is True
    assert rejected["untrusted-builder"]["rejected"] is False
    assert rejected["untrusted-builder"]["codes"] == []
    assert "NOT REJECTED AS EXPECTED" in out.err
    assert (workdir / "report.json").is_file()  # a complete run with a wrong verdict is kept


def test_demo_refuses_a_foreign_nonempty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--workdir", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "not made by an earlier demo" in out.err
    assert out.out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_outside_a_checkout_is_bad_input_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_demo, "RULE_DATA", "policies/examples/no-such-example/data")
    workdir = tmp_path / "demo"
    assert main(["demo", "--workdir", str(workdir)]) == 2
    err = capsys.readouterr().err
    assert "not found next to the package" in err
    assert "make demo" in err
    assert not workdir.exists()


@pytest.mark.parametrize("failure", [KeyboardInterrupt, "registry"])
@pytest.mark.parametrize("given_dir", [False, True])
def test_a_failed_demo_leaves_nothing_behind(
    failure: object,
    given_dir: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from konflux_supply import release
    from konflux_supply.errors import RegistryError

    def broken(*_args: object, **_kwargs: object) -> None:
        if failure is KeyboardInterrupt:
            raise KeyboardInterrupt
        raise RegistryError("the registry went away")

    monkeypatch.setattr(release, "validate", broken)
    workdir = tmp_path / "demo"
    if given_dir:
        workdir.mkdir()
    code = main(["demo", "--workdir", str(workdir)])
    out = capsys.readouterr()
    assert code == (130 if failure is KeyboardInterrupt else 3)
    assert out.out == ""
    assert "Traceback" not in out.err
    if given_dir:
        assert workdir.is_dir()
        assert not any(workdir.iterdir())
    else:
        assert not workdir.exists()


def test_a_rerun_never_deletes_files_the_demo_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "demo"
    _demo_run(workdir, capsys)
    (workdir / "notes.txt").write_text("mine")
    assert main(["demo", "--workdir", str(workdir)]) == 2
    assert "files the demo did not make (notes.txt)" in capsys.readouterr().err
    assert (workdir / "notes.txt").read_text() == "mine"
    assert (workdir / "cosign.pub").is_file()  # the earlier demo is left as it was


def test_the_next_commands_can_be_run_as_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    monkeypatch.setattr(shutil, "which", lambda _name: None)  # not on PATH (no venv activated)
    summary, _ = _demo_run(tmp_path / "demo", capsys)
    program = str(summary["next"][0]).split(" verify", 1)[0]  # type: ignore[index]
    assert program != "konflux-supply"
    assert program.endswith(("/konflux-supply", "python -m konflux_supply"))
