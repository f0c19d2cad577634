"""Each source rewrite of ``compat.prepare`` on a Rego fixture of ours using the same idiom."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.policy import _compat_metadata, compat
from tests.unit.policy._compat_helpers import engine, prepared, value

LIB = """package acme.lib

import rego.v1

# METADATA
# title: Greeting
# description: Says hello.
# custom:
#   short_name: hello
#   failure_msg: Hello %s
#   effective_on: 2024-05-06T00:00:00Z
#   collections: [alpha, beta]
greet(name) := sprintf("Hello %s", [name])

double(x) := x * 2

words := ["a", "b"]
"""


def test_metadata_chain_in_opa_shape() -> None:
    source = """# METADATA
# title: Pets
# description: Rules about pets.
package acme.pets

import rego.v1

# METADATA
# title: No cats
# description: Cats are not allowed.
# custom:
#   short_name: no_cats
#   effective_on: 2024-05-06T00:00:00Z
#   collections: [alpha]
deny contains result if {
	result := rego.metadata.chain()
}

plain := rego.metadata.chain()

annotations := rego.metadata.rule()

bare := rego.metadata.rule()
"""
    found = engine({"pets.rego": source})
    chain = value(found, "data.acme.pets.deny")[0]
    assert chain == [
        {
            "path": ["data", "acme", "pets", "deny"],
            "annotations": {
                "scope": "rule",
                "title": "No cats",
                "description": "Cats are not allowed.",
                # a YAML timestamp stays a string, as OPA reads annotations through JSON
                "custom": {
                    "short_name": "no_cats",
                    "effective_on": "2024-05-06T00:00:00Z",
                    "collections": ["alpha"],
                },
            },
        },
        {
            "path": ["data", "acme", "pets"],
            "annotations": {
                "scope": "package",
                "title": "Pets",
                "description": "Rules about pets.",
            },
        },
    ]
    # a rule without annotations: its entry has only a path
    assert value(found, "data.acme.pets.plain")[0] == {"path": ["data", "acme", "pets", "plain"]}
    assert value(found, "data.acme.pets.bare") == {}


def test_metadata_rule_returns_the_rule_annotations() -> None:
    source = """package acme.one

import rego.v1

# METADATA
# title: One
# custom:
#   short_name: one
deny contains rego.metadata.rule() if true
"""
    assert value(engine({"one.rego": source}), "data.acme.one.deny") == [
        {"scope": "rule", "title": "One", "custom": {"short_name": "one"}}
    ]


def test_import_alias_and_whole_package_import_resolve_to_data_references() -> None:
    source = """package acme.user

import rego.v1

import data.acme.lib
import data.acme.lib as l2

a := lib.greet("x")

b := l2.double(21)

c := count(lib.words)
"""
    text = prepared(source)
    assert "data.acme.lib.greet(" in text
    assert "data.acme.lib.double(" in text
    assert text.count("\n") == source.count("\n")  # line numbers are kept
    found = engine({"lib.rego": LIB, "user.rego": source})
    assert value(found, "data.acme.user.a") == "Hello x"
    assert value(found, "data.acme.user.b") == 42
    assert value(found, "data.acme.user.c") == 2


def test_a_local_that_shadows_an_import_or_a_rule_stays_local() -> None:
    source = """package acme.shadow

import rego.v1

import data.acme.lib

expected := "rule value"

images := [{"ref": "a"}, {"ref": "b"}]

refs := [lib | some lib in images]

pairs contains [k, expected] if {
	some k, expected in {"x": 1}
}

picked := expected if {
	expected := lib.double(2)
}

still_rule := expected
"""
    found = engine({"lib.rego": LIB, "shadow.rego": source})
    assert value(found, "data.acme.shadow.refs") == [{"ref": "a"}, {"ref": "b"}]
    assert value(found, "data.acme.shadow.pairs") == [["x", 1]]
    assert value(found, "data.acme.shadow.picked") == 4
    assert value(found, "data.acme.shadow.still_rule") == "rule value"


def test_output_argument_call_becomes_an_assignment() -> None:
    source = """package acme.out

import rego.v1

import data.acme.lib

result if {
	lib.double(4, eight)
	eight == 8
}

checked if lib.double(4, 8)

