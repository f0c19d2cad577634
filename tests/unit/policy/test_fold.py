"""Rules that cannot depend on the input are evaluated once at load (``policy._fold``).

Each test is a Rego fixture of ours; the check is always the same: the folded engine gives
what the policy as written gives, for every input, and only what may be folded is folded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import PolicyError
from konflux_supply.policy import _fold, _memo, _regorus
from konflux_supply.policy.engine import Builtins, Module, RegorusEngine

DATA = {
    "tasks": {"build": [{"ref": "a", "expires": 3}, {"ref": "b", "expires": 1}], "test": []},
    "limits": {"max": 2},
}

LIB = """package acme.lib

import rego.v1

# derived from data only: folded
pruned[name] := kept if {
	some name, records in data.tasks
	kept := [r | some r in records; r.expires > 1]
}

names contains name if some name, _ in pruned

default ceiling := 10

ceiling := data.limits.max

nothing := 1 if false

# reads the input: stays
inputs := count(input.items)

# a function: never folded itself
allowed(name) if names[name]
"""

RULES = """package acme.rules

import rego.v1
import data.acme.lib

deny contains msg if {
	some item in input.items
	not lib.allowed(item)
	msg := sprintf("%s is not allowed", [item])
}

deny contains "too many" if lib.inputs > lib.ceiling

deny contains "never" if lib.nothing

