"""``policy lint``: required annotations, declared collections, documented rule data."""

from __future__ import annotations

from pathlib import Path

import pytest

from konflux_supply.cli import main
from konflux_supply.policy import Module
from konflux_supply.policy.lint import lint

COLLECTIONS = """# METADATA
# title: Minimal
# description: The rules every release needs.
package policy.collection.minimal
"""

GOOD = """# METADATA
# title: Values
# description: Value checks.
# custom:
#   collections_declared: [konflux]
#   rule_data:
#     allowed: values that are allowed
package release.values

import rego.v1

# METADATA
# title: Value allowed
# description: The value is allowed.
# custom:
#   short_name: allowed
#   failure_msg: Value %s is not allowed
#   solution: Use an allowed value.
#   collections: [minimal, konflux]
deny contains "x" if not input.value in lib.rule_data("allowed")
"""

BAD = """package release.bad

import rego.v1

# METADATA
# title: Half documented
# custom:
#   short_name: half
#   collections: [nowhere]
#   depends_on: [values.missing]
deny contains "x" if rule_data.get("undocumented_key")

warn contains "w" if true
"""


def test_a_clean_library_has_no_problems() -> None:
    assert lint([Module("c.rego", COLLECTIONS), Module("v.rego", GOOD)]) == []


def test_every_problem_is_one_line_with_file_and_line() -> None:
    problems = [
        str(p)
        for p in lint(
            [Module("c.rego", COLLECTIONS), Module("v.rego", GOOD), Module("b.rego", BAD)]
        )
    ]
    assert problems == [
        "b.rego:11: bad.half: collection 'nowhere' is not declared "
        "(custom.collections_declared or a collection.<name> package)",
        "b.rego:11: bad.half: depends_on names unknown rule 'values.missing'",
        "b.rego:11: rule data key 'undocumented_key' is not documented "
        "(list it in a package annotation's custom.rule_data)",
        "b.rego:11: rule deny lacks description, custom.failure_msg, custom.solution",
        "b.rego:13: rule warn has no METADATA",
    ]


def test_duplicate_codes_and_bad_yaml_are_problems_not_crashes() -> None:
    duplicate = GOOD.replace("package release.values", "package other.values")
    problems = [str(p) for p in lint([Module("a.rego", GOOD), Module("b.rego", duplicate)])]
    assert any("two rules with the code values.allowed" in p for p in problems)
    broken = "package x\n\n# METADATA\n# title: [\ndeny contains 1 if true\n"
    (problem,) = lint([Module("y.rego", broken)])
    assert str(problem).startswith("y.rego:3: METADATA is not valid YAML")


def test_cli_lint_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.rego").write_text(COLLECTIONS)
    (tmp_path / "v.rego").write_text(GOOD)
    assert main(["policy", "lint", str(tmp_path)]) == 0
    (tmp_path / "b.rego").write_text(BAD)
    assert main(["policy", "lint", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert all(line.startswith(str(tmp_path / "b.rego") + ":") for line in lines)
