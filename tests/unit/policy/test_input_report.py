"""The ``validate input`` report: Conforma's shape, verdicts and its four formats."""

from __future__ import annotations

import json

import pytest

from konflux_supply.errors import InputError
from konflux_supply.policy import (
    INPUT_FORMATS,
    ComponentError,
    InputFileReport,
    InputReport,
    parse_output,
    render,
)
from tests.unit.policy._helpers import POLICY, WHEN, result

CRASH = ComponentError("builtin.policy.evaluation", "timed out after 30 s", "policy")


def _report(*files: InputFileReport) -> InputReport:
    return InputReport(files, POLICY, WHEN)


def test_json_keeps_conformas_input_shape() -> None:
    report = _report(InputFileReport("in.yaml", success_count=2))
    document = json.loads(report.to_json())
    assert list(document) == ["success", "filepaths", "policy", "ec-version", "effective-time"]
    assert document["filepaths"] == [
        {
            "filepath": "in.yaml",
            "violations": [],
            "warnings": [],
            "successes": None,
            "success": True,
            "success-count": 2,
        }
    ]
    listed = InputFileReport("b", successes=(result("p.b", "Pass"), result("p.a", "Pass")))
    assert [r["metadata"]["code"] for r in listed.to_dict()["successes"]] == ["p.a", "p.b"]
    assert listed.success_count == 2
    assert json.loads(_report().to_json())["filepaths"] is None


@pytest.mark.parametrize(
    ("files", "strict", "code", "outcome"),
    [
        ([InputFileReport("a", success_count=1)], True, 0, "SUCCESS"),
        ([InputFileReport("a", warnings=(result("p.w"),))], True, 0, "WARNING"),
        ([InputFileReport("a", violations=(result("p.v"),))], True, 1, "FAILURE"),
        ([InputFileReport("a", violations=(result("p.v"),))], False, 0, "FAILURE"),
        ([InputFileReport("a", error=CRASH)], False, 3, "ERROR"),
    ],
)
def test_verdicts(files: list[InputFileReport], strict: bool, code: int, outcome: str) -> None:
    report = _report(*files)
    assert report.exit_code(strict=strict) == code
    assert report.result() == outcome
    assert f"Result: {outcome}\n" in render(report, "text").decode()


def test_text_lists_several_inputs_and_errors() -> None:
    report = _report(
        InputFileReport("a.yaml", violations=(result("p.v", "bad"),)),
        InputFileReport("b.yaml", error=CRASH),
    )
    text = render(report, "text").decode()
    assert (
        "\nInput Files:\n- FilePath: a.yaml\n  Violations: 1, Warnings: 0, Successes: 0\n\n" in text
    )
    assert "- FilePath: b.yaml\n  Error: timed out after 30 s\n" in text
    assert "  FilePath: a.yaml\n  Reason: bad\n" in text


def test_summary_and_formats() -> None:
    report = _report(InputFileReport("a.yaml", violations=(result("p.v"), result("p.v"))))
    assert json.loads(render(report, "summary")) == {
        "filepaths": [
            {
                "name": "a.yaml",
                "success": False,
                "violations": {"p.v": ["Fails", 'There are 1 more "p.v" messages']},
                "warnings": {},
                "successes": {},
                "total_violations": 2,
                "total_warnings": 0,
                "total_successes": 0,
            }
        ],
        "success": False,
        "key": "",
    }
    assert render(report, "json") == report.to_json() + b"\n"
    with pytest.raises(InputError, match="not available for validate input"):
        render(report, "junit")
    with pytest.raises(InputError, match="known formats: json, yaml, text, summary"):
        parse_output("appstudio", formats=INPUT_FORMATS)
