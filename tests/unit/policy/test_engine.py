"""The embedded engine: one query for every package's deny/warn, builtins, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from konflux_supply.errors import InputError, PolicyError
from konflux_supply.policy import Builtins, Module, RegorusEngine, read_modules
from tests.unit.policy import _engine_builtins as _helpers

POLICY = Module(
    "policy/release/sample.rego",
    """package release.sample

import rego.v1

deny contains msg if {
\tsome value in input.values
\tvalue > data.rule_data.limit
\tmsg := sprintf("value %d is over the limit", [value])
}

deny_objects contains {"code": "sample.object", "msg": "an object"} if input.object

violation_legacy contains "legacy" if input.legacy

warn contains "a warning" if input.warn

warn_extra contains "extra" if input.warn

helper := 1
""",
)
MAIN = Module("policy/main.rego", 'package main\n\nviolation contains "main" if input.main\n')
DATA = {"rule_data": {"limit": 2}}


@pytest.fixture(scope="module")
def engine() -> Iterator[RegorusEngine]:
    with RegorusEngine([POLICY, MAIN], DATA, workers=1) as built:
        yield built


def test_one_query_gathers_every_deny_and_warn_rule_per_package(engine: RegorusEngine) -> None:
    result = engine.evaluate(
        {"values": [1, 3], "object": True, "legacy": True, "warn": True, "main": True}
    )
    assert result == {
        "main": {"deny": ["main"], "warn": []},
        "release.sample": {
            "deny": [
                "value 3 is over the limit",
                {"code": "sample.object", "msg": "an object"},
                "legacy",
            ],
            "warn": ["a warning", "extra"],
        },
    }
    assert engine.packages == ("main", "release.sample")


def test_input_is_swapped_between_evaluations(engine: RegorusEngine) -> None:
    assert engine.evaluate({"values": [5]})["release.sample"]["deny"] == [
        "value 5 is over the limit"
    ]
    assert engine.evaluate({})["release.sample"] == {"deny": [], "warn": []}


def test_query_reads_one_rule(engine: RegorusEngine) -> None:
    assert engine.query("data.release.sample.helper") == 1
    assert engine.query("data.release.sample.missing") is None


def test_in_process_mode_gives_the_same_answer() -> None:
    with RegorusEngine([POLICY], DATA, workers=0) as engine:
        assert engine.evaluate({"values": [9]})["release.sample"]["deny"] == [
            "value 9 is over the limit"
        ]


def test_evaluate_many_spreads_over_workers() -> None:
    with RegorusEngine([POLICY], DATA, workers=2) as engine:
        results = engine.evaluate_many([{"values": [n]} for n in range(6)])
    assert [len(r["release.sample"]["deny"]) for r in results] == [0, 0, 0, 1, 1, 1]


BUILTIN_POLICY = Module(
    "b.rego",
    """package b

import rego.v1

deny contains sprintf("got %v", [x]) if x := test.echo(input.value)

deny contains "undefined" if not test.echo(input.value)

mock(_) := "mocked"

