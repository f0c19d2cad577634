"""``import konflux_supply; konflux_supply.oci`` works, lazily (issue 10, item 16)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    return result.stdout.strip()


@pytest.mark.parametrize("name", ["oci", "verify", "publish", "signing", "sbom", "provenance"])
def test_a_submodule_loads_on_first_use(name: str) -> None:
    code = (
        "import sys, konflux_supply\n"
        f"assert 'konflux_supply.{name}' not in sys.modules\n"
        f"print(konflux_supply.{name}.__name__, 'konflux_supply.{name}' in sys.modules)"
    )
    assert _run(code) == f"konflux_supply.{name} True"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import konflux_supply

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        konflux_supply.nope  # noqa: B018
    assert "oci" in dir(konflux_supply)