warn contains msg if {
	input.items
	count(lib.pruned.build) < 2
	msg := "few build tasks"
}
"""


def _engine(modules: Mapping[str, str], fold: bool, **kwargs: Any) -> RegorusEngine:
    return RegorusEngine(
        [Module(path, text) for path, text in modules.items()],
        DATA,
        workers=0,
        fold=fold,
        **kwargs,
    )


def _plan(modules: Mapping[str, str]) -> _fold.FoldPlan:
    _parsed, plan = _regorus.analyse_and_plan(
        [Module(path, text) for path, text in modules.items()], {}
    )
    assert plan is not None
    return plan


def _folded(engine: RegorusEngine) -> int:
    """How many rules the in-process engine folded."""
    return int(engine._pool._compiled().folded)  # type: ignore[attr-defined]


def _answers(engine: RegorusEngine, inputs: Sequence[Any]) -> list[Any]:
    out = []
    for document in inputs:
        try:
            result = engine.evaluate(document)
        except PolicyError as error:  # the same error either way
            out.append(f"error: {error}")
            continue
        out.append(json.dumps(result, default=repr, sort_keys=True))
    return out


INPUTS = [{"items": []}, {"items": ["build", "x"]}, {"items": ["a"] * 12}, {}]


def test_data_only_rules_are_folded_and_answers_do_not_change() -> None:
    modules = {"lib.rego": LIB, "rules.rego": RULES}
    plan = _plan(modules)
    assert {rule.key for rule in plan.rules} == {
        "acme.lib.pruned",
        "acme.lib.names",
        "acme.lib.ceiling",
        "acme.lib.nothing",
    }
    plain, folded = _engine(modules, False), _engine(modules, True)
    try:
        assert _answers(folded, INPUTS) == _answers(plain, INPUTS)
        assert _folded(folded) == 4
    finally:
        plain.close()
        folded.close()


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("direct", "r := input.x"),
        ("aliased", "import input.x as y\n\nr := y"),
        ("through a function", "f(v) := v + count(input)\n\nr := f(1)"),
        ("through a rule", "q := input\n\nr := q"),
        ("with", "r := x if {\n\tx := data.acme.other.v with input as 1\n}"),
        ("dynamic data", 'k := "x"\n\nr := data[k]'),
        ("custom builtin", 'r := acme.fetch("x")'),
        ("effects", 'r := uuid.rfc4122("x")'),
        ("whole package", "r := data.acme"),
    ],
)
def test_what_may_depend_on_the_input_is_not_folded(name: str, body: str) -> None:
    text = f"package acme.t\n\nimport rego.v1\n\n{body}\n\ndeny contains 1 if r == 1\n"
    other = "package acme.other\n\nimport rego.v1\n\nv := input\n"
    plan = _plan({"t.rego": text, "other.rego": other})
    assert "acme.t.r" not in {rule.key for rule in plan.rules}, name


def test_clock_dependent_values_are_refreshed_after_the_ttl() -> None:
    text = "package acme.t\n\nimport rego.v1\n\nnow := time.now_ns()\n\nf(x) := [x, now]\n"
    modules = [Module("t.rego", text)]
    _parsed, plan = _regorus.analyse_and_plan(modules, {})
    assert plan is not None
    assert [rule.clock for rule in plan.rules] == [True]
    ticks = [0.0]
    compiled = _regorus.Compiled(_regorus.CompileSpec(tuple(modules), "{}", None, {}, fold=plan))
    folder = compiled._folder
    assert folder is not None
    folder._clock = lambda: ticks[0]
    folder._folded_at = 0.0
    first = compiled.query("data.acme.t.f(1)")
    ticks[0] = _fold.CLOCK_TTL - 1
    assert compiled.query("data.acme.t.f(1)") == first  # within the TTL: the same value
    ticks[0] = _fold.CLOCK_TTL + 1
    assert compiled.query("data.acme.t.f(1)")[1] > first[1]  # refolded


def test_a_value_with_a_nested_set_is_left_alone() -> None:
    text = (
        'package acme.t\n\nimport rego.v1\n\nnested := {"a": {1, 2}}\n\n'
        "deny contains 1 if nested.a[input.x]\n"
    )
    modules = [Module("t.rego", text)]
    _parsed, plan = _regorus.analyse_and_plan(modules, {})
    assert plan is not None
    assert [rule.key for rule in plan.rules] == ["acme.t.nested"]
    compiled = _regorus.Compiled(_regorus.CompileSpec(tuple(modules), "{}", None, {}, fold=plan))
    assert compiled.folded == 0
    assert compiled.query("data.acme.t.deny", json.dumps({"x": 1})) == [1]


def test_a_fold_that_fails_leaves_the_policy_as_written() -> None:
    # a conflict only shows when evaluated: folding gives up, the evaluation reports it
    text = (
        "package acme.t\n\nimport rego.v1\n\nr := 1\n\nr := 2 if data.flag\n\n"
        "deny contains 1 if input.x\n\nwarn contains r if input.y\n"
    )
    engine = RegorusEngine([Module("t.rego", text)], {"flag": True}, workers=0, fold=True)
    try:
        assert _folded(engine) == 0
        with pytest.raises(PolicyError, match=r"t\.rego:"):
            engine.evaluate({"y": True})
        assert engine.evaluate({"x": True}).get("acme.t", {}) is not None
    finally:
        engine.close()


def test_folded_rules_keep_their_lines_for_errors_below_them() -> None:
    text = (
        "package acme.t\n\nimport rego.v1\n\n"
        "big := [x |\n\tsome x in numbers.range(1, 5)\n]\n\n"
        "deny contains x if {\n\tsome y in big\n\tx := y / input.zero\n}\n"
    )
    plan = _plan({"t.rego": text})
    assert [rule.key for rule in plan.rules] == ["acme.t.big"]
    engine = _engine({"t.rego": text}, True)
    try:
        assert _folded(engine) == 1
        with pytest.raises(PolicyError, match=r"t\.rego:11"):
            engine.evaluate({"zero": 0})
    finally:
        engine.close()


def test_custom_builtins_are_never_called_at_load() -> None:
    calls: list[Any] = []

    def fetch(value: Any) -> Any:
        calls.append(value)
        return {"ok": value}

    text = (
        'package demo.t\n\nimport rego.v1\n\nremote := acme.fetch("constant")\n\n'
        "deny contains 1 if remote.ok == input.x\n"
    )
    engine = RegorusEngine(
        [Module("t.rego", text)],
        workers=0,
        builtins=Builtins(lambda _context: {"acme.fetch": (1, fetch)}),
        fold=True,
    )
    try:
        assert calls == []
        assert engine.evaluate({"x": "constant"})["demo.t"]["deny"]  # type: ignore[index]
        assert calls == ["constant"]
    finally:
        engine.close()


# -- property: random policies of data-only and input rules give the same answers -----------

_TEMPLATES: list[Callable[[int, int], str]] = [
    lambda i, j: f"r{i} := count(data.tasks.build) + {j}",
    lambda i, j: f"r{i} := count(input.items) + {j}",
    lambda i, j: f"r{i} contains x if {{\n\tsome x in [1, 2, {j}]\n}}",
    lambda i, j: f"r{i}[k] := v if {{\n\tsome k, v in data.limits\n\tv > {j}\n}}",
    lambda i, j: f"r{i} := [x | some x in r{j}] if not is_number(r{j})",
    lambda i, j: f"r{i} := x if {{\n\tx := r{j}\n\tinput.flag\n}}",
    lambda i, j: f"default r{i} := {j}\n\nr{i} := 7 if count(data.tasks.test) > {j}",
    lambda i, j: f"f{i}(a) := [a, r{j}]\n\nr{i} := f{i}({j})",
    lambda i, j: (
        f"g{i}(a) := [a, count(input.items)] if a != 2\n\n"
        f"r{i} := [g{i}(x) | some x in r{j}] if not is_number(r{j})"
    ),
]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_TEMPLATES) - 1), st.integers(0, 9)), min_size=1, max_size=8
    ),
    st.lists(st.booleans(), min_size=1, max_size=3),
)
def test_folded_and_unfolded_policies_agree(
    choices: list[tuple[int, int]], flags: list[bool]
) -> None:
    rules = []
    for index, (template, number) in enumerate(choices):
        refer = number % max(index, 1)  # only earlier rules: no cycles
        rendered = _TEMPLATES[template](index, refer if template in (4, 5, 7, 8) else number)
        if template in (4, 5, 7, 8) and index == 0:
            rendered = _TEMPLATES[0](index, number)
        rules.append(rendered)
    names = " ".join(f"r{index}" for index in range(len(choices)))
    body = "\n\n".join(rules)
    text = (
        f"package acme.p\n\nimport rego.v1\n\n{body}\n\n"
        f'deny contains [n, v] if {{\n\tsome n in split("{names}", " ")\n'
        "\tv := data.acme.p[n]\n}\n"
    )
    inputs = [{"items": [1] * len(flags), "flag": flag} for flag in flags]
    plain, folded = _engine({"p.rego": text}, False), _engine({"p.rego": text}, True)
    try:
        assert _answers(folded, inputs) == _answers(plain, inputs)
    finally:
        plain.close()
        folded.close()


# -- memoised calls -------------------------------------------------------------------------

MEMO = """package acme.memo