wrong if lib.double(4, 9)
"""
    text = dict(compat.prepare([("lib.rego", LIB), ("out.rego", source)]))["out.rego"]
    assert "eight = data.acme.lib.double(4)" in text
    found = engine({"lib.rego": LIB, "out.rego": source})
    assert value(found, "data.acme.out.result") is True
    assert value(found, "data.acme.out.checked") is True
    with pytest.raises(KeyError):
        value(found, "data.acme.out.wrong")


def test_ec_builtins_are_routed_so_with_can_mock_them() -> None:
    source = """package acme.blobs

import rego.v1

size := count(ec.oci.blob("registry.local/x@sha256:abc"))
"""
    tests = """package acme.blobs_test

import rego.v1

import data.acme.blobs

_blob(_ref) := "four"

test_mocked if blobs.size == 4 with ec.oci.blob as _blob
"""
    found = engine({"blobs.rego": source, "blobs_test.rego": tests})
    assert value(found, "data.acme.blobs_test.test_mocked") is True
    # offline stubs are undefined (never null) without the mock
    with pytest.raises(KeyError):
        value(found, "data.acme.blobs.size")


def test_with_value_is_evaluated_outside_the_with_scope() -> None:
    # regorus evaluates a rule the ``with`` value depends on as undefined inside the scope
    source = """package acme.names

import rego.v1

label := "REPORTS"

found contains r if {
	some r in input.results
	r.name == label
}
"""
    tests = """package acme.names_test

import rego.v1

import data.acme.names

_results := [{"name": names.label}, {"name": "other"}]

test_found if count(names.found) == 1 with input.results as _results
"""
    text = prepared(tests, "names_test.rego")
    assert "__with_0 := _results;" in text
    found = engine({"names.rego": source, "names_test.rego": tests})
    assert value(found, "data.acme.names_test.test_found") is True


def test_identical_function_definitions_in_two_files_are_kept_once() -> None:
    one = 'package acme.dup\n\nwrap(items) := {"items": items}\n\nfirst := wrap([1])\n'
    two = 'package acme.dup\n\nwrap(items) := {"items": items}\n\nsecond := wrap([2])\n'
    found = engine({"one.rego": one, "two.rego": two})
    assert value(found, "data.acme.dup.first") == {"items": [1]}
    assert value(found, "data.acme.dup.second") == {"items": [2]}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('[x | some x in "spam"]', []),
        ("[x | some x in 1]", []),
        ('[v | some k, v in {"a": 1}]', [1]),
        ('object.get("not an object", "k", "default")', None),
        ('concat(",", ["a", 1])', None),
        ('concat(",", ["a", "b"])', "a,b"),
        ('array.concat({"a": 1}, [])', None),
        ("regex.match(1, 2)", None),
        ('object.union([], {"a": 1})', None),
        ('time.parse_ns("2006-01-02", "23-01-01")', None),
        ('time.parse_ns("2006-01-02", "2023-01-02")', 1672617600000000000),
    ],
)
def test_builtin_type_errors_are_undefined_as_in_opa(expression: str, expected: Any) -> None:
    source = f"package acme.guard\n\nimport rego.v1\n\nresult := {expression}\n"
    found = engine({"guard.rego": source})
    if expected is None:
        with pytest.raises(KeyError):
            value(found, "data.acme.guard.result")
    else:
        assert value(found, "data.acme.guard.result") == expected


def test_iterating_walk_yields_each_path_and_value() -> None:
    source = """package acme.walk

import rego.v1

