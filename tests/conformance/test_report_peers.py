"""Our report renderings equal Conforma's expected outputs for the same report data.

Reports are read from the JSON that Conforma's acceptance snapshots hold
(``cli/features/__snapshots__/validate_image.snap``), rendered again, and compared after
putting back the snapshot's placeholders (time stamps, the key's XML form). The unit-test
snapshots (``report_test.snap``) are compared for report data built here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from konflux_supply.policy import (
    ComponentReport,
    InputFileReport,
    InputReport,
    RenderOptions,
    Report,
    render,
)
from konflux_supply.policy.builtin_checks import builtin_result

pytestmark = pytest.mark.conformance

FEATURES = "conforma/cli/features/__snapshots__/validate_image.snap"
UNIT = "conforma/cli/internal/applicationsnapshot/__snapshots__/report_test.snap"
WHEN = "2026-01-02T03:04:05Z"
WHEN_DT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _blocks(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(r"^\[(.+?)\]\n(.*?)^---\n", re.S | re.M)
    return {m.group(1): m.group(2)[:-1] for m in pattern.finditer(text)}


@pytest.fixture(scope="module")
def features(peers: Path) -> dict[str, str]:
    path = peers / FEATURES
    if not path.is_file():
        pytest.skip(f"{FEATURES} not in the peer corpus")
    return _blocks(path)


@pytest.fixture(scope="module")
def unit_snaps(peers: Path) -> dict[str, str]:
    path = peers / UNIT
    if not path.is_file():
        pytest.skip(f"{UNIT} not in the peer corpus")
    return _blocks(path)


def _report(features: dict[str, str], name: str) -> Report:
    report = Report.from_json(features[name].replace("${TIMESTAMP}", WHEN))
    return Report(
        report.components,
        report.policy,
        report.effective_time,
        key=report.key,
        snapshot=report.snapshot,
        ec_version=report.ec_version,
        created=WHEN_DT,
    )


def test_every_json_report_reads_back_to_the_same_bytes_order_included(
    features: dict[str, str],
) -> None:
    checked, problems = 0, []
    for name, value in features.items():
        if not value.startswith("{") or '"ec-version"' not in value:
            continue
        source = value.replace("${TIMESTAMP}", WHEN)
        report = Report.from_json(source)
        # The snapshot is indented; field order is compared by reading both as pair lists.
        expected = json.loads(source, object_pairs_hook=list)
        if json.loads(report.to_json(), object_pairs_hook=list) != expected:
            problems.append(name)
        checked += 1
    assert checked >= 40
    assert not problems


def test_text_with_format_options(features: dict[str, str]) -> None:
    report = _report(features, "TestFeatures/Format options:${TMPDIR}/output.json - 1")
    options = RenderOptions(show_successes=False, show_policy_docs_link=True)
    text = render(report, "text", options).decode()
    assert text == features["TestFeatures/Format options:stdout - 1"]


def test_detailed_colored_text(features: dict[str, str]) -> None:
    report = _report(features, "TestFeatures/detailed failures output:stdout - 1")
    options = RenderOptions(show_successes=True, show_policy_docs_link=True, color=True)
    text = render(report, "text", options).decode()
    assert text == features["TestFeatures/detailed failures output:${TMPDIR}/output.txt - 1"]


def test_junit(features: dict[str, str]) -> None:
    # The JUnit scenario runs the same policy and image as "Format options" (with successes).
    report = _report(features, "TestFeatures/Format options:${TMPDIR}/output.json - 1")
    xml = render(report, "junit").decode().replace(WHEN, "${TIMESTAMP}")
    xml = xml.replace("${known_PUBLIC_KEY_JSON}", "${known_PUBLIC_KEY_XML}")
    assert xml == features["TestFeatures/JUnit and AppStudio output format:stdout - 1"]


def test_appstudio(features: dict[str, str]) -> None:
    report = _report(features, "TestFeatures/Format options:${TMPDIR}/output.json - 1")
    got = json.loads(render(report, "appstudio"))
    expected = json.loads(features["TestFeatures/JUnit and AppStudio output format:stdout - 2"])
    assert got == {**expected, "timestamp": str(int(WHEN_DT.timestamp()))}
    assert list(got) == list(expected)
    assert render(report, "hacbs") == render(report, "appstudio")


def test_yaml(features: dict[str, str]) -> None:
    name = "TestFeatures/happy day with git config and yaml:stdout - 1"
    report = _report(features, name)
    expected = json.loads(features[name].replace("${TIMESTAMP}", WHEN))
    assert yaml.safe_load(render(report, "yaml")) == expected


def _results(kind: str, count: int, *, detailed: bool = True) -> tuple[dict[str, Any], ...]:
    # The data of Conforma's Test_TextReport: the first result has every field, the second
    # only a code.
    first: dict[str, Any] = {"code": f"{kind.lower()}-1"}
    if detailed:
        for field in ("title", "description", "solution"):
            first[field] = f"{kind} 1 {field}"
    results = [{"msg": f"{kind} 1 message", "metadata": first}]
    results += [
        {"msg": f"{kind} {i} message", "metadata": {"code": f"{kind.lower()}-{i}"}}
        for i in range(2, count + 1)
    ]
    return tuple(results)


def test_text_report_unit_snapshots(unit_snaps: dict[str, str]) -> None:
    violations = _results("Violation", 2)
    warnings = _results("Warning", 2)
    successes = _results("Success", 2)
    components = [
        ComponentReport("", "registry.io/repository/component-1:tag", violations=violations),
        ComponentReport("", "registry.io/repository/component-2:tag", warnings=warnings),
        ComponentReport("", "registry.io/repository/component-3:tag", successes=successes),
        ComponentReport(
            "",
            "registry.io/repository/component-4:tag",
            violations=violations,
            warnings=warnings,
            successes=successes,
        ),
    ]
    report = Report(tuple(components), {}, EPOCH)
    options = RenderOptions(show_successes=True, show_warnings=True, show_policy_docs_link=True)
    # Conforma keeps the components in the order given; ours sorts them (descending), so
    # the expected text is compared with the components' blocks in that order.
    text = render(report, "text", options).decode()
    expected = unit_snaps["Test_TextReport/bunch - 1"]
    assert text.splitlines()[:3] == expected.splitlines()[:3]

    def chunks(rendered: str) -> list[str]:
        parts = [
            p.removeprefix("Components:\n").removeprefix("Results:\n")
            for p in rendered.split("\n\n")
        ]
        return sorted(parts)

    assert chunks(text) == chunks(expected)
    assert text.index("Results:") > text.index("Components:")

    empty = render(Report((), {}, EPOCH), "text").decode()
    # An empty report passes vacuously here (as Conforma's NewReport); the snapshot was made
    # from a zero Report struct, whose Success is false.
    assert empty == unit_snaps["Test_TextReport/nothing - 1"].replace("false", "true", 1)


@pytest.mark.parametrize(
    ("case", "violations", "warnings", "successes", "snapshot"),
    [
        ("One_Warning_and_One_Success", 0, 1, 1, ""),
        ("One_Failure_and_One_Violation", 1, 1, 0, ""),
        ("Multiple_Failure_and_One_Violation", 3, 2, 0, ""),
        ("With_success", 0, 0, 3, ""),
        ("With_Snapshot", 2, 2, 0, "snappy"),
    ],
)
def test_markdown_summary_unit_snapshots(
    unit_snaps: dict[str, str],
    case: str,
    violations: int,
    warnings: int,
    successes: int,
    snapshot: str,
) -> None:
    # ("One failure and One Success" is left out: its data is a component that both has a
    # violation and claims success, which our model cannot hold.)
    component = ComponentReport(
        "",
        "",
        violations=tuple({"msg": f"failure{i}"} for i in range(violations)),
        warnings=tuple({"msg": f"Warning{i}"} for i in range(warnings)),
        successes=tuple({"msg": f"Success{i}"} for i in range(successes)),
    )
    report = Report((component,), {}, EPOCH, snapshot=snapshot, created=EPOCH)
    assert (
        render(report, "summary-markdown").decode()
        == unit_snaps[f"Test_GenerateMarkdownSummary/{case} - 1"]
    )


# -- validate input --------------------------------------------------------------------------

INPUT = "conforma/cli/features/__snapshots__/validate_input.snap"


@pytest.fixture(scope="module")
def input_snaps(peers: Path) -> dict[str, str]:
    path = peers / INPUT
    if not path.is_file():
        pytest.skip(f"{INPUT} not in the peer corpus")
    return _blocks(path)


def _input_report(document: dict[str, Any]) -> InputReport:
    files = tuple(
        InputFileReport(
            f["filepath"],
            violations=tuple(f["violations"]),
            warnings=tuple(f["warnings"]),
            successes=None if f["successes"] is None else tuple(f["successes"]),
            success_count=f["success-count"],
        )
        for f in document["filepaths"]
    )
    return InputReport(files, document["policy"], WHEN_DT, ec_version=document["ec-version"])


def test_input_reports_json_in_conformas_order(input_snaps: dict[str, str]) -> None:
    checked = 0
    for value in input_snaps.values():
        if not value.startswith("{"):
            continue
        source = value.replace("${TIMESTAMP}", WHEN)
        report = _input_report(json.loads(source))
        assert json.loads(report.to_json(), object_pairs_hook=list) == json.loads(
            source, object_pairs_hook=list
        )
        checked += 1
    assert checked >= 4


def test_input_report_yaml(input_snaps: dict[str, str]) -> None:
    value = input_snaps["TestFeatures/multiple data source top level key map merging:stdout - 1"]
    expected = yaml.safe_load(value.replace("${TIMESTAMP}", WHEN))
    report = _input_report(expected)
    assert yaml.safe_load(render(report, "yaml")) == expected


def test_input_report_text(input_snaps: dict[str, str]) -> None:
    passed = InputFileReport(
        "pipeline_definition.yaml",
        successes=({"msg": "Pass", "metadata": {"code": "main.acceptor"}},),
    )
    report = InputReport((passed,), {}, WHEN_DT)
    options = RenderOptions(show_successes=True, color=True)
    expected = input_snaps["TestFeatures/valid policy URL with text output:stdout - 1"]
    assert render(report, "text", options).decode() == expected


def test_builtin_results_match_conformas(features: dict[str, str]) -> None:
    for name, detailed in (
        ("TestFeatures/detailed failures output:stdout - 1", True),
        ("TestFeatures/Format options:${TMPDIR}/output.json - 1", False),
    ):
        successes = json.loads(features[name].replace("${TIMESTAMP}", WHEN))["components"][0][
            "successes"
        ]
        builtins = [s for s in successes if s["metadata"]["code"].startswith("builtin.")]
        assert len(builtins) == 3
        for success in builtins:
            code = success["metadata"]["code"]
            assert builtin_result(code, detailed=detailed) == success
