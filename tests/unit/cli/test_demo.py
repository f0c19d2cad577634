"""`konflux-supply demo`: the README's main job works end to end and its outputs verify again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply.cli import main


def _demo(workdir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["demo", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr()
    assert "5. verified with" in out.err
    summary: dict[str, object] = json.loads(out.out)
    return summary


def test_demo_signs_attests_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    workdir = tmp_path / "demo"
    summary = _demo(workdir, capsys)
    image = str(summary["image"])
    assert image.startswith(f"oci:{workdir}/layout@sha256:")
    for name in ("cosign.key", "cosign.pub", "provenance.json", "sbom.cdx.json", "taskrun.json"):
        assert (workdir / name).is_file()
    statement = json.loads((workdir / "provenance.json").read_text())
    assert statement["subject"][0]["digest"]["sha256"] == image.rsplit(":", 1)[1]

    # The commands the demo suggests work on what it stored.
    pub = str(summary["publicKey"])
    assert main(["verify", "--key", pub, image]) == 0
    payloads = json.loads(capsys.readouterr().out)
    assert payloads[0]["critical"]["image"]["docker-manifest-digest"] == image.split("@")[1]
    assert main(["verify-attestation", "--key", pub, "--type", "slsaprovenance", image]) == 0
    assert main(["verify-attestation", "--key", pub, "--type", "cyclonedx", image]) == 0
    # A key that did not sign is refused (exit 1), not "unsigned" and not a pass.
    assert main(["generate-key-pair", "--output-key-prefix", str(tmp_path / "other")]) == 0
    capsys.readouterr()
    assert main(["verify", "--key", str(tmp_path / "other.pub"), image]) == 1


def test_demo_reruns_in_its_own_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "demo"
    first = _demo(workdir, capsys)
    second = _demo(workdir, capsys)
    assert first["image"] == second["image"]  # the image bytes are reproducible


def test_demo_refuses_a_foreign_nonempty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--workdir", str(tmp_path)]) == 2
    assert "not made by an earlier demo" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("failure", [KeyboardInterrupt, "registry"])
@pytest.mark.parametrize("given_dir", [False, True])
def test_a_failed_demo_leaves_nothing_behind(
    failure: object,
    given_dir: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from konflux_supply import verify
    from konflux_supply.errors import RegistryError

    def broken(*_args: object, **_kwargs: object) -> None:
        if failure is KeyboardInterrupt:
            raise KeyboardInterrupt
        raise RegistryError("the registry went away")

    monkeypatch.setattr(verify, "verify_attestations", broken)
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
    _demo(workdir, capsys)
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
    summary = _demo(tmp_path / "demo", capsys)
    program = str(summary["next"][0]).split(" verify", 1)[0]  # type: ignore[index]
    assert program != "konflux-supply"
    assert program.endswith(("/konflux-supply", "python -m konflux_supply"))
