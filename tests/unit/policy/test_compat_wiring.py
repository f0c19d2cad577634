"""The compat layer wired into the engine: detection, the ``compat`` switch, untrusted files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from konflux_supply.errors import InputError
from konflux_supply.policy.compat import load_untrusted, uses_conforma_idioms
from konflux_supply.policy.engine import Builtins, Module, RegorusEngine
from konflux_supply.policy.evaluation import compat_wanted

LIB = """package lib

result_helper(chain, params) := {"code": chain[0].annotations.custom.short_name, "p": params}
"""

RULES = """package release.demo

import data.lib
import rego.v1

# METADATA
# title: Demo
# custom:
#   short_name: demo_rule
deny contains result if {
\tnot ec.oci.blob("registry.invalid/x@sha256:00")
\tresult := lib.result_helper(rego.metadata.chain(), [input.x])
}
"""


TESTS = """package release.demo_test

import data.release.demo
import rego.v1

test_mocked if {
\tcount(demo.deny) == 0 with ec.oci.blob as "ok"
}
"""


def undefined_builtins(_context: Any = None) -> dict[str, tuple[int, Any]]:
    return {"ec.oci.blob": (1, lambda _ref: None)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("package a\nimport data.lib\n", True),
        ("package a\n  import data.lib.tekton\n", True),
        ("package a\nx := rego.metadata.chain()\n", True),
        ("package a\nx := rego.metadata.rule()\n", True),
        ("package a\n# import data.lib\n# rego.metadata.chain()\n", False),
        ("package a\nimport data.library\n", False),
        ("package a\nimport data.other.lib\n", False),
    ],
)
def test_detection(text: str, expected: bool) -> None:
    assert uses_conforma_idioms([text]) is expected


def test_compat_modes() -> None:
    ours = [Module("a.rego", "package a\nimport rego.v1\n")]
    theirs = [Module("b.rego", RULES)]
    assert compat_wanted(theirs, "auto")
    assert not compat_wanted(ours, "auto")
    assert compat_wanted(ours, "on")
    assert not compat_wanted(theirs, "off")


def test_engine_runs_conforma_idioms_and_ec_builtins_stay_mockable() -> None:
    modules = [Module("lib.rego", LIB), Module("demo.rego", RULES), Module("t.rego", TESTS)]
    builtins = Builtins(undefined_builtins)
    with RegorusEngine(modules, builtins=builtins, workers=0, compat=True) as engine:
        result = engine.evaluate({"x": 1})
        assert result["release.demo"]["deny"] == [{"code": "demo_rule", "p": [1]}]
        mocked = engine.query("data.release.demo_test.test_mocked", {"x": 1})
    assert mocked is True


def test_untrusted_file_forms(tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(["cve", "tasks"]))
    assert load_untrusted(str(listed)) == {"cve", "tasks"}
    summary = tmp_path / "summary.json"
    summary.write_text(
        json.dumps(
            {
                "results": [
                    {"package": "cve_test", "status": "fail"},
                    {"package": "tasks_test", "status": "pass"},
                ]
            }
        )
    )
    assert load_untrusted(str(summary)) == {"cve"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"x": 1}')
    with pytest.raises(InputError):
        load_untrusted(str(bad))
    with pytest.raises(InputError):
        load_untrusted(str(tmp_path / "missing.json"))


def test_only_selected_packages_are_evaluated() -> None:
    modules = [
        Module("a.rego", "package a\nimport rego.v1\ndeny contains 1 if true\n"),
        Module("b.rego", "package b\nimport rego.v1\ndeny contains 2 if true\n"),
    ]
    with RegorusEngine(modules, workers=1) as engine:
        assert engine.evaluate({}, packages={"a"}) == {"a": {"deny": [1], "warn": []}}
        assert engine.evaluate({}, packages=set()) == {}
        assert set(engine.evaluate({})) == {"a", "b"}