found contains v if {
	some pair in walk({"a": {"annotations": {"x": "y"}}})
	v := pair.annotations
}
"""
    assert value(engine({"walk.rego": source}), "data.acme.walk.found") == [{"x": "y"}]


def test_a_module_that_does_not_parse_is_returned_unchanged() -> None:
    broken = "package acme.broken\n\nthis is not rego {\n"
    out = dict(compat.prepare([("broken.rego", broken)]))
    assert out["broken.rego"] == broken
    assert compat.SUPPORT_MODULE_PATH in out


_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_SCALARS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 -:.", min_size=1, max_size=20)


@given(st.dictionaries(_KEYS, _SCALARS | st.lists(_SCALARS, max_size=3), max_size=4))
def test_metadata_block_round_trips_custom_values(custom: dict[str, Any]) -> None:
    # quoted: PyYAML's dumper writes plain what YAML 1.1 reads as a string, but yaml.v3 (OPA)
    # reads some of those as numbers ("08" is 8); plain scalars are checked against OPA below
    body = yaml.safe_dump(
        {"title": "T", "custom": custom}, default_flow_style=False, default_style='"'
    )
    lines = ["package acme.gen", "", "# METADATA", *[f"# {line}" for line in body.splitlines()]]
    lines.append("allow := true")
    found = _compat_metadata.block_above(lines, len(lines))
    assert found is not None
    assert found["custom"] == custom  # strings stay strings (no dates, numbers or booleans)


@settings(deadline=None)  # a shared, loaded host: no timing in tests
@given(st.text(max_size=200))
def test_prepare_never_raises_on_arbitrary_text(text: str) -> None:
    out = compat.prepare([("fuzz.rego", text)])
    assert out[-1][0] == compat.SUPPORT_MODULE_PATH
    assert out[0][0] == "fuzz.rego"


@given(st.lists(st.text(alphabet="# METADATAtile:x\n-", max_size=30), max_size=8))
def test_block_above_only_raises_annotation_errors(lines: list[str]) -> None:
    lines = [line.replace("\n", "") for line in lines] + ["allow := true"]
    with contextlib.suppress(_compat_metadata.AnnotationError):
        _compat_metadata.block_above(lines, len(lines))


def test_with_values_under_not_are_left_in_place() -> None:
    # hoisted, an undefined value would fail the body where OPA evaluates the negation
    source = """package acme.neg

import rego.v1

unset := {"flag": false}

holds if {
	not input.flag with input as unset
}
"""
    text = prepared(source)
    assert "__with_" not in text
    assert value(engine({"neg.rego": source}), "data.acme.neg.holds") is True


SPRINTF = """package acme.fmt

import rego.v1

plain := sprintf("%s/%v", [input.a, input.b])

dynamic := sprintf(input.format, [input.a])

mixed := sprintf("%s has %d", [input.a, 3])
"""


@pytest.mark.parametrize(
    ("a", "b"),
    [("x", "y"), ("é\u0001", "%d"), (1, "y"), (["l"], {"k": 1}), (None, True), (1.5, "z")],
)
def test_sprintf_with_string_verbs_is_exact_with_and_without_the_fast_path(a: Any, b: Any) -> None:
    text = prepared(SPRINTF)
    assert "b__sprintf_s2(" in text  # literal format, %s/%v only: the fast path
    assert text.count("b__sprintf(") == 2  # a dynamic format and a %d keep the override
    go_sprintf = compat.overrides()["sprintf"][1]
    module = engine({"fmt.rego": SPRINTF})
    module.set_input_json(json.dumps({"a": a, "b": b, "format": "<%s>"}))
    assert value(module, "data.acme.fmt.plain") == go_sprintf("%s/%v", [a, b])
    assert value(module, "data.acme.fmt.dynamic") == go_sprintf("<%s>", [a])
    assert value(module, "data.acme.fmt.mixed") == go_sprintf("%s has %d", [a, 3])


ITERATION = """package acme.iter

import rego.v1

pairs contains [k, v] if some k, v in {"a": 1}

listed := [x | some x in [1, 2]]

names(xs) := {n | some n in xs}

from_rule := [x | some x in pairs]

from_function := [x | some x in names(["a"])]

from_union := [x | some x in pairs | {1}]

from_builtin := [x | some x in object.keys({"a": 1})]

from_input := [x | some x in input.items]

from_param(xs) := [x | some x in xs]
"""


def test_only_iteration_over_what_may_not_be_a_collection_is_guarded() -> None:
    text = prepared(ITERATION)
    guarded = [line for line in text.splitlines() if "konflux_compat.collection(" in line]
    # input and parameters can be anything; everything else above is always a collection
    heads = [line.split(" :=")[0] for line in guarded]
    assert heads == ["names(xs)", "from_input", "from_param(xs)"]
    module = engine({"iter.rego": ITERATION})
    module.set_input_json(json.dumps({"items": "not a collection"}))
    assert value(module, "data.acme.iter.from_input") == []  # undefined iteration, as OPA
    assert value(module, "data.acme.iter.from_rule") == [["a", 1]]
    assert value(module, "data.acme.iter.from_union") == [1, ["a", 1]]


NEGATION = """package acme.neg

