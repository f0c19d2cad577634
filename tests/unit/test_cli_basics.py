from __future__ import annotations

import subprocess
import sys

import click
import pytest

from konflux_supply import __version__
from konflux_supply.cli import cli, main
from konflux_supply.errors import InputError, RegistryError


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "code"), [(InputError("bad", field="a.b"), 2), (RegistryError("down"), 3)]
)
def test_library_errors_become_exit_codes_without_traceback(
    error: Exception, code: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    @click.command("boom")
    def boom() -> None:
        raise error

    monkeypatch.setitem(cli.commands, "boom", boom)
    assert main(["boom"]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("konflux-supply: ")
    assert len(err.strip().splitlines()) == 1


def test_internal_error_is_never_success(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    @click.command("bug")
    def bug() -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setitem(cli.commands, "bug", bug)
    monkeypatch.delenv("KONFLUX_SUPPLY_DEBUG", raising=False)
    assert main(["bug"]) == 3
    assert "internal error" in capsys.readouterr().err


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "konflux_supply", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "Usage: konflux-supply" in done.stdout


def test_a_closed_stdout_is_never_success(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    @click.command("pipe")
    def pipe() -> None:
        raise OSError(errno.EPIPE, "Broken pipe")

    monkeypatch.setitem(cli.commands, "pipe", pipe)
    monkeypatch.setattr("sys.stdout", __import__("io").StringIO())
    monkeypatch.setattr("sys.stderr", __import__("io").StringIO())
    assert main(["pipe"]) == 141