import rego.v1

items := input.items

expand(item) := {"name": item.name, "size": count(item.parts)} if item.parts

deny contains msg if {
	some item in items
	info := expand(item)
	info.size > 1
	msg := sprintf("%s is too big", [info.name])
}

deny contains msg if {
	some item in items
	names := {n | some other in items; n := expand(other).name}
	count(names) < count(items)
	msg := expand(item).name
}
"""

TWICE = """package acme.twice

import rego.v1

expand(item) := item

# an inner `some item` shadows the outer one: neither call is memoised
warn contains x if {
	some item in input.items
	x := [y | some item in [1]; y := expand(item)]
	expand(item)
}
"""


def test_calls_over_the_elements_of_a_rule_are_memoised_and_answers_do_not_change() -> None:
    plan = _plan({"memo.rego": MEMO})
    tables = [(".".join(t.function[1:]), t.domain) for t in plan.memo.tables]
    assert tables == [("acme.memo.expand", "data.acme.memo.items")]
    assert len(plan.memo.sites) == 3  # the deny rules' three calls
    assert _plan({"twice.rego": TWICE}).memo.sites == ()
    module = plan.memo.module()
    assert module is not None
    # `expand` is also redirected: the table is computed by its renamed original definition
    assert "m0 := {__konflux_x: data.acme.memo.__konflux_orig_expand(__konflux_x)" in module[1]
    inputs = [
        {"items": [{"name": "a", "parts": [1, 2]}, {"name": "b", "parts": []}, {"name": "c"}]},
        {"items": [{"name": "a", "parts": [1]}, {"name": "a", "parts": [1]}]},
        {"items": "not a list"},
        {},
    ]
    plain, memoised = _engine({"memo.rego": MEMO}, False), _engine({"memo.rego": MEMO}, True)
    try:
        assert _answers(memoised, inputs) == _answers(plain, inputs)
    finally:
        plain.close()
        memoised.close()


def test_functions_with_effects_are_not_memoised() -> None:
    text = (
        "package demo.m\n\nimport rego.v1\n\nfetch(x) := acme.get(x)\n\n"
        "deny contains y if {\n\tsome x in input.xs\n\ty := fetch(x)\n}\n"
    )
    _parsed, plan = _regorus.analyse_and_plan([Module("m.rego", text)], {"acme.get": 1})
    assert plan is not None
    assert plan.memo.sites == ()


REDIRECT = """package acme.redirect