import rego.v1

f(x) := "ok" if x == "yes"

g(x) := x

call_with_missing_ref if { not f(input.nope) }
builtin_with_missing_ref if { not startswith(input.nope, "x") }
operator_with_missing_ref if { not input.nope != 1 }
count_of_missing if { not count(input.nope) > 0 }
nested_call_under_equality if { not f("c") == "ok" }
collection_under_equality if { not [input.nope] == [1] }
object_argument if { not g({"a": input.nope}) }
membership if { not input.nope in {1} }
plain_ref if { not input.nope }
ref_under_equality if { not input.nope == 1 }
unification if { not input.nope = 1 }
constant_call if { not f("c") }
defined_argument if { not f(input.no) }
single_line if not f(input.nope)
"""

#: What OPA 1.4.2 answers (checked with `opa eval` on this module and input {"no": "no"}).
NEGATION_OPA = {
    "plain_ref",
    "ref_under_equality",
    "unification",
    "constant_call",
    "defined_argument",
}


def test_negated_calls_evaluate_their_arguments_first_as_opa_does() -> None:
    module = engine({"neg.rego": NEGATION})
    module.set_input_json(json.dumps({"no": "no"}))
    answers = value(module, "data.acme.neg")
    assert {name for name, answer in answers.items() if answer is True} == NEGATION_OPA
    text = prepared(NEGATION)
    assert len(text.splitlines()) == len(NEGATION.splitlines())  # lines kept


METADATA_DATES = """package acme.dates

import rego.v1

# METADATA
# custom:
#   date: 2025-07-01
#   short: 2024-5-6
#   stamp: 2024-05-06T00:00:00.500Z
#   offset: 2024-05-06T01:02:03+02:00
#   utc_offset: 2024-05-06T01:02:03+00:00
#   spaced: 2024-05-06 01:02:03
#   quoted: "2025-07-01"
#   no_zone: 2024-05-06T01:02:03
#   not_a_day: 2024-02-30
#   listed: [2025-07-01]
r := rego.metadata.rule()
"""


def test_metadata_timestamps_are_read_as_opa_reads_them() -> None:
    module = engine({"dates.rego": METADATA_DATES})
    # OPA 1.4.2's answers for the same block (yaml.v3 timestamps printed as RFC 3339 by Go)
    assert value(module, "data.acme.dates.r.custom") == {
        "date": "2025-07-01T00:00:00Z",
        "short": "2024-05-06T00:00:00Z",
        "stamp": "2024-05-06T00:00:00.5Z",
        "offset": "2024-05-06T01:02:03+02:00",
        "utc_offset": "2024-05-06T01:02:03Z",
        "spaced": "2024-05-06T01:02:03Z",
        "quoted": "2025-07-01",
        "no_zone": "2024-05-06T01:02:03",
        "not_a_day": "2024-02-30",
        "listed": ["2025-07-01T00:00:00Z"],
    }


NEGATED_REFERENCES = """package acme.negref

import rego.v1

missing_index if { not input.m[input.nope] }
missing_index_under_equality if { not input.m[input.nope] == 1 }
missing_call_index if { not input.m[count(input.nope)] }
missing_index_single_line if not input.m[input.nope]
missing_nested_index if { not input.m[input.k][input.nope] }
defined_index if { not input.m[input.k] }
defined_index_under_equality if { not data.acme.negref.words[input.k] == "x" }
local_index if { k := "k"; not input.m[k] }

