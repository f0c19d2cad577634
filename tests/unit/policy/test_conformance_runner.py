"""The conformance runner on a small policy tree of ours laid out like conforma/policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply.policy import _conformance, compat

LIB = """package lib.greeting

import rego.v1

hello(name) := sprintf("hello %s", [name])

configured := data.rule_data.greeting
"""

LIB_TEST = """package lib.greeting_test

import rego.v1

import data.lib.greeting

test_hello if greeting.hello("x") == "hello x"

test_rule_data if greeting.configured == "hi"

test_wrong if greeting.hello("x") == "bye"

test_undefined if greeting.nothing_here

test_false := false

# count of a number aborts regorus (not guarded, see docs): an error, not a fail
test_error if count(1) == 1
"""

RELEASE = """package pets

import rego.v1

import data.lib.greeting

deny contains greeting.hello(name) if {
	some name in input.cats
}
"""

RELEASE_TEST = """package pets_test

import rego.v1

import data.pets

test_cat if count(pets.deny) == 1 with input.cats as ["tom"]
"""

CRASH_TEST = """package crash_test

import rego.v1

loop(x) := loop(x)

test_crash if loop(1)
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    files = {
        "policy/lib/greeting/greeting.rego": LIB,
        "policy/lib/greeting/greeting_test.rego": LIB_TEST,
        "policy/release/pets/pets.rego": RELEASE,
        "policy/release/pets/pets_test.rego": RELEASE_TEST,
        "example/data/rule_data.yml": "rule_data:\n  greeting: hi\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_each_test_rule_gets_a_status_and_a_reason(checkout: Path) -> None:
    results = {r.name: r for r in _conformance.run(checkout, jobs=1)}
    assert {name: r.status for name, r in results.items()} == {
        "test_hello": "pass",
        "test_rule_data": "pass",
        "test_wrong": "fail",
        "test_undefined": "fail",
        "test_false": "fail",
        "test_error": "error",
        "test_cat": "pass",
    }
    assert results["test_wrong"].reason == "undefined"
    assert results["test_false"].reason == "false"
    assert results["test_undefined"].reason == "undefined"
    assert "count" in (results["test_error"].reason or "")
    assert results["test_hello"].package == "lib.greeting_test"
    assert results["test_cat"].file == "policy/release/pets/pets_test.rego"


def test_a_crashing_file_fails_only_its_own_tests(checkout: Path) -> None:
    (checkout / "policy/release/crash").mkdir()
    (checkout / "policy/release/crash/crash_test.rego").write_text(CRASH_TEST)
    results = {r.name: r for r in _conformance.run(checkout, jobs=2)}
    assert results["test_crash"].status == "error"
    assert results["test_cat"].status == "pass"
    assert results["test_hello"].status == "pass"


def test_json_summary_and_untrusted_file(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    untrusted = tmp_path / "untrusted.json"
    code = _conformance.main(
        [str(checkout), "--output", "json", "--untrusted", str(untrusted), "--jobs", "1"]
    )
    assert code == 1  # some tests do not pass
    summary = json.loads(capsys.readouterr().out)
    assert summary["total"] == 7
    assert summary["pass"] + summary["fail"] + summary["error"] == 7
    assert json.loads(untrusted.read_text()) == ["lib.greeting"]
    assert compat.untrusted_packages(summary["results"]) == {"lib.greeting"}


def test_bad_checkout_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _conformance.main([str(tmp_path)]) == 2
    assert "not a conforma/policy checkout" in capsys.readouterr().err


def test_find_checkout_prefers_the_environment(checkout: Path, tmp_path: Path) -> None:
    env = {_conformance.CHECKOUT_ENV: str(checkout)}
    assert _conformance.find_checkout(tmp_path, env) == checkout
    assert _conformance.find_checkout(tmp_path, {}) is None