import rego.v1

atts := [a | some a in input.attestations]

tasks(att) := [t | some t in att.tasks]

names(att) := {t.name | some t in tasks(att)}

# the site that gives `tasks` its table over `atts`
deny contains t.name if {
	some att in atts
	some t in tasks(att)
	not t.ok
}

# a call with a parameter: read through the redirect
warn contains n if {
	some att in atts
	some n in names(att)
	startswith(n, "x")
}
"""


def test_memoised_functions_are_redirected_unless_that_makes_a_cycle() -> None:
    plan = _plan({"redirect.rego": REDIRECT})
    redirected = {".".join(r.function[1:]) for r in plan.memo.redirects}
    assert redirected == {"acme.redirect.tasks", "acme.redirect.names"}
    inputs = [
        {"attestations": [{"tasks": [{"name": "xa", "ok": True}, {"name": "b"}]}]},
        {"attestations": [{"tasks": []}, {"tasks": [{"name": "x"}]}]},
        {"attestations": "nope"},
    ]
    plain, memoised = _engine({"r.rego": REDIRECT}, False), _engine({"r.rego": REDIRECT}, True)
    try:
        assert _answers(memoised, inputs) == _answers(plain, inputs)
    finally:
        plain.close()
        memoised.close()


CYCLE = """package acme.cycle

import rego.v1

f(x) := count(x.items)

# f's only table iterates `listed`, whose computation calls f: redirecting f would loop
listed := [y | some y in input.things; f(y) > 0]

deny contains n if {
	some y in listed
	n := f(y)
}

warn contains n if {
	some y in input.things
	n := f(y) + 1
}
"""


def test_a_redirect_that_could_loop_back_to_its_table_is_not_made() -> None:
    plan = _plan({"cycle.rego": CYCLE})
    tables = [(t.function[-1], t.domain) for t in plan.memo.tables]
    assert ("f", "data.acme.cycle.listed") in tables
    assert plan.memo.redirects == ()  # the sites still read their tables
    inputs = [{"things": [{"items": [1]}, {"items": []}]}, {"things": []}]
    plain, memoised = _engine({"c.rego": CYCLE}, False), _engine({"c.rego": CYCLE}, True)
    try:
        assert _answers(memoised, inputs) == _answers(plain, inputs)
    finally:
        plain.close()
        memoised.close()


def test_a_policy_with_with_is_not_memoised() -> None:
    text = MEMO + '\ntest_like if {\n\tdeny with input as {"items": []}\n}\n'
    assert _plan({"memo.rego": text}).memo == _memo.MemoPlan()


JSON_INEXACT = """package acme.inexact

import rego.v1

