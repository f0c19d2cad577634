"""fixtures/provenance/type-hints.yaml: every type-hint rule and §2.5 row, per format."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from konflux_supply import provenance
from konflux_supply.errors import InputError

TABLE_FILE = Path(__file__).resolve().parents[3] / "fixtures" / "provenance" / "type-hints.yaml"
TABLE = yaml.safe_load(TABLE_FILE.read_text())
FORMATS = ("in-toto", "slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4")


def merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch: objects merge, anything else replaces, null deletes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((TABLE_FILE.parent / name).read_text())
    return loaded


def build(case: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    run = load(case["pipelinerun"]) if "pipelinerun" in case else copy.deepcopy(TABLE["base"])
    for key in ("metadata", "spec", "status"):
        if key in case:
            merge(run.setdefault(key, {}), case[key])
    if "results" in case:
        run["status"]["results"] = copy.deepcopy(case["results"])
    if "step_results" in case:
        run["status"]["steps"][0]["results"] = copy.deepcopy(case["step_results"])
    children = [load(name) for name in case.get("children", ())]
    for index, patch in (case.get("children_patch") or {}).items():
        merge(children[int(index)], patch)
    return run, children


def expectation(case: dict[str, Any], fmt: str) -> dict[str, Any]:
    expect = dict(case["expect"].get("all", {}))
    expect.update(case["expect"].get("slsa/v1" if fmt == "in-toto" else fmt, {}))
    return expect


def materials_of(statement: dict[str, Any]) -> list[dict[str, Any]]:
    predicate = statement["predicate"]
    if "buildDefinition" in predicate:
        found: list[dict[str, Any]] = predicate["buildDefinition"].get("resolvedDependencies", [])
        return found
    materials: list[dict[str, Any]] = predicate.get("materials", [])
    return materials


CASES = [
    pytest.param(case, fmt, id=f"{case['name']}[{fmt}]")
    for case in TABLE["cases"]
    for fmt in FORMATS
]


def test_every_case_names_its_rule() -> None:
    names = [case["name"] for case in TABLE["cases"]]
    assert len(names) == len(set(names))
    assert all(case.get("rule") for case in TABLE["cases"])


@pytest.mark.parametrize(("case", "fmt"), CASES)
def test_case(case: dict[str, Any], fmt: str) -> None:
    run, children = build(case)
    expect = expectation(case, fmt)
    arguments: dict[str, Any] = {
        "format": fmt,
        "children": children,
        "deep_inspection": bool(case.get("deep")),
    }
    error = expect.get("error")
    if error:
        with pytest.raises(InputError) as raised:
            provenance.generate(run, **arguments)
        assert raised.value.field == error["field"]
        assert error["message"] in raised.value.message
        return
    statement_obj = provenance.generate(run, **arguments)
    statement = json.loads(statement_obj.to_json())
    warnings = statement_obj.warnings
    if "subjects" in expect:
        assert statement.get("subject", []) == expect["subjects"]
    if "materials" in expect:
        assert materials_of(statement) == expect["materials"]
    for material in expect.get("materials_include", ()):
        assert material in materials_of(statement)
    for material in expect.get("materials_exclude", ()):
        assert material not in materials_of(statement)
    if "byproducts" in expect:
        byproducts = statement["predicate"]["runDetails"].get("byproducts", [])
        assert [entry["name"] for entry in byproducts] == expect["byproducts"]
    if "build_config_tasks" in expect:
        tasks = statement["predicate"]["buildConfig"]["tasks"]
        assert [task["name"] for task in tasks] == expect["build_config_tasks"]
    if "oci_images" in expect:
        assert provenance.oci_images(run) == [tuple(pair) for pair in expect["oci_images"]]
    if "warnings" in expect:
        if expect["warnings"] == []:
            assert warnings == ()
        for fragment in expect["warnings"]:
            assert any(fragment in warning for warning in warnings), (fragment, warnings)
    # Whatever the case, the subjects are exactly what artifact_uris reports.
    uris = provenance.artifact_uris(run, **arguments)
    assert uris == [
        f"{s['name']}@{alg}:{hex_}"
        for s in statement.get("subject", [])
        for alg, hex_ in s["digest"].items()
    ]
