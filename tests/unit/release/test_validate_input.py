"""``validate input`` and ``policy.evaluate``: any document as ``input``, no registry
(Conforma's ``ec validate input``; shapes in validate_input.snap)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from konflux_supply.errors import InputError
from konflux_supply.policy import EvaluationConfig, Source, evaluate, load_policy
from tests.unit.release._helpers import run_cli

HAM = """package ham

import rego.v1

# METADATA
# custom:
#   short_name: delicious
deny contains {"code": "ham.delicious", "msg": "ham is not delicious"} if not input.ham.delicious
"""
SPAM = """package spam

import rego.v1

# METADATA
# custom:
#   short_name: valid
deny contains {"code": "spam.valid", "msg": "spam is not true"} if input.spam != true
"""
ACCEPT = """package main

import rego.v1

# METADATA
# title: Allow rule
# custom:
#   short_name: acceptor
deny contains {"code": "main.acceptor", "msg": "never"} if false
"""
WARN_DATA = """package beatles

import rego.v1

warn contains {"msg": json.marshal(data.beatles)} if true
"""


def _dir(tmp_path: Path, name: str, files: dict[str, str]) -> str:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text)
    return str(folder)


def _input(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "input.yaml"
    path.write_text(json.dumps(document))
    return str(path)


def test_two_sources_report_both_violations(tmp_path: Path) -> None:
    policy = {
        "sources": [
            {"policy": [_dir(tmp_path, "ham", {"ham.rego": HAM})]},
            {"policy": [_dir(tmp_path, "spam", {"spam.rego": SPAM})]},
        ]
    }
    path = _input(tmp_path, {"ham": {"delicious": False}, "spam": False})
    code, out, err = run_cli(
        "validate", "input", "--file", path, "--policy", json.dumps(policy), "--output", "json"
    )
    assert code == 1
    assert "success criteria not met" in err
    report = json.loads(out)
    assert report["success"] is False
    (entry,) = report["filepaths"]
    assert entry == {
        "filepath": path,
        "violations": [
            {"msg": "ham is not delicious", "metadata": {"code": "ham.delicious"}},
            {"msg": "spam is not true", "metadata": {"code": "spam.valid"}},
        ],
        "warnings": [],
        "successes": None,
        "success": False,
        "success-count": 0,
    }
    assert report["policy"] == policy  # validate input shows the URLs as written
    assert list(report) == ["success", "filepaths", "policy", "ec-version", "effective-time"]


def test_passing_input_text_output(tmp_path: Path) -> None:
    policy = {"sources": [{"policy": [_dir(tmp_path, "main", {"main.rego": ACCEPT})]}]}
    path = _input(tmp_path, {"kind": "Pipeline"})
    code, out, _ = run_cli(
        "validate", "input", "-f", path, "-p", json.dumps(policy), "--show-successes",
        "--output", "text", "--color=false",
    )  # fmt: skip
    assert code == 0
    text = out.decode()
    assert "Success: true" in text
    assert "Violations: 0, Warnings: 0, Successes: 1" in text
    assert "main.acceptor" in text


def test_data_sources_merge_at_the_root(tmp_path: Path) -> None:
    one = _dir(tmp_path, "d1", {"a.yaml": "beatles: {john: rhythm, paul: bass}\n"})
    two = _dir(tmp_path, "d2", {"b.json": '{"beatles": {"george": "lead", "ringo": "drums"}}'})
    policy = {
        "sources": [{"policy": [_dir(tmp_path, "p", {"p.rego": WARN_DATA})], "data": [one, two]}]
    }
    code, out, _ = run_cli(
        "validate", "input", "-f", _input(tmp_path, {}), "-p", json.dumps(policy), "-o", "json"
    )
    assert code == 0
    (entry,) = json.loads(out)["filepaths"]
    assert entry["warnings"] == [
        {"msg": '{"george":"lead","john":"rhythm","paul":"bass","ringo":"drums"}'}
    ]


def test_a_source_without_rego_is_bad_input(tmp_path: Path) -> None:
    policy = {"sources": [{"policy": [_dir(tmp_path, "empty", {"x.txt": "no"})]}]}
    code, out, err = run_cli(
        "validate", "input", "-f", _input(tmp_path, {}), "-p", json.dumps(policy)
    )
    assert code == 2
    assert out == b""
    assert "no Rego files" in err
    assert "Traceback" not in err


def test_clashing_data_is_bad_input(tmp_path: Path) -> None:
    one = _dir(tmp_path, "d1", {"a.yaml": "beatles: 1\n"})
    two = _dir(tmp_path, "d2", {"b.yaml": "beatles: 2\n"})
    policy = {
        "sources": [{"policy": [_dir(tmp_path, "p", {"p.rego": WARN_DATA})], "data": [one, two]}]
    }
    code, _, err = run_cli(
        "validate", "input", "-f", _input(tmp_path, {}), "-p", json.dumps(policy)
    )
    assert code == 2
    assert "beatles" in err


def test_library_evaluate(tmp_path: Path) -> None:
    sources = [Source(policy=(_dir(tmp_path, "ham", {"ham.rego": HAM}),))]
    config = EvaluationConfig(effective_time=datetime(2026, 1, 1, tzinfo=UTC))
    bad = evaluate({"ham": {"delicious": False}}, sources, config=config)
    assert [r["metadata"]["code"] for r in bad.violations] == ["ham.delicious"]
    assert not bad.success
    good = evaluate({"ham": {"delicious": True}}, sources, config=config)
    assert good.success
    assert [r["metadata"]["code"] for r in good.successes] == ["ham.delicious"]


def test_library_evaluate_sees_rule_data_and_config(tmp_path: Path) -> None:
    rego = """package cfg

