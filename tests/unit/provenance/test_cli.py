"""``konflux-supply provenance``: the CLI contract (DESIGN.md "Contracts the CLI keeps")."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konflux_supply import provenance
from konflux_supply.cli import main

RUNS = Path(__file__).resolve().parents[3] / "fixtures" / "provenance" / "runs"
TASK_RUN = str(RUNS / "taskrun-build-image.yaml")
PIPELINE = str(RUNS / "pipelinerun-build.yaml")
CHILDREN = [
    str(RUNS / n) for n in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
]


@pytest.mark.parametrize("fmt", provenance.FORMATS)
def test_prints_the_exact_statement_bytes(
    fmt: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["provenance", TASK_RUN, "--format", fmt]) == 0
    out = capsysbinary.readouterr().out
    expected = provenance.generate(yaml.safe_load(Path(TASK_RUN).read_text()), format=fmt).to_json()
    assert out == expected + b"\n"


def test_pipeline_run_with_children_and_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    json_run = tmp_path / "run.json"
    json_run.write_text(json.dumps(yaml.safe_load(Path(PIPELINE).read_text())))
    args = ["provenance", str(json_run), "--format", "slsa/v2alpha4", "--deep-inspection"]
    args += [
        "--builder-id",
        "https://builder.example.com",
        "--build-type",
        provenance.TEKTON_BUILD_TYPE,
    ]
    for child in CHILDREN:
        args += ["--child", child]
    assert main(args) == 0
    captured = capsys.readouterr()
    statement = json.loads(captured.out)
    assert statement["predicate"]["runDetails"]["builder"]["id"] == "https://builder.example.com"
    assert statement["predicate"]["buildDefinition"]["buildType"] == provenance.TEKTON_BUILD_TYPE
    assert captured.err == ""


def test_warnings_go_to_stderr_and_name_the_child_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    child = yaml.safe_load(Path(CHILDREN[2]).read_text())
    del child["status"]["completionTime"]
    child_file = tmp_path / "notify.yaml"
    child_file.write_text(yaml.safe_dump(child))
    assert main(["provenance", PIPELINE, "--format", "slsa/v1", "--child", str(child_file)]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert (
        f"konflux-supply: warning: {child_file} (app-build-7x2kq-show-summary): ignored"
        in captured.err
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--format", "slsa/v9"], "Invalid value for '--format'"),
        ([], "Missing option '--format'"),
        (
            ["--format", "slsa/v2alpha3", "--build-type", "x"],
            "--build-type: unsupported build type",
        ),
    ],
)
def test_usage_errors(args: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provenance", TASK_RUN, *args]) == 2
    assert expected in capsys.readouterr().err


def test_bad_input_names_file_and_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = yaml.safe_load(Path(TASK_RUN).read_text())
    run["status"]["sidecars"][0]["imageID"] = "quay.example.com/tools/registry:2.8"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(run))
    assert main(["provenance", str(bad), "--format", "slsa/v1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        f"konflux-supply: invalid input: {bad}: status.sidecars[0].imageID: "
    )
    assert "Traceback" not in captured.err


def test_bad_child_names_the_child_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    child = tmp_path / "child.json"
    child_run = yaml.safe_load(Path(CHILDREN[2]).read_text())
    child_run["status"]["steps"][0]["imageID"] = "x"
    child.write_text(json.dumps(child_run))
    assert main(["provenance", PIPELINE, "--format", "slsa/v2alpha3", "--child", str(child)]) == 2
    assert f"invalid input: {child}: status.steps[0].imageID: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "invalid JSON"),
        ("a: [", "invalid JSON or YAML"),
        ("[]", "must be a JSON/YAML object"),
        ("kind: Deployment\n", "kind 'Deployment' is not supported"),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ],
)
def test_unreadable_runs(
    content: str, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "run.json"
    path.write_text(content)
    assert main(["provenance", str(path), "--format", "slsa/v1"]) == 2
    assert message in capsys.readouterr().err


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["provenance", str(tmp_path / "nope.json"), "--format", "slsa/v1"]) == 2
    assert "cannot read file" in capsys.readouterr().err


def test_cli_formats_match_the_library() -> None:
    from konflux_supply.cli import _provenance

    assert _provenance.FORMATS == provenance.FORMATS


def test_too_deep_child_names_the_child_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    child = tmp_path / "deep-child.json"
    child.write_text("[" * 100000 + "]" * 100000)
    assert main(["provenance", PIPELINE, "--format", "slsa/v1", "--child", str(child)]) == 2
    assert f"invalid input: {child}: the document is nested too deeply" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["directory", "missing", "unreadable"])
def test_unusable_child_paths_name_the_path(
    kind: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = tmp_path / "child.json"
    if kind == "directory":
        child.mkdir()
    elif kind == "unreadable":
        child.write_text("{}")
        child.chmod(0)
        if os.access(child, os.R_OK):  # root ignores modes: refuse the open as the kernel would
            real_open = Path.open

            def refusing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
                if self == child:
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
                return real_open(self, *args, **kwargs)

            monkeypatch.setattr(Path, "open", refusing_open)
    assert main(["provenance", PIPELINE, "--format", "slsa/v1", "--child", str(child)]) == 2
    err = capsys.readouterr().err
    assert f"invalid input: {child}: cannot read file" in err
    assert "Traceback" not in err


_TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(list('ab1:-[]{},&*!?|"#\t\n ~.')), max_size=60),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["kind", "status", "spec", "metadata", "results", "steps", "x"]),
                inner,
                max_size=4,
            )
        ),
        max_leaves=15,
    ).map(lambda doc: json.dumps({"kind": "TaskRun", **doc} if isinstance(doc, dict) else doc)),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(run=_TEXT, child=_TEXT)
def test_the_command_is_total(run: str, child: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Whatever the files hold: a statement (0) or bad input (2), never a crash or traceback."""
    with tempfile.TemporaryDirectory() as folder:
        run_file, child_file = Path(folder, "run.yaml"), Path(folder, "child.yaml")
        run_file.write_text(run)
        child_file.write_text(child)
        code = main(["provenance", str(run_file), "--format", "slsa/v1", "--child",
                     str(child_file)])  # fmt: skip
        err = capsys.readouterr().err
        assert code in (0, 2), err
        assert "internal error" not in err


def test_a_child_without_kind_or_telling_fields_is_taken_as_a_task_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    child_run = yaml.safe_load(Path(CHILDREN[2]).read_text())
    child_run.pop("kind", None)
    child_run.pop("apiVersion", None)
    child_run.pop("spec", None)
    child_run["status"] = {"completionTime": child_run["status"]["completionTime"]}
    child = tmp_path / "child.json"
    child.write_text(json.dumps(child_run))
    assert main(["provenance", PIPELINE, "--format", "slsa/v1", "--child", str(child)]) == 0
    assert "cannot tell" not in capsys.readouterr().err
