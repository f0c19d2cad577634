"""Files of an OCI layout get the umask's mode, as ``cp`` would give them (issue 10, item 3)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from konflux_supply.cli import main
from konflux_supply.oci._layout import LayoutRegistry
from tests.unit.cli._helpers import push_image


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    mask = int(request.param)
    old = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", [0o022, 0o027], indirect=True)
def test_copy_into_a_layout_writes_files_other_users_can_read(
    umask: int, tmp_path: Path, cli_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    push_image(LayoutRegistry(tmp_path / "src"), "src:v1")
    assert main(["copy", "oci:src:v1", "oci:out:v1"]) == 0
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"index.json", "oci-layout"}
    modes = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in files}
    assert set(modes.values()) == {0o666 & ~umask}, modes
