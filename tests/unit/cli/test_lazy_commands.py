"""Commands load lazily (issue 10, item 17): what ``--help`` and each command import.

Not timed (speed is in ``benchmarks/bench_cli_start.py``); this checks the structure that keeps
start-up fast: the command table matches the modules, ``--help`` imports no command module and
no pydantic, and a command imports its own module only.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import urllib.request

import click
import pytest

from konflux_supply.cli import COMMANDS, cli, main
from konflux_supply.cli import _registry as registry_flags
from tests.conftest import REPO_ROOT


def test_the_command_table_matches_what_the_modules_register() -> None:
    registered: dict[str, set[str]] = {}
    for module_name in sorted({m for modules, _ in COMMANDS.values() for m in modules.split()}):
        group = click.Group("probe")
        importlib.import_module(f"konflux_supply.cli.{module_name}").register(group)
        for name in group.commands:
            registered.setdefault(name, set()).add(module_name)
    assert set(registered) == set(COMMANDS)
    for name, modules in registered.items():
        assert modules <= set(COMMANDS[name][0].split()), name
    assert all(help_text.strip() for _, help_text in COMMANDS.values())


def test_every_command_in_the_table_runs_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert main([name, "--help"]) == 0, name
        assert f"Usage: konflux-supply {name}" in capsys.readouterr().out


def _imported(argv: list[str]) -> list[str]:
    code = (
        "import json, sys\n"
        "from konflux_supply.cli import main\n"
        f"main({argv!r})\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env
    )
    modules: list[str] = json.loads(result.stderr.strip().splitlines()[-1])
    return modules


def _commands_of(modules: list[str]) -> set[str]:
    prefix = "konflux_supply.cli."
    return {m.removeprefix(prefix) for m in modules if m.startswith(prefix)}


def test_help_imports_no_command_module_and_no_pydantic() -> None:
    modules = _imported(["--help"])
    assert _commands_of(modules) == set()
    assert "pydantic" not in modules
    assert "konflux_supply.models.oci" not in modules


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["verify", "--help"], {"_oci", "_common", "_registry", "_keys", "_sbom", "_trust"}),
        (["sbom", "validate", "--help"], {"_sbom", "_common", "_registry"}),
        (["demo", "--help"], {"_demo"}),
        (["policy", "--help"], {"_policy", "_policy_push", "_common", "_registry"}),
    ],
)
def test_a_command_imports_its_own_module_only(argv: list[str], allowed: set[str]) -> None:
    modules = _imported(argv)
    loaded = _commands_of(modules)
    assert loaded <= allowed, sorted(loaded - allowed)
    assert "_demo" not in loaded or argv[0] == "demo"
    assert "_download" not in loaded


def test_the_group_still_finds_commands_added_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command("extra")
    def extra() -> None:
        click.echo("ran")

    monkeypatch.setitem(cli.commands, "extra", extra)
    assert main(["extra"]) == 0


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"HTTPS_PROXY": "http://proxy:3128", "no_proxy": "internal,.svc"},
        {"http_proxy": "http://lower", "HTTP_PROXY": "http://upper"},
        {"HTTP_PROXY": "http://cgi", "REQUEST_METHOD": "GET"},
        {"https_proxy": "", "HTTPS_PROXY": "http://upper"},
    ],
)
def test_proxies_are_read_as_urllib_reads_them(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = urllib.request.getproxies()
    expected = {k: v for k, v in found.items() if k in ("http", "https")}
    if expected and found.get("no"):
        expected["no_proxy"] = found["no"]
    assert (registry_flags._proxies() or {}) == expected
