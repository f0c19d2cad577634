"""What a newcomer reads (issue 10, items 12 and 13): how to run the CLI after ``make demo``,
the layout identity, and packaging metadata that builds without deprecation warnings."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO_ROOT


def test_readme_says_how_to_run_the_cli_after_make_demo() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert ".venv/bin/konflux-supply" in readme
    assert ". .venv/bin/activate" in readme


def test_the_layout_identity_is_documented_where_signing_is() -> None:
    for doc in ("README.md", "docs/storage.md"):
        text = (REPO_ROOT / doc).read_text()
        assert "--sign-container-identity" in text, doc
        assert "identity=" in text, doc


def test_the_license_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"  # PEP 639, not {text = …} (deprecated)
    requires = " ".join(project["build-system"]["requires"])
    found = re.search(r"setuptools>=(\d+)", requires)
    assert found
    assert int(found.group(1)) >= 77  # the first setuptools to read SPDX strings
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert '"setuptools>=77"' in makefile
