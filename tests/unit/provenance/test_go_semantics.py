"""Go ``encoding/json`` and Tekton type semantics reproduced on parsed JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.provenance import _gotypes as go
from konflux_supply.provenance import _values as values

# ---- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "nano", "proto"),
    [
        (
            "2021-03-29T09:50:00Z",
            "2021-03-29T09:50:00Z",
            "2021-03-29T09:50:00Z",
            "2021-03-29T09:50:00Z",
        ),
        (
            "2021-03-29T09:50:00.5Z",
            "2021-03-29T09:50:00Z",
            "2021-03-29T09:50:00.5Z",
            "2021-03-29T09:50:00.500Z",
        ),
        (
            "2021-03-29T09:50:00.000123+02:00",
            "2021-03-29T07:50:00Z",
            "2021-03-29T07:50:00.000123Z",
            "2021-03-29T07:50:00.000123Z",
        ),
        (
            "2021-03-29T23:50:00.1234567891-01:30",
            "2021-03-30T01:20:00Z",
            "2021-03-30T01:20:00.123456789Z",
            "2021-03-30T01:20:00.123456789Z",
        ),
        (
            "0999-01-01T00:00:00,25Z",
            "0999-01-01T00:00:00Z",
            "0999-01-01T00:00:00.25Z",
            "0999-01-01T00:00:00.250Z",
        ),
    ],
)
def test_time_formats(text: str, seconds: str, nano: str, proto: str) -> None:
    parsed = values.parse_time(text, "t")
    assert parsed is not None
    assert values.format_seconds(parsed) == seconds
    assert values.format_nano(parsed) == nano
    assert values.format_proto(parsed) == proto


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2021-03-29",
        "2021-03-29 09:50:00Z",
        "2021-13-01T00:00:00Z",
        "2021-02-30T00:00:00Z",
        "2021-03-29T24:00:00Z",
        "2021-03-29T09:50:60Z",
        "2021-03-29T09:50:00+24:00",
        "2021-03-29t09:50:00z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    ],
)
def test_bad_times_are_input_errors(text: str) -> None:
    with pytest.raises(InputError) as raised:
        values.parse_time(text, "status.startTime")
    assert raised.value.field == "status.startTime"


def test_null_time_is_unset() -> None:
    assert values.parse_time(None, "t") is None
    with pytest.raises(InputError, match="expected an RFC 3339 time string"):
        values.parse_time(1617011400, "t")


# ---- durations, numbers, ParamValue ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "go"),
    [
        ("1h", "1h0m0s"),
        ("1h0m0s", "1h0m0s"),
        ("90s", "1m30s"),
        ("1.5s", "1.5s"),
        ("0", "0s"),
        ("1500ns", "1.5\u00b5s"),
        ("2m3.25s", "2m3.25s"),
        ("-3m", "-3m0s"),
        (".5h", "30m0s"),
        ("10ms", "10ms"),
    ],
)
def test_durations(text: str, go: str) -> None:
    assert values.duration(text, "spec.timeout") == go


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "1h 2m", "--1s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError):
        values.duration(text, "spec.timeout")


@pytest.mark.parametrize(
    ("number", "printed"),
    [
        (3, "3"),
        (0, "0"),
        (-7, "-7"),
        (2.5, "2.5"),
        (2**53 + 1, "9007199254740992"),
        (2**60, "1152921504606847000"),
        (10**20, "100000000000000000000"),
    ],
)
def test_struct_numbers_print_like_protojson(number: int | float, printed: str) -> None:
    assert json.dumps(values.go_number(number)) == printed


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("x", "x"),
        (None, ""),
        (["a", None], ["a", ""]),
        ({"k": "v", "n": None}, {"k": "v", "n": ""}),
        ([1, 2], "[1,2]"),
        ({"a": 1}, '{"a":1}'),
        (True, "true"),
        (5, "5"),
        ([], []),
    ],
)
def test_param_value_decoding(raw: Any, decoded: Any) -> None:
    assert values.param_value(raw, "p") == decoded


def test_missing_param_value_cannot_be_marshalled() -> None:
    with pytest.raises(values.MarshalError) as raised:
        values.param_value(None, "spec.params[0].value", present=False)
    assert raised.value.field == "spec.params[0].value"


# ---- struct round trip -----------------------------------------------------------------------


def test_task_run_spec_round_trip() -> None:
    spec = {
        "Params": [{"NAME": "a", "value": "1"}],
        "taskRef": {"name": "t", "unknownField": 1},
        "timeout": "1h",
        "retries": 0,
        "debug": None,
        "podTemplate": {"securityContext": {"runAsUser": 1000}},
        "stepSpecs": [{"name": "s"}],
        "extra": "dropped",
    }
    assert go.marshal(spec, go.TASK_RUN_SPEC, "spec") == {
        "params": [{"name": "a", "value": "1"}],
        "serviceAccountName": "",
        "taskRef": {"name": "t"},
        "timeout": "1h0m0s",
        "podTemplate": {"securityContext": {"runAsUser": 1000}},
        "stepSpecs": [{"name": "s", "computeResources": {}}],
    }


def test_pipeline_run_spec_always_has_task_run_template() -> None:
    assert go.marshal({}, go.PIPELINE_RUN_SPEC, "spec") == {"taskRunTemplate": {}}
    embedded = {"pipelineSpec": {"tasks": [{"name": "t", "taskSpec": {"steps": [{"image": "x"}]}}]}}
    task = go.marshal(embedded, go.PIPELINE_RUN_SPEC, "spec")["pipelineSpec"]["tasks"][0]
    assert task["taskSpec"] == {
        "spec": None,
        "metadata": {},
        "steps": [{"name": "", "image": "x", "computeResources": {}}],
    }


def test_maps_are_sorted_and_pointers_kept_when_empty() -> None:
    provenance = {"refSource": {}, "featureFlags": {"enableTektonOCIBundles": False}}
    assert go.marshal(provenance, go.PROVENANCE, "p") == {
        "refSource": {},
        "featureFlags": {"enableTektonOCIBundles": False},
    }
    source = {"digest": {"sha256": "b", "sha1": "a"}}
    assert list(go.marshal(source, go.REF_SOURCE, "r")["digest"]) == ["sha1", "sha256"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"serviceAccountName": 3}, "spec.serviceAccountName"),
        ({"retries": 1.5}, "spec.retries"),
        ({"retries": True}, "spec.retries"),
        ({"params": {}}, "spec.params"),
        ({"params": ["x"]}, "spec.params[0]"),
        ({"params": [{"name": "a"}]}, "spec.params[0].value"),
        ({"timeout": "forever"}, "spec.timeout"),
        ({"taskRef": []}, "spec.taskRef"),
        ({"taskSpec": {"steps": [{"command": "echo"}]}}, "spec.taskSpec.steps[0].command"),
    ],
)
def test_type_errors_name_the_field(value: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as raised:
        go.marshal(value, go.TASK_RUN_SPEC, "spec")
    assert raised.value.field == field


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
KEYS = st.sampled_from(
    [
        "params",
        "name",
        "value",
        "taskRef",
        "taskSpec",
        "steps",
        "timeout",
        "retries",
        "serviceAccountName",
        "podTemplate",
        "resolver",
        "results",
        "metadata",
        "status",
        "spec",
        "labels",
        "conditions",
        "startTime",
    ]
)
TEKTONISH = st.recursive(
    JSON,
    lambda inner: st.dictionaries(KEYS, inner, max_size=6) | st.lists(inner, max_size=3),
    max_leaves=40,
)


@given(TEKTONISH)
def test_marshal_is_total(value: Any) -> None:
    for kind in (go.TASK_RUN_SPEC, go.PIPELINE_RUN_SPEC, go.TASK_RUN, go.FEATURE_FLAGS):
        try:
            out = go.marshal(value, kind, "x")
        except InputError:
            continue
        json.dumps(out)