test_mocked if deny == {"got mocked"} with test.echo as mock
""",
)


def test_a_builtin_runs_in_the_worker_with_the_evaluation_context() -> None:
    builtins = Builtins(_helpers.echo_builtins, "default")
    with RegorusEngine([BUILTIN_POLICY], builtins=builtins) as engine:
        assert engine.evaluate({"value": 1})["b"]["deny"] == ['got {"ctx": "default", "x": 1}']
        assert engine.evaluate({"value": 1}, builtins_context="component-7")["b"]["deny"] == [
            'got {"ctx": "component-7", "x": 1}'
        ]


def test_a_builtin_returning_none_is_undefined_never_null() -> None:
    with RegorusEngine([BUILTIN_POLICY], builtins=Builtins(_helpers.echo_builtins)) as engine:
        denies = engine.evaluate({"value": "none"})["b"]["deny"]
        assert denies == ["undefined"]
        assert "null" not in repr(denies)
        assert engine.query("data.b.test_mocked", {"value": 1}) is True


def test_a_builtin_may_not_shadow_a_standard_one() -> None:
    with pytest.raises(InputError, match="shadow"):
        RegorusEngine([POLICY], builtins=Builtins(_helpers.shadowing_builtins))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("package p\n\nx := http.send({})\n", 3, "http.send is not allowed"),
        ('package p\n\nx := net.lookup_ip_addr("example.com")\n', 3, "net.lookup_ip_addr"),
        ("package p\n\nx := opa.runtime().env\n", 3, "opa.runtime is not allowed"),
        ("package p\n\nf(x) := f(x)\n", 3, "recursive function"),
        ("package p\n\nf(x) := g(x)\n\ng(x) := f(x)\n", 3, "data.p.f -> data.p.g -> data.p.f"),
        ("package p\n\ndeny contains x if {\n\tx := \n}\n", 4, "does not compile"),
    ],
)
def test_load_time_refusals_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        RegorusEngine([Module("bad.rego", text)])
    assert caught.value.source == f"bad.rego:{line}"


def test_recursion_across_packages_through_an_import_is_refused() -> None:
    modules = [
        Module("a.rego", "package a\n\nimport data.b\n\nf(x) := b.g(x)\n"),
        Module("b.rego", "package b\n\nimport data.a as other\n\ng(x) := other.f(x)\n"),
    ]
    with pytest.raises(InputError, match="recursive"):
        RegorusEngine(modules)


def test_mocking_a_refused_builtin_is_not_a_call() -> None:
    text = (
        "package p\n\nimport rego.v1\n\nmock(_) := 1\n\ntest_x if 1 == 1 with http.send as mock\n"
    )
    with RegorusEngine([Module("m.rego", text)], workers=0) as engine:
        assert engine.packages == ()


def test_a_runtime_error_is_a_policy_error_naming_the_line() -> None:
    text = "package p\n\nimport rego.v1\n\ndeny contains x if x := to_number(input.n)\n"
    with RegorusEngine([Module("e.rego", text)]) as engine, pytest.raises(PolicyError) as caught:
        engine.evaluate({"n": "not a number"})
    assert "e.rego:5" in caught.value.message


def test_a_crash_is_a_policy_error_and_the_worker_is_replaced() -> None:
    crashing = Module("crash.rego", "package c\n\nf(x) := f(x)\n\ndeny contains 1 if f(input.go)\n")
    calm = Module("calm.rego", 'package calm\n\ndeny contains "calm" if input.calm\n')
    with RegorusEngine([crashing, calm], _check_recursion=False, timeout=30) as engine:
        with pytest.raises(PolicyError, match="crashed"):
            engine.evaluate({"go": 1})
        with pytest.raises(PolicyError, match="SIGSEGV"):
            engine.evaluate({"go": 2})


def test_a_mutual_recursion_crash_is_an_error_too() -> None:
    module = Module(
        "m.rego", "package m\n\nf(x) := g(x)\n\ng(x) := f(x)\n\ndeny contains 1 if f(1)\n"
    )
    with (
        RegorusEngine([module], _check_recursion=False) as engine,
        pytest.raises(PolicyError, match="crashed"),
    ):
        engine.evaluate({})


def test_the_pool_recovers_after_a_crash() -> None:
    module = Module(
        "m.rego",
        "package m\n\nimport rego.v1\n\nf(x) := f(x)\n\n"
        "deny contains 1 if { input.crash; f(1) }\n\ndeny contains 2 if input.two\n",
    )
    with RegorusEngine([module], _check_recursion=False) as engine:
        with pytest.raises(PolicyError):
            engine.evaluate({"crash": True})
        assert engine.evaluate({"two": True}) == {"m": {"deny": [2], "warn": []}}


def test_a_hang_times_out_as_a_policy_error_and_the_pool_recovers() -> None:
    module = Module(
        "s.rego",
        "package s\n\nimport rego.v1\n\ndeny contains 1 if test.sleep(input.seconds)\n",
    )
    builtins = Builtins(_helpers.sleepy_builtins)
    with RegorusEngine([module], builtins=builtins, timeout=1.0) as engine:
        with pytest.raises(PolicyError, match="timed out"):
            engine.evaluate({"seconds": 30})
        assert engine.evaluate({"seconds": 0}) == {"s": {"deny": [1], "warn": []}}


def test_a_panic_in_the_engine_is_a_policy_error() -> None:
    module = Module("p.rego", "package p\n\nimport rego.v1\n\ndeny contains 1 if test.panic(1)\n")
    builtins = Builtins(_helpers.panicking_builtins)
    with RegorusEngine([module], builtins=builtins) as engine:
        with pytest.raises(PolicyError, match="panic"):
            engine.evaluate({})
        with pytest.raises(PolicyError, match="panic"):
            engine.evaluate({})


def test_input_that_is_not_json_is_an_input_error(engine: RegorusEngine) -> None:
    with pytest.raises(InputError, match="input"):
        engine.evaluate({"x": object()})


def test_read_modules_finds_rego_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.rego").write_text("package x\n")
    (tmp_path / "a" / "notes.txt").write_text("no")
    assert [m.text for m in read_modules([tmp_path])] == ["package x\n"]
    with pytest.raises(InputError):
        read_modules([tmp_path / "missing"])


def test_an_abandoned_request_does_not_leak_its_answers_into_the_next() -> None:
    from konflux_supply.policy import _regorus, _workers

    text = "package t\n\nimport rego.v1\n\ntest_a if true\n\ntest_b if false\n"
    spec = _regorus.CompileSpec((Module("t.rego", text),), "{}", None, {})
    worker = _workers.Worker(None)
    try:
        answers = worker.stream("tests", (spec, ["data.t.test_a", "data.t.test_b"]), 30)
        assert next(answers)[1] == "data.t.test_a"
        answers.close()  # abandoned with test_b's answer still in flight
        again = list(worker.stream("tests", (spec, ["data.t.test_a"]), 30))
        assert [(ref, value) for _tag, ref, _kind, value, _ns in again] == [("data.t.test_a", True)]
    finally:
        worker.close()


def test_running_out_of_memory_under_the_limit_is_a_policy_error() -> None:
    module = Module(
        "m.rego",
        "package m\n\nimport rego.v1\n\n"
        "deny contains n if { input.big; n := count(numbers.range(1, 200000000)) }\n\n"
        "deny contains 1 if input.small\n",
    )
    with RegorusEngine([module], memory_limit_mb=1024) as engine:
        with pytest.raises(PolicyError, match="crashed"):
            engine.evaluate({"big": True})
        assert engine.evaluate({"small": True}) == {"m": {"deny": [1], "warn": []}}
