"""``# METADATA`` parsing: rule and package annotations, codes, errors with file and line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.policy import Module
from konflux_supply.policy.annotations import package_infos, parse_module, rule_infos

SOURCE = """# METADATA
# title: Release checks
# description: >-
#   Checks made on every release.
# custom:
#   collections_declared: [minimal]
#   rule_data:
#     allowed_values: values that may appear
package release.checks

import rego.v1

# METADATA
# title: Value allowed
# description: The value must be one of the allowed values.
# custom:
#   short_name: value_allowed
#   failure_msg: Value %s is not allowed
#   solution: Use an allowed value.
#   collections: [minimal, konflux]
#   depends_on: [checks.value_present]
#   effective_on: 2024-05-01T00:00:00Z
#   severity: warning
#   pipeline_intention: [release]
deny contains result if {
\tresult := "x"
}

# METADATA
# title: Value present
# description: A value is given.
# custom:
#   short_name: value_present
#   failure_msg: No value
warn contains "no value" if not input.value

# a helper without annotations
helper := 1

deny_unannotated contains 1 if false
"""


def test_rule_annotations_become_rule_infos_keyed_by_code() -> None:
    infos = rule_infos([Module("checks.rego", SOURCE)])
    assert sorted(infos) == ["checks.value_allowed", "checks.value_present"]
    allowed = infos["checks.value_allowed"]
    assert allowed.package == "release.checks"
    assert allowed.kind == "deny"
    assert allowed.title == "Value allowed"
    assert allowed.failure_msg == "Value %s is not allowed"
    assert allowed.collections == ("minimal", "konflux")
    assert allowed.depends_on == ("checks.value_present",)
    assert allowed.effective_on == "2024-05-01T00:00:00Z"  # a string, not a datetime
    assert allowed.severity == "warning"
    assert allowed.pipeline_intention == ("release",)
    assert (allowed.file, allowed.line) == ("checks.rego", 25)
    present = infos["checks.value_present"]
    assert present.kind == "warn"
    assert present.collections == ()


def test_package_annotation_declares_collections_and_rule_data() -> None:
    (info,) = package_infos([Module("checks.rego", SOURCE)])
    assert info.package == "release.checks"
    assert info.title == "Release checks"
    assert info.description == "Checks made on every release."
    assert info.collections_declared == ("minimal",)
    assert info.rule_data == {"allowed_values": "values that may appear"}


def test_every_deny_and_warn_head_is_listed_with_its_annotation() -> None:
    parsed = parse_module(Module("checks.rego", SOURCE))
    heads = [
        (name, line, annotation is not None) for name, line, annotation in parsed.deny_warn_rules
    ]
    assert heads == [("deny", 25, True), ("warn", 35, True), ("deny_unannotated", 40, False)]


def test_two_rules_with_the_same_code_are_an_error() -> None:
    text = SOURCE.replace("short_name: value_present", "short_name: value_allowed")
    with pytest.raises(
        InputError, match=r"two rules with the code checks\.value_allowed"
    ) as caught:
        rule_infos([Module("checks.rego", text)])
    assert caught.value.source == "checks.rego:35"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("# title: [unclosed\n", "not valid YAML"),
        ("# - a list\n", "YAML mapping"),
        ("# scope: galaxy\n", "unknown annotation scope"),
        ("# custom: 3\n", "expected a mapping"),
        ("# custom:\n#   short_name: x\n#   collections: {a: 1}\n", "list of strings"),
    ],
)
def test_malformed_blocks_name_file_and_line(block: str, message: str) -> None:
    text = f"package p\n\n# METADATA\n{block}deny contains 1 if true\n"
    with pytest.raises(InputError, match=message) as caught:
        rule_infos([Module("bad.rego", text)])
    assert caught.value.source == "bad.rego:3"


def test_quoted_package_segments_join_with_dots() -> None:
    parsed = parse_module(Module("q.rego", 'package release["odd-name"].x\n'))
    assert parsed.package == "release.odd-name.x"


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
)
_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(title=_TEXT, short_name=_NAME, collections=st.lists(_NAME, max_size=4), warn=st.booleans())
def test_round_trip_of_generated_annotations(
    title: str, short_name: str, collections: list[str], warn: bool
) -> None:
    block = (
        "# METADATA\n"
        f"# title: {json.dumps(title, ensure_ascii=False)}\n"
        "# custom:\n"
        f"#   short_name: {json.dumps(short_name)}\n"
        f"#   collections: {json.dumps(collections)}\n"
    )
    head = "warn" if warn else "deny"
    text = f"package gen.pkg\n\nimport rego.v1\n\n{block}{head} contains 1 if true\n"
    infos = rule_infos([Module("g.rego", text)])
    info = infos[f"pkg.{short_name}"]
    assert info.title == title
    assert info.collections == tuple(collections)
    assert info.kind == head
    assert info.line == 10


@settings(max_examples=200, deadline=None)
@given(body=st.lists(st.text(max_size=30), max_size=6), after=st.text(max_size=30))
def test_arbitrary_comment_blocks_raise_only_input_errors(body: list[str], after: str) -> None:
    block = "".join(f"#{line.replace(chr(10), ' ').replace(chr(13), ' ')}\n" for line in body)
    text = f"package fuzz\n\n# METADATA\n{block}{after}\ndeny contains 1 if true\n"
    source = None
    try:
        rule_infos([Module("f.rego", text)])
        package_infos([Module("f.rego", text)])
    except InputError as error:
        source = error.source or ""
    assert source is None or source.startswith("f.rego:")
