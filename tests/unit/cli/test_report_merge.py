"""``konflux-supply report merge``: shards of one Snapshot merge into one run's report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply.cli import main
from konflux_supply.policy import ComponentError, Report, select_shard
from tests.unit.policy._helpers import component
from tests.unit.policy._helpers import report as make_report

SNAPSHOT = [{"name": f"c{n}", "containerImage": f"registry/c{n}@sha256:{n:064x}"} for n in range(7)]
OUTAGE = ComponentError("builtin.image.accessible", "registry answered 503", "registry")


def _shards(tmp_path: Path, *, failing: int = -1, broken: int = -1, count: int = 3) -> list[str]:
    paths = []
    for index in range(count):
        shard = select_shard(SNAPSHOT, index, count)
        report = make_report(
            *(
                component(
                    c["containerImage"],
                    name=c["name"],
                    successes=2,
                    violations=int(c["name"] == f"c{failing}"),
                    error=OUTAGE if c["name"] == f"c{broken}" else None,
                )
                for c in shard
            )
        )
        path = tmp_path / f"shard-{index}.json"
        path.write_bytes(report.to_json() + b"\n")
        paths.append(str(path))
    return paths


def test_merged_report_is_the_single_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = make_report(
        *(component(c["containerImage"], name=c["name"], successes=2) for c in SNAPSHOT)
    )
    out = tmp_path / "merged.json"
    args = ["report", "merge", *_shards(tmp_path), "--show-successes", "--output", f"json={out}"]
    assert main([*args, "--output", "appstudio"]) == 0
    assert out.read_bytes() == whole.to_json() + b"\n"
    captured = capsys.readouterr()
    assert json.loads(captured.out)["result"] == "SUCCESS"
    assert captured.err == ""


def test_without_show_successes_counts_survive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["report", "merge", *_shards(tmp_path), "--output", "json", "--output", "text"]) == 0
    )
    out = capsys.readouterr().out
    document = json.loads(out.splitlines()[0])
    assert all("successes" not in c for c in document["components"])
    assert "Violations: 0, Warnings: 0, Successes: 14\n" in out


@pytest.mark.parametrize(
    ("failing", "broken", "strict", "code", "message"),
    [
        (2, -1, "true", 1, "success criteria not met"),
        (2, -1, "false", 0, ""),
        (
            -1,
            4,
            "false",
            3,
            "no verdict: 1 component(s) could not be evaluated (first: registry/c4",
        ),
        (2, 4, "true", 1, "success criteria not met"),
    ],
)
def test_exit_code_is_the_merged_verdict(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    failing: int,
    broken: int,
    strict: str,
    code: int,
    message: str,
) -> None:
    shards = _shards(tmp_path, failing=failing, broken=broken)
    assert main(["report", "merge", *shards, f"--strict={strict}", "--output", "summary"]) == code
    captured = capsys.readouterr()
    assert message in captured.err
    assert json.loads(captured.out)["success"] is False


def test_reports_of_different_runs_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(tmp_path)
    other = json.loads(Path(shards[1]).read_text())
    other["key"] = "-----BEGIN PUBLIC KEY-----"
    Path(shards[1]).write_text(json.dumps(other))
    out = tmp_path / "m.json"
    assert main(["report", "merge", *shards, "--output", f"json={out}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "key: report 2 differs from report 1 in 'key'" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "xml"], "unknown output format 'xml'"),
        (["--output", "attestation"], "attestation is not kept in JSON reports"),
    ],
)
def test_bad_output_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["report", "merge", *_shards(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_report_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"success": true}')
    assert main(["report", "merge", str(bad)]) == 2
    assert "bad.json: effective-time: not an RFC 3339 time" in capsys.readouterr().err
    assert main(["report", "merge", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
    assert main(["report", "merge"]) == 2


def test_warns_when_shards_listed_no_successes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(make_report(component("registry/a@sha256:1")).to_json())
    assert main(["report", "merge", str(path), "--output", "appstudio"]) == 0
    captured = capsys.readouterr()
    assert "run the shards with --show-successes" in captured.err
    assert Report.from_json(path.read_bytes()).success
