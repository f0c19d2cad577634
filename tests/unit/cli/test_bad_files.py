"""Every file argument: bad files are exit 2 naming the path, and nothing is left half-written."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from konflux_supply import signing
from konflux_supply.cli import _keys, cli, main
from konflux_supply.errors import InputError

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    monkeypatch.chdir(tmp_path)
    signing.write_key_pair(signing.generate_key_pair(b"", scrypt=signing.LEGACY_SCRYPT), "k")
    (tmp_path / "blob").write_bytes(b"some-payload")
    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "deep-statement.json").write_text('{"predicateType": "x", "a": ' + DEEP + "}")
    (tmp_path / "a-directory").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["attest-blob", "--key", "k.key", "--statement", "deep-statement.json", "blob"], None),
        (["attest-blob", "--key", "k.key", "--predicate", "deep.json", "--type", "slsaprovenance",
          "blob"], None),
        (["verify-bundle", "--bundle", "deep.json", "--key", "k.pub", "--insecure-ignore-tlog",
          "blob"], "deep.json"),
        (["verify-blob", "--key", "k.pub", "--signature", "a-directory", "blob"], "a-directory"),
        (["verify-blob", "--key", "k.pub", "--signature", "missing.sig", "blob"], "missing.sig"),
        (["verify", "--key", "k.pub", "--trusted-root", "missing.json", "oci:layout:x"],
         "missing.json"),
        (["verify-attestation", "--key", "k.pub", "--trusted-root", "a-directory",
          "oci:layout:x"], "a-directory"),
        (["verify", "--key", "k.pub", "--trusted-root", "deep.json", "oci:layout:x"],
         "deep.json"),
    ],
)  # fmt: skip
def test_bad_files_are_input_errors(
    args: list[str], names: str | None, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "invalid input" in err
    assert "internal error" not in err
    assert "Traceback" not in err
    if names:
        assert names in err


def test_keyboard_interrupt_is_130_not_a_verdict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    @click.command("slow")
    def slow() -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.commands, "slow", slow)
    assert main(["slow"]) == 130
    assert "interrupted" in capsys.readouterr().err


def _interrupt_on_replace(monkeypatch: pytest.MonkeyPatch, after: int = 0) -> None:
    real = os.replace
    calls = [0]

    def replace(src: str | Path, dst: str | Path) -> None:
        calls[0] += 1
        if calls[0] > after:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_interrupted_output_file_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_on_replace(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _keys.write_atomically(str(tmp_path / "sig"), b"data", 0o600)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("after", [0, 1])
def test_interrupted_key_pair_leaves_nothing(
    after: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = signing.generate_key_pair(b"", scrypt=signing.LEGACY_SCRYPT)
    _interrupt_on_replace(monkeypatch, after)
    with pytest.raises(KeyboardInterrupt):
        signing.write_key_pair(pair, tmp_path / "cosign")
    assert list(tmp_path.iterdir()) == []


def test_key_pair_onto_a_directory_names_it(tmp_path: Path) -> None:
    (tmp_path / "cosign.pub").mkdir()
    pair = signing.generate_key_pair(b"", scrypt=signing.LEGACY_SCRYPT)
    with pytest.raises(InputError) as info:
        signing.write_key_pair(pair, tmp_path / "cosign", overwrite=True)
    assert info.value.source == str(tmp_path / "cosign.pub")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cosign.pub"]


@pytest.mark.parametrize(
    "args",
    [
        ["sign-blob", "--key", "k.key", "--bundle", "out.bundle",
         "--output-signature", "a-directory", "blob"],
        ["sign-blob", "--key", "k.key", "--bundle", "out.bundle",
         "--output-signature", "no-such-dir/sig", "blob"],
        ["attest-blob", "--key", "k.key", "--predicate", "blob", "--output-attestation",
         "out.att", "--bundle", "a-directory", "--output-signature", "out.sig", "blob"],
    ],
)  # fmt: skip
def test_one_bad_output_path_writes_no_output_at_all(
    args: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in workdir.iterdir())
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cannot write file" in err
    assert ("a-directory" in err) or ("no-such-dir/sig" in err)
    assert sorted(p.name for p in workdir.iterdir()) == before
