"""``--output`` parsing, every rendering, and all-or-nothing writing."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.policy import (
    FORMATS,
    ComponentError,
    ComponentReport,
    OutputTarget,
    RenderOptions,
    parse_output,
    parse_outputs,
    render,
    write_outputs,
)
from konflux_supply.policy._goformat import go_v, wrap
from konflux_supply.policy.report import BUILTIN_POLICY_EVALUATION
from tests.unit.policy._helpers import component, reports, result
from tests.unit.policy._helpers import report as make_report

CRASH = ComponentError(BUILTIN_POLICY_EVALUATION, "the engine crashed (SIGSEGV)", "policy")
CREATED = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)

# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "target"),
    [
        ("json", OutputTarget("json")),
        ("yaml=out.yaml", OutputTarget("yaml", "out.yaml")),
        ("=out.json", OutputTarget("json", "out.json")),
        ("json=", OutputTarget("json")),
        (
            "text=r.txt?show-successes=true&show-warnings=F",
            OutputTarget("text", "r.txt", RenderOptions(show_successes=True, show_warnings=False)),
        ),
        (
            "text?show-policy-docs-link=1",
            OutputTarget("text", None, RenderOptions(show_policy_docs_link=True)),
        ),
        ("text?show-successes=", OutputTarget("text")),
        ("junit=a=b.xml", OutputTarget("junit", "a=b.xml")),
    ],
)
def test_parse_output(spec: str, target: OutputTarget) -> None:
    assert parse_output(spec) == target


def test_parse_output_options_start_from_the_commands_defaults() -> None:
    defaults = RenderOptions(show_successes=True, color=True)
    assert parse_output("text", defaults=defaults).options == defaults
    assert parse_output("text?show-successes=false", defaults=defaults).options == RenderOptions(
        color=True
    )
    assert parse_outputs([], defaults=defaults) == [OutputTarget("text", None, defaults)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("xml", "known formats: json, yaml, text"),
        ("vsa=x", "unknown output format 'vsa'"),
        ("text?show-success=true", "unknown output option 'show-success'"),
        ("text?show-successes=yes", "must be true or false"),
        ("text?show-successes", "malformed options"),
    ],
)
def test_parse_output_rejects(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse_output(spec)
    assert caught.value.field == "--output"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_output_raises_only_input_errors(spec: str) -> None:
    try:
        target = parse_output(spec)
    except InputError:
        return
    assert target.format in FORMATS


# -- renderings ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(reports, st.sampled_from([f for f in FORMATS if f != "policy-input"]))
def test_every_format_renders_every_report(report: Any, fmt: str) -> None:
    data = render(report, fmt, RenderOptions(show_successes=True))
    assert data.endswith(b"\n")
    if fmt in ("json", "appstudio", "hacbs", "summary"):
        json.loads(data)
    elif fmt == "yaml":
        assert yaml.safe_load(data) == json.loads(report.to_json())
    elif fmt == "junit":
        ET.fromstring(data)


def test_summary_condenses_and_its_success_is_the_reports() -> None:
    c = ComponentReport(
        "app",
        "img",
        violations=(result("p.a", "one"), result("p.a", "two"), result("p.a", "three")),
        successes=(result("p.s", "Pass"),),
        success_count=4,
    )
    passing = make_report(component("img2", successes=1))
    summary = json.loads(render(make_report(c, snapshot="snap"), "summary"))
    assert summary == {
        "snapshot": "snap",
        "components": [
            {
                "name": "app",
                "success": False,
                "violations": {"p.a": ["one", 'There are 2 more "p.a" messages']},
                "warnings": {},
                "successes": {"p.s": ["Pass"]},
                "total_violations": 3,
                "total_warnings": 0,
                "total_successes": 4,
            }
        ],
        "success": False,
        "key": "",
    }
    assert json.loads(render(passing, "summary"))["success"] is True


@pytest.mark.parametrize(
    ("components", "result_", "note"),
    [
        ([component("a", successes=1)], "SUCCESS", None),
        ([component("a", successes=1, warnings=1)], "WARNING", None),
        ([component("a")], "SKIPPED", None),
        ([component("a", violations=1, successes=1)], "FAILURE", None),
        ([component("a", error=CRASH)], "ERROR", "Error: a: the engine crashed (SIGSEGV)"),
        (
            [component("a", error=CRASH), component("b", error=CRASH)],
            "ERROR",
            "Error: b: the engine crashed (SIGSEGV) (and 1 more)",
        ),
        ([component("a", error=CRASH), component("b", violations=1)], "FAILURE", None),
    ],
)
def test_appstudio_result(
    components: list[ComponentReport], result_: str, note: str | None
) -> None:
    report = make_report(*components, created=CREATED)
    document = json.loads(render(report, "appstudio"))
    assert document["result"] == result_
    assert document.get("note") == note
    assert document["timestamp"] == str(int(CREATED.timestamp()))
    assert document["namespace"] == ""


def test_text_shows_the_error_and_the_no_verdict_result() -> None:
    text = render(make_report(component("registry/a@sha256:1", error=CRASH)), "text").decode()
    assert text.startswith(
        "Success: false\nResult: ERROR\nViolations: 1, Warnings: 0, Successes: 0\n"
    )
    assert "Error: the engine crashed (SIGSEGV)\n" in text
    assert "Reason: Could not be evaluated: the engine crashed (SIGSEGV)\n" in text
    assert "[Violation] builtin.policy.evaluation" in text


def test_text_wraps_long_reasons_at_130_columns_and_prints_term_lists() -> None:
    long = " ".join(["word"] * 60)
    c = ComponentReport("n", "img", warnings=(result("p.r", long, term=["a", "b"]),))
    text = render(make_report(c), "text").decode()
    lines = text.splitlines()
    reason = next(line for line in lines if line.startswith("  Reason:"))
    assert len(reason) <= 130
    assert lines[lines.index(reason) + 1].startswith("  word")
    assert "  Terms: a, b" in lines
    hidden = render(make_report(c), "text", RenderOptions(show_warnings=False)).decode()
    assert "Results:" not in hidden


def test_junit_marks_errors_apart_and_escapes_like_go() -> None:
    c = ComponentReport(
        'a"b',
        "img",
        violations=(result("p.r", "bad <x> & ]]> end", term=["t1", "t2"]),),
        warnings=(result("p.w", "warn"),),
        signatures=({"keyid": "k", "sig": "s", "metadata": {"b": "2", "a": "1"}},),
        error=CRASH,
    )
    xml = render(make_report(c, key="L1\nL2", created=CREATED), "junit").decode()
    assert xml.startswith('<testsuites tests="3" errors="1" failures="1" skipped="1">')
    assert (
        'name="a&#34;b (img)" tests="3" failures="1" errors="1" id="0" skipped="1" time=""' in xml
    )
    assert 'timestamp="2026-05-06T07:08:09Z"' in xml
    assert '<property name="key" value="L1&#xA;L2"></property>' in xml
    names = [p.split('"')[1] for p in xml.split("<property name=")[1:]]
    assert names == ["image", "key", "success", "keyId", "signature", "metadata.a", "metadata.b"]
    assert "<![CDATA[bad <x> & ]]]]><![CDATA[> end]]>" in xml
    assert 'name="p.r: bad &lt;x&gt; &amp; ]]&gt; end [term=[t1 t2]]"' in xml
    assert '<error message="Could not be evaluated: the engine crashed (SIGSEGV)">' in xml
    assert '<skipped message="warn">' in xml
    tree = ET.fromstring(xml)
    assert tree.find("testsuite/testcase/error") is not None
    assert render(make_report(), "junit") == b"<testsuites></testsuites>\n"


def test_markdown_summary() -> None:
    text = render(make_report(component("a", successes=2), created=CREATED), "summary-markdown")
    assert text.decode().splitlines()[2:] == [
        "| Time | 2026-05-06 07:08:09 |  |",
        "| Successes | 2 | :white_check_mark: |",
        "| Failures | 0 | :white_check_mark: |",
        "| Warnings | 0 | :white_check_mark: |",
        "| Result |  | :white_check_mark: |",
    ]


def test_policy_input_and_attestation_are_json_lines() -> None:
    report = make_report(component("a"), component("b"))
    inputs: list[bytes | dict[str, Any]] = [b'{"image":{"ref":"b"}}\n', {"image": {"ref": "a&"}}]
    assert render(report, "policy-input", policy_inputs=inputs) == (
        b'{"image":{"ref":"b"}}\n{"image":{"ref":"a\\u0026"}}\n'
    )
    statements = render(report, "attestation").splitlines()
    assert statements == [b'{"_type":"https://in-toto.io/Statement/v0.1"}'] * 2


def test_go_value_formatting() -> None:
    assert go_v([1, "a", None, True, {"b": 1.5, "a": []}]) == "[1 a <nil> true map[a:[] b:1.5]]"
    assert go_v(1000000) == "1e+06"
    assert go_v(1e-5) == "1e-05"
    assert go_v(0.25) == "0.25"


@pytest.mark.parametrize(
    ("text", "width", "wrapped"),
    [
        ("aaa bbb ccc", 7, "aaa bbb\nccc"),
        ("aaaaaaaaaa b", 4, "aaaaaaaaaa\nb"),
        ("a\nb  c", 3, "a\nb\nc"),
        ("a\u00a0b c", 3, "a\u00a0b\nc"),
        ("ends with space ", 20, "ends with space "),
        ("a\x1fb c", 3, "a\x1fb\nc"),
        ("a\u3000b", 2, "a\nb"),
    ],
)
def test_wrap_like_go_wordwrap(text: str, width: int, wrapped: str) -> None:
    assert wrap(text, width) == wrapped


# -- writing ---------------------------------------------------------------------------------


def test_write_outputs_files_and_stdout(tmp_path: Path) -> None:
    report = make_report(component("a", violations=1))
    targets = parse_outputs(
        [f"json={tmp_path / 'r.json'}", "appstudio", f"junit={tmp_path / 'r.xml'}", "text"]
    )
    stdout = io.BytesIO()
    write_outputs(report, targets, stdout=stdout)
    assert (tmp_path / "r.json").read_bytes() == report.to_json() + b"\n"
    assert (tmp_path / "r.xml").read_bytes().startswith(b"<testsuites")
    out = stdout.getvalue().decode()
    assert out.startswith('{"timestamp"')
    assert "\nSuccess: false\n" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.xml"]


def test_write_outputs_is_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_bytes(b"old")
    targets = parse_outputs(
        [
            f"json={tmp_path / 'old.json'}",
            f"yaml={tmp_path / 'new.yaml'}",
            f"text={tmp_path / 'no' / 'x'}",
        ]
    )
    stdout = io.BytesIO()
    with pytest.raises(InputError) as caught:
        write_outputs(make_report(component("a")), targets, stdout=stdout)
    assert caught.value.source == str(tmp_path / "no" / "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]
    assert (tmp_path / "old.json").read_bytes() == b"old"
    assert stdout.getvalue() == b""
