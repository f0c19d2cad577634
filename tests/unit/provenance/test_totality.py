"""Formatters are total: for any JSON-like input, ``InputError`` or a statement, never a crash.

Chains crash-looped on an odd step list (issue #1099). Here Hypothesis feeds arbitrary runs and
random mutations of real runs (ours, and the Chains corpus when present) to every public entry
point in every format.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konflux_supply import provenance
from konflux_supply.errors import InputError
from konflux_supply.models.intoto import Statement as StatementModel
from tests.conftest import peers_root

RUNS = Path(__file__).resolve().parents[3] / "fixtures" / "provenance" / "runs"
FIXTURES = [yaml.safe_load(path.read_text()) for path in sorted(RUNS.glob("*.yaml"))]
_PEER_DATA = peers_root() / "chains" / "pkg" / "chains" / "formats" / "slsa" / "testdata"
if _PEER_DATA.is_dir():
    FIXTURES += [json.loads(path.read_text()) for path in sorted(_PEER_DATA.glob("*/*.json"))]
CHILDREN = [f for f in FIXTURES if f.get("kind") == "TaskRun" or "taskSpec" in f.get("status", {})]

KEYS = st.sampled_from(
    [
        "kind", "apiVersion", "metadata", "spec", "status", "name", "uid", "labels", "annotations",
        "params", "value", "default", "results", "steps", "sidecars", "imageID", "taskSpec",
        "pipelineSpec", "tasks", "finally", "taskRef", "pipelineRef", "resolver", "provenance",
        "refSource", "uri", "digest", "featureFlags", "startTime", "completionTime", "conditions",
        "runAfter", "when", "matrix", "command", "args", "script", "IMAGE_URL", "isBuildArtifact",
        "tekton.dev/pipelineTask", "timeout", "taskRunTemplate",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "TaskRun",
            "PipelineRun",
            "tekton.dev/v1beta1",
            "sha256:a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333",
            "gcr.io/x/y@sha256:a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333",
            "2021-03-29T09:50:00Z",
            "IMAGE_URL",
            "x-ARTIFACT_OUTPUTS",
            "ARTIFACT_INPUTS",
            "CHAINS-GIT_COMMIT",
            "unnamed-0",
            "$(tasks.a.results.b)",
            "true",
            "1h",
        ]
    )
    | st.text(max_size=10)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=40,
)

# Runs with a valid envelope and arbitrary insides, so the formatters themselves are exercised.
RESULTS = st.lists(
    st.fixed_dictionaries({"name": KEYS | SCALARS}, optional={"value": JSON, "type": SCALARS}),
    max_size=5,
)
STEPS = st.lists(
    st.fixed_dictionaries(
        {"name": SCALARS},
        optional={
            "imageID": st.sampled_from(
                [
                    "gcr.io/a/b@sha256:a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333",
                    "",
                ]
            )
            | SCALARS,
            "results": RESULTS,
            "provenance": JSON,
        },
    ),
    max_size=3,
)
STATUS = st.fixed_dictionaries(
    {},
    optional={
        "results": RESULTS,
        "steps": STEPS,
        "sidecars": STEPS,
        "taskSpec": st.dictionaries(KEYS, JSON, max_size=4),
        "pipelineSpec": st.dictionaries(KEYS, JSON, max_size=4),
        "provenance": st.dictionaries(KEYS, JSON, max_size=3),
        "startTime": SCALARS,
        "completionTime": st.just("2021-03-29T09:50:15Z") | SCALARS,
        "conditions": JSON,
    },
)
SHAPED = st.fixed_dictionaries(
    {"kind": st.sampled_from(["TaskRun", "PipelineRun"]), "status": STATUS},
    optional={
        "apiVersion": st.sampled_from(["tekton.dev/v1", "tekton.dev/v1beta1"]),
        "metadata": st.fixed_dictionaries(
            {}, optional={"name": SCALARS, "labels": st.dictionaries(KEYS, SCALARS, max_size=3)}
        ),
        "spec": st.dictionaries(KEYS, JSON, max_size=5),
    },
)


def _check(run: Any, children: list[Any], deep: bool) -> None:
    for fmt in provenance.FORMATS:
        for build_type in (None, provenance.TEKTON_BUILD_TYPE):
            try:
                statement = provenance.generate(
                    run, format=fmt, build_type=build_type, deep_inspection=deep, children=children
                )
            except InputError as error:
                if not error.message:
                    raise AssertionError("an InputError without a message") from error
                continue
            payload = statement.to_json()
            parsed = json.loads(payload)
            assert parsed["_type"] == statement.type
            if statement.subject:
                StatementModel.from_json(payload)
        with contextlib.suppress(InputError):
            provenance.artifact_uris(run, format=fmt, deep_inspection=deep, children=children)
    with contextlib.suppress(InputError):
        provenance.oci_images(run)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON | SHAPED, st.lists(JSON | SHAPED, max_size=2), st.booleans())
def test_arbitrary_runs(run: Any, children: list[Any], deep: bool) -> None:
    _check(run, children, deep)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


def _mutate(data: st.DataObject, doc: Any) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return data.draw(JSON)
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON)
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_fixtures(data: st.DataObject) -> None:
    run = data.draw(st.sampled_from(FIXTURES))
    children = [
        copy.deepcopy(c) for c in data.draw(st.lists(st.sampled_from(CHILDREN), max_size=3))
    ]
    if data.draw(st.booleans()):
        run = _mutate(data, run)
    elif children:
        index = data.draw(st.integers(0, len(children) - 1))
        children[index] = _mutate(data, children[index])
    _check(run, children, data.draw(st.booleans()))