numbered := {1: "one", 2: "two"} if data.limits.max
indexed[i] := r.ref if some i, r in data.tasks.build
composite := {["a", 1]: "pair"} if true
huge := 99999999999999999999 + 1

deny contains v if v := numbered[input.k]
deny contains v if v := indexed[input.k]
deny contains v if { input.k == 1; v := composite[["a", 1]] }
deny contains "huge" if { input.k == 1; huge > 99999999999999999999 }
"""


def test_values_json_cannot_carry_back_are_not_folded() -> None:
    # OPA 1.4.2 (checked with `opa eval` on this module and DATA) denies "one", "b", "pair" and
    # "huge" for input {"k": 1}: a folded value read back from JSON had string keys ("1") and
    # a float for the big integer, and denied nothing
    modules = {"inexact.rego": JSON_INEXACT}
    plain, folded = _engine(modules, False), _engine(modules, True)
    try:
        assert (
            folded.evaluate({"k": 1})["acme.inexact"]["deny"]
            == (plain.evaluate({"k": 1})["acme.inexact"]["deny"])
        )
        assert sorted(folded.evaluate({"k": 1})["acme.inexact"]["deny"]) == sorted(
            ["one", "b", "pair", "huge"]
        )
        assert _folded(folded) == 0
    finally:
        plain.close()
        folded.close()


SHADOW_RULE = """package acme.shadow

import rego.v1

items := ["p", "q"]

f(x) := concat("", [x, "!"])

deny contains r if {
	some x in items
	input.on
	r := f(x)
}
"""

SHADOW_LOCALS = """package acme.shadow

import rego.v1

k(items) := r if {
	some x in items
	x == "a"
	r := f(x)
}

deny contains r if r := k(input.l)

deny contains r if {
	items := input.l
	some x in items
	r := f(x)
}
"""


def test_a_local_named_like_a_rule_of_another_file_is_not_that_rule() -> None:
    # `items` in shadow.rego is an argument or a local, not the rule of rules.rego: memoising
    # f(x) over data.acme.shadow.items lost "a!" and "b!" (OPA 1.4.2 answers as asserted,
    # checked with `opa eval` on both modules and the same input)
    modules = {"rules.rego": SHADOW_RULE, "shadow.rego": SHADOW_LOCALS}
    plain, memoised = _engine(modules, False), _engine(modules, True)
    try:
        for engine in (plain, memoised):
            found = engine.evaluate({"l": ["a", "b"], "on": True})["acme.shadow"]["deny"]
            assert sorted(found) == ["a!", "b!", "p!", "q!"]
    finally:
        plain.close()
        memoised.close()


MEMO_UNUSED_ELEMENTS = """package acme.unused

import rego.v1

tenfold(v) := v * 10

one(v) := 1 if v == "a"

one(v) := 2 if v == "a"

one(v) := 3 if v != "a"

deny contains r if {
	some v in input.vals
	is_number(v)
	r := tenfold(v)
}

deny contains r if {
	some v in input.vals
	v == "b"
	r := one(v)
}

deny contains r if {
	input.boom
	r := tenfold("x")
}
"""


def test_an_error_for_an_element_no_caller_uses_does_not_fail_the_evaluation() -> None:
    # OPA 1.4.2 answers deny {10, 3} for this input (checked with `opa eval`); unmemoised
    # regorus does too; memoised, `"a" * 10` or the two outputs of one("a") abort, and the
    # evaluation is run again on the policy as written, which answers as OPA
    modules = {"unused.rego": MEMO_UNUSED_ELEMENTS}
    memoised = _engine(modules, True)
    try:
        found = memoised.evaluate({"vals": [1, "a", "b"]})["acme.unused"]["deny"]
        assert sorted(found) == [3, 10]
        # and a real error still names the author's line, not the memo module
        with pytest.raises(PolicyError, match=r"unused\.rego:"):
            memoised.evaluate({"vals": [1, "b", {"not": "a number"}], "boom": True})
    finally:
        memoised.close()
