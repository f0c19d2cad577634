"""The annotations of policies/ are complete and agree with what the rules emit.

Rules emit ``{code, msg, effective_on, term?}`` themselves (the embedded engine has no
``rego.metadata.chain()``), so the code, message format and effective date are written twice:
in the ``# METADATA`` block and in the result-helper call. These tests keep the two honest,
statically (the call in each rule's body) and at run time (every result of every package on
the test inputs), and check that docs/policies.md is generated from the current annotations.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.policies._helpers import POLICIES, REPO, evaluate, load_docs_script, new_engine

DOCS = load_docs_script()
RULES = DOCS.read_tree()
RELEASE = DOCS.release_rules(RULES)
COLLECTIONS = DOCS.collections(RULES)
_CALL = re.compile(
    r"data\.supply\.lib\.result\.(make|with_term|dated|dated_with_term)\(\s*"
    r"\"([^\"]+)\",\s*(\"(?:[^\"\\]|\\.)*\"|`[^`]*`)"
    r"(?:.*?\"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\",?\s*\))?",
    re.DOTALL,
)
_RULE_DATA_READ = re.compile(r"rule_data\.(?:get|list|string_list_errors)\(\"([^\"]+)\"\)")
REQUIRED = ("title", "description")
REQUIRED_CUSTOM = ("short_name", "failure_msg", "solution", "collections")


def _literal(token: str) -> str:
    return token[1:-1] if token.startswith("`") else str(json.loads(token))


def _ids(rules: list[Any]) -> list[str]:
    return [r.code for r in rules]


def test_every_release_package_has_rules() -> None:
    packages = {r.package for r in RELEASE}
    assert packages >= {
        "attestation_type",
        "slsa_provenance_available",
        "slsa_build_build_service",
        "slsa_build_scripted_build",
        "slsa_source_version_controlled",
        "trusted_task",
        "tasks",
        "sbom",
        "sbom_cyclonedx",
        "sbom_spdx",
        "cve",
        "base_image_registries",
        "labels",
        "provenance_materials",
    }


def test_collections_are_declared_as_conforma_does() -> None:
    assert set(COLLECTIONS) == {"minimal", "slsa3", "konflux"}
    for name, rule in COLLECTIONS.items():
        assert (
            rule.file.relative_to(POLICIES).as_posix() == f"release/collection/{name}/{name}.rego"
        )
        assert rule.annotations.get("title") == name
        assert rule.annotations.get("description")


def test_codes_are_unique() -> None:
    codes = [r.code for r in RELEASE]
    assert len(codes) == len(set(codes))


def test_every_deny_and_warn_rule_is_annotated() -> None:
    heads = 0
    for path in POLICIES.joinpath("release").rglob("*.rego"):
        if path.name.endswith("_test.rego"):
            continue
        heads += len(re.findall(r"^(?:deny|warn)\b", path.read_text(), re.MULTILINE))
    assert heads == len(RELEASE)


@pytest.mark.parametrize("rule", RELEASE, ids=_ids(RELEASE))
def test_rule_annotations_are_complete(rule: Any) -> None:
    for key in REQUIRED:
        assert rule.annotations.get(key), f"{rule.code}: no {key}"
    for key in REQUIRED_CUSTOM:
        assert rule.custom.get(key), f"{rule.code}: no custom.{key}"
    assert set(rule.listed("collections")) <= set(COLLECTIONS), rule.code
    assert "konflux" in rule.listed("collections"), f"{rule.code}: @konflux holds every rule"
    codes = {r.code for r in RELEASE}
    assert set(rule.listed("depends_on")) <= codes, rule.code


@pytest.mark.parametrize("rule", RELEASE, ids=_ids(RELEASE))
def test_emitted_code_message_and_date_match_annotations(rule: Any) -> None:
    calls = _CALL.findall(rule.body)
    assert len(calls) == 1, f"{rule.code}: expected one result-helper call, found {len(calls)}"
    helper, code, fmt, effective_on = calls[0]
    assert code == rule.code
    assert _literal(fmt) == rule.custom["failure_msg"]
    annotated = rule.custom.get("effective_on")
    if helper.startswith("dated") and effective_on:
        assert effective_on == annotated, f"{rule.code}: effective_on {effective_on} != {annotated}"
    elif helper.startswith("dated"):  # a date computed per result (CVE leeway)
        assert annotated is None, f"{rule.code}: computed effective_on and annotated {annotated}"
    else:
        assert annotated is None, f"{rule.code}: annotated effective_on needs result.dated*"


def test_every_rule_data_key_read_is_documented() -> None:
    documented = {k for r in RELEASE for k in r.listed("rule_data")}
    read = set()
    for path in POLICIES.rglob("*.rego"):
        if not path.name.endswith("_test.rego"):
            read |= set(_RULE_DATA_READ.findall(path.read_text()))
    read.discard("pipeline_intention")
    assert read <= documented | {"allowed_provenance_build_types"}
    for rule in RELEASE:
        for key in _RULE_DATA_READ.findall(rule.body):
            assert key in rule.listed("rule_data"), f"{rule.code} reads {key} without listing it"


def test_library_modules_use_full_paths_not_import_aliases() -> None:
    # regorus 0.13 loses `with` overrides through import aliases (see the trusted_task tests);
    # library and rule modules therefore refer to data.supply.lib.* by full path.
    for path in POLICIES.rglob("*.rego"):
        if path.name.endswith("_test.rego"):
            continue
        imports = re.findall(r"^import\s+(\S+)", path.read_text(), re.MULTILINE)
        assert imports in ([], ["rego.v1"]), f"{path.relative_to(REPO)} imports {imports}"


def _inputs() -> Iterator[tuple[str, dict[str, Any]]]:
    engine = new_engine(tests=True)
    for name in ("input_v02", "input_v1", "input_with_sboms"):
        yield name, json.loads(engine.eval_rule_as_json(f"data.supply.lib.fixtures_test.{name}"))
    yield "empty", {}
    yield (
        "no-image-config",
        {"image": {"ref": "registry.example/app@sha256:00"}, "attestations": []},
    )


def _pattern(fmt: str) -> re.Pattern[str]:
    parts = re.split(r"(%[sqdv])", fmt)
    return re.compile(
        "".join(".*" if re.fullmatch(r"%[sqdv]", p) else re.escape(p) for p in parts), re.DOTALL
    )


def test_results_at_run_time_match_annotations() -> None:
    by_code = {r.code: r for r in RELEASE}
    seen = set()
    data = {"rule_data": {"required_labels": [{"name": "vendor", "description": "Vendor."}]}}
    engine = new_engine(tests=False, data=data)
    for _name, policy_input in _inputs():
        for package, kinds in evaluate(engine, policy_input).items():
            for kind, results in kinds.items():
                for result in results:
                    rule = by_code[result["code"]]
                    assert rule.package == package, result
                    assert rule.kind == kind, result
                    assert _pattern(rule.custom["failure_msg"]).fullmatch(result["msg"]), result
                    seen.add(result["code"])
    assert len(seen) >= 8


def test_docs_are_up_to_date() -> None:
    script = REPO / "scripts" / "gen-policy-docs"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_package_annotations_list_the_rule_data_of_their_rules() -> None:
    # `policy lint` looks for documented rule-data keys in package annotations
    packages = {r.package: r for r in RULES if r.kind == "package"}
    for package in {r.package for r in RELEASE}:
        keys = {k for r in RELEASE if r.package == package for k in r.listed("rule_data")}
        declared = set(packages[package].listed("rule_data")) if package in packages else set()
        assert declared == keys, package