words := ["a"]
"""


def test_a_negated_reference_evaluates_its_brackets_first_as_opa_does() -> None:
    module = engine({"negref.rego": NEGATED_REFERENCES})
    module.set_input_json(json.dumps({"k": "k", "m": {}}))
    answers = value(module, "data.acme.negref")
    # OPA 1.4.2's answer (checked with `opa eval -i` on this module and the same input): an
    # undefined reference inside brackets makes the statement undefined, not the `not` true
    assert {name for name, answer in answers.items() if answer is True} == {
        "defined_index",
        "defined_index_under_equality",
        "local_index",
    }
    text = prepared(NEGATED_REFERENCES)
    assert len(text.splitlines()) == len(NEGATED_REFERENCES.splitlines())  # lines kept


@pytest.mark.parametrize(
    ("written", "opa"),
    [  # OPA 1.4.2's answers (checked with `opa eval` on rego.metadata.rule() of each)
        ("2024-01-01T00:00:00,5Z", "2024-01-01T00:00:00.5Z"),
        ("2024-01-01 01:02:03,25", "2024-01-01T01:02:03.25Z"),
        ("2024-01-01T00:00:00.1234567899999Z", "2024-01-01T00:00:00.123456789Z"),
        ("2024-01-01  1:2:3.000", "2024-01-01T01:02:03Z"),
        ("2024-01-01 01:02:03.", "2024-01-01 01:02:03."),
        ("2024-01-01T1:2:3.Z", "2024-01-01T1:2:3.Z"),
        ("2024-01-01T00:00:00+1:00", "2024-01-01T00:00:00+1:00"),
    ],
)
def test_metadata_timestamps_with_go_layout_leeway(written: str, opa: str) -> None:
    text = (
        "package acme.stamp\n\nimport rego.v1\n\n"
        f"# METADATA\n# custom:\n#   at: {written}\nr := rego.metadata.rule()\n"
    )
    assert value(engine({"stamp.rego": text}), "data.acme.stamp.r.custom.at") == opa


@pytest.mark.parametrize(
    ("written", "opa"),
    [  # OPA 1.4.2's answers (checked with `opa eval` on rego.metadata.rule() of each): yaml.v3
        ("yes", "yes"),
        ("Off", "Off"),
        ("TRUE", True),
        ("tRue", "tRue"),
        ("0o17", 15),
        ("012", 10),
        ("09", 9),
        ("0X1f", 31),
        ("1e3", 1000),
        ("1_000.5", 1000.5),
        ("1:20", "1:20"),
        ("0x", "0x"),
        ("_1", "_1"),
        ("9223372036854775808", 9223372036854775808),
    ],
)
def test_metadata_plain_scalars_are_resolved_as_yaml_v3_does(written: str, opa: Any) -> None:
    text = (
        "package acme.scalar\n\nimport rego.v1\n\n"
        f"# METADATA\n# custom:\n#   v: {written}\nr := rego.metadata.rule()\n"
    )
    assert value(engine({"scalar.rego": text}), "data.acme.scalar.r.custom.v") == opa


NEGATED_UNDER_WITH = """package acme.negwith

import rego.v1

f(x) := x == "a"

other_target if { not f(input.a) with data.q as 1 }
input_replaced if { not f(input.a) with input as {"b": 1} }
input_defined if { not f(input.a) with input as {"a": "b"} }
builtin if { not startswith(input.a, "x") with input.z as 1 }
single_line if not f(input.a) with data.q as 1
"""


def test_negated_call_arguments_are_evaluated_under_the_statements_with() -> None:
    module = engine({"negwith.rego": NEGATED_UNDER_WITH})
    module.set_input_json("{}")
    answers = value(module, "data.acme.negwith")
    # OPA 1.4.2's answer (checked with `opa eval -i` on this module and input {})
    assert {name for name, answer in answers.items() if answer is True} == {"input_defined"}
    text = prepared(NEGATED_UNDER_WITH)
    assert len(text.splitlines()) == len(NEGATED_UNDER_WITH.splitlines())  # lines kept


NEGATED_COLLECTIONS = """package acme.negcoll

import rego.v1

array_of_missing if { not [input.nope] }
object_of_missing if { not {"k": input.nope} }
set_of_missing if { not {input.nope} }
in_else := 1 if { not [input.nope] } else := 2
array_of_defined if { not [input.k] }
"""


def test_a_negated_collection_holding_a_reference_is_built_first_as_opa_does() -> None:
    module = engine({"negcoll.rego": NEGATED_COLLECTIONS})
    module.set_input_json(json.dumps({"k": "k"}))
    # OPA 1.4.2's answer (checked with `opa eval -i` on this module and the same input):
    # undefined statements, and a defined collection is true (so `not` is false)
    assert value(module, "data.acme.negcoll") == {"in_else": 2}
