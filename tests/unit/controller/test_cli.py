"""``konflux-supply controller``: bad input is exit 2 with one line, before any API call."""

from __future__ import annotations

from pathlib import Path

import pytest

from konflux_supply.cli import main

CONFIG = "apiVersion: v1\nkind: ConfigMap\ndata:\n  artifacts.taskrun.storage: tekton\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ignore-runs-before", "yesterday"], "--ignore-runs-before"),
        (["--kubeconfig", "/nonexistent/kubeconfig"], "kubeconfig"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    code = main(["controller", "--config", str(config), "--ops-port", "0", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["controller", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "Traceback" not in capsys.readouterr().err
