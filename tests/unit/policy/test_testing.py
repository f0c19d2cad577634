"""``policy test``: test rules run per test file, with pass/fail/error and compile errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply.cli import main
from konflux_supply.errors import InputError
from konflux_supply.policy import Builtins, Module, read_modules
from konflux_supply.policy.testing import load_data, run_tests
from tests.unit.policy import _engine_builtins as _helpers

LIB = """package lib

import rego.v1

allowed(value) if value in data.rule_data.allowed

size(ref) := count(ec.oci.blob(ref))
"""
POLICY = """package release.values

import data.lib
import rego.v1

deny contains sprintf("value %s not allowed", [input.value]) if not lib.allowed(input.value)

warn contains "big blob" if lib.size("ref") > 3
"""
TESTS = """package release.values_test

import data.release.values
import rego.v1

test_allowed if count(values.deny) == 0 with input.value as "a"

test_denied if values.deny == {"value b not allowed"} with input.value as "b"

test_blob_mocked if values.warn == {"big blob"} with ec.oci.blob as "abcdef"

test_blob_offline_is_undefined if count(values.warn) == 0

test_wrong if values.deny == set() with input.value as "b"

test_erred if to_number("x") == 1
"""


def _tree(root: Path, extra: dict[str, str] | None = None) -> Path:
    files = {"lib/lib.rego": LIB, "release/values.rego": POLICY, "release/values_test.rego": TESTS}
    files.update(extra or {})
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "rule_data.yml").write_text("rule_data:\n  allowed: [a]\n")
    return root


def test_each_test_rule_reports_pass_fail_or_error(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    report = run_tests(read_modules([root]), load_data([root / "data"]))
    outcome = {result.name: (result.status, result.reason) for result in report.results}
    assert outcome["test_allowed"] == ("pass", None)
    assert outcome["test_denied"] == ("pass", None)
    assert outcome["test_blob_mocked"] == ("pass", None)
    assert outcome["test_blob_offline_is_undefined"] == ("pass", None)
    assert outcome["test_wrong"] == ("fail", "undefined")
    assert outcome["test_erred"][0] == "error"
    assert "values_test.rego:16" in (outcome["test_erred"][1] or "")
    assert report.counts() == {"total": 6, "pass": 4, "fail": 1, "error": 1, "compile_errors": 0}
    assert report.exit_code == 1
    assert all(result.package == "release.values_test" for result in report.results)


def test_run_selects_tests_by_regex(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    report = run_tests(read_modules([root]), load_data([root / "data"]), run="blob")
    assert sorted(r.name for r in report.results) == [
        "test_blob_mocked",
        "test_blob_offline_is_undefined",
    ]
    assert report.exit_code == 0


def test_a_module_that_does_not_compile_is_reported_and_exits_2(tmp_path: Path) -> None:
    broken = {
        "other/broken.rego": "package other\n\nx := \n",
        "other/net.rego": "package net_user\n\nx := http.send({})\n",
        "other/other_test.rego": "package other_test\n\nimport rego.v1\n\ntest_ok if true\n",
    }
    root = _tree(tmp_path, broken)
    report = run_tests(read_modules([root]), load_data([root / "data"]))
    locations = sorted((Path(p.file).name, p.line) for p in report.compile_errors)
    assert locations == [("broken.rego", 4), ("net.rego", 3)]
    assert report.exit_code == 2
    # the other tests still ran
    assert {r.name for r in report.results if r.status == "pass"} >= {"test_ok", "test_allowed"}


def test_a_hanging_test_is_an_error_and_the_next_tests_still_run(tmp_path: Path) -> None:
    text = (
        "package slow_test\n\nimport rego.v1\n\n"
        "test_a_hangs if test.sleep(30)\n\ntest_b_fast if test.sleep(0)\n"
    )
    report = run_tests(
        [Module("slow_test.rego", text)],
        builtins=Builtins(_helpers.sleepy_builtins),
        timeout=1.0,
    )
    outcome = {r.name: (r.status, r.reason) for r in report.results}
    assert outcome["test_a_hangs"] == ("error", "policy evaluation timed out after 1 s")
    assert outcome["test_b_fast"] == ("pass", None)


def test_data_files_must_not_conflict(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"rule_data": {"x": 1}}')
    (tmp_path / "b.yaml").write_text("rule_data:\n  x: 2\n")
    with pytest.raises(InputError, match="conflicts"):
        load_data([tmp_path])
    (tmp_path / "b.yaml").write_text("rule_data:\n  y: 2\n")
    assert load_data([tmp_path]) == {"rule_data": {"x": 1, "y": 2}}


def test_cli_exit_codes_and_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path)
    data = str(root / "data")
    assert main(["policy", "test", str(root), "--data", data, "--run", "allowed|denied"]) == 0
    capsys.readouterr()
    assert main(["policy", "test", str(root), "--data", data, "-o", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["fail"] == 1
    assert {"package", "name", "status", "reason", "duration_ns"} <= set(document["tests"][0])
    (root / "bad.rego").write_text("package bad\n\nx := \n")
    assert main(["policy", "test", str(root), "--data", data]) == 2
    assert "bad.rego:4" in capsys.readouterr().err


def test_cli_verbose_lists_passing_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path)
    main(["policy", "test", str(root), "--data", str(root / "data"), "-v"])
    out = capsys.readouterr().out
    assert "PASS data.release.values_test.test_allowed" in out
    assert "FAIL data.release.values_test.test_wrong" in out
    assert "PASS: 4/6  FAIL: 1  ERROR: 1" in out


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_static_analysis_error_at_run_time_is_a_compile_error(tmp_path: Path) -> None:
    extra = {
        "uses/unknown.rego": "package uses\n\nimport rego.v1\n\nx := no_such_function(1)\n",
        "uses/unknown_test.rego": (
            "package uses_test\n\nimport data.uses\nimport rego.v1\n\ntest_x if uses.x == 1\n"
        ),
    }
    root = _tree(tmp_path, extra)
    report = run_tests(read_modules([root]), load_data([root / "data"]))
    (problem,) = report.compile_errors
    assert (Path(problem.file).name, problem.line) == ("unknown.rego", 5)
    assert "could not find function no_such_function" in problem.message
    assert report.exit_code == 2
    # the broken module is reached only by its own test: the other files still pass
    assert {r.name for r in report.results if r.status == "pass"} >= {"test_allowed"}