import rego.v1

warn contains {"msg": msg} if {
	k := data.rule_data__configuration__.k
	msg := sprintf("%v %v", [k, data.config.policy.when_ns])
}
"""
    ecp = load_policy(
        json.dumps(
            {"sources": [{"policy": [_dir(tmp_path, "c", {"c.rego": rego})], "ruleData": {"k": 1}}]}
        )
    )
    when = datetime(2026, 1, 1, tzinfo=UTC)
    config = EvaluationConfig(effective_time=when, extra_rule_data={"x": 2})
    result = evaluate({}, ecp, config=config)
    assert [w["msg"] for w in result.warnings] == [f"1 {int(when.timestamp()) * 10**9}"]


def test_attestation_time_is_for_images_only(tmp_path: Path) -> None:
    code, _, err = run_cli(
        "validate", "input", "-f", _input(tmp_path, {}), "-p", '{"sources":[]}',
        "--effective-time", "attestation",
    )  # fmt: skip
    assert code == 2
    assert "--effective-time" in err


def test_evaluate_refuses_naive_time(tmp_path: Path) -> None:
    sources = [Source(policy=(_dir(tmp_path, "ham", {"ham.rego": HAM}),))]
    with pytest.raises(InputError):
        evaluate({}, sources, config=EvaluationConfig(effective_time=datetime(2026, 1, 1)))


def test_extra_rule_data_is_in_every_sources_rule_data(tmp_path: Path) -> None:
    rego = """package rd

import rego.v1

warn contains {"msg": sprintf("%v", [data.rule_data__configuration__])} if true
"""
    folder = _dir(tmp_path, "rd", {"rd.rego": rego})
    policy = {
        "sources": [
            {"policy": [folder], "ruleData": {"mine": 1, "key": "old"}},
            {"policy": [folder]},
        ]
    }
    code, out, err = run_cli(
        "validate", "input", "-f", _input(tmp_path, {}), "-p", json.dumps(policy),
        "--extra-rule-data", "key=value", "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert [s["ruleData"] for s in report["policy"]["sources"]] == [
        {"mine": 1, "key": "value"},
        {"key": "value"},
    ]
    (entry,) = report["filepaths"]
    assert sorted(w["msg"] for w in entry["warnings"]) == [
        '{"key": "value", "mine": 1}',
        '{"key": "value"}',
    ]


def test_extra_rule_data_shows_in_the_reported_policy(tmp_path: Path) -> None:
    # As Conforma: --extra-rule-data joins every source's ruleData in the report's policy.
    policy = {"sources": [{"policy": [_dir(tmp_path, "main", {"main.rego": ACCEPT})]}]}
    path = _input(tmp_path, {"kind": "Pipeline"})
    code, out, _ = run_cli(
        "validate", "input", "-f", path, "-p", json.dumps(policy),
        "--extra-rule-data", "key=value", "--output", "json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["policy"]["sources"][0]["ruleData"] == {"key": "value"}


def test_policy_docs_link_flag(tmp_path: Path) -> None:
    policy = {"sources": [{"policy": [_dir(tmp_path, "ham", {"ham.rego": HAM})]}]}
    path = _input(tmp_path, {"ham": {}})
    code, out, _ = run_cli(
        "validate", "input", "-f", path, "-p", json.dumps(policy),
        "--show-policy-docs-link", "--output", "text", "--color=false",
    )  # fmt: skip
    assert code == 1
    assert "see the policy documentation" in out.decode()
