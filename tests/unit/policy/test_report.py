"""The report model: Conforma's JSON shape, ordering, verdicts, errors, merge and shards."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.policy import (
    ComponentError,
    ComponentReport,
    Report,
    merge,
    parse_shard,
    select_shard,
)
from konflux_supply.policy.report import (
    BUILTIN_IMAGE_SIGNATURE_CHECK,
    EC_VERSION,
    format_effective_time,
    keep_some_metadata,
    sort_results,
)
from tests.unit.policy._helpers import POLICY, WHEN, component, reports, result
from tests.unit.policy._helpers import report as make_report

OUTAGE = ComponentError(BUILTIN_IMAGE_SIGNATURE_CHECK, "registry timed out", "registry")


def test_results_sort_by_code_then_term_then_message() -> None:
    unsorted = [
        result("b.rule", "z"),
        result("a.rule", "y", term="t2"),
        result("a.rule", "x", term=["t1", "t9"]),
        result("a.rule", "b"),
        result("a.rule", "a"),
        {"msg": "no code"},
    ]
    assert [r["msg"] for r in sort_results(unsorted)] == ["no code", "a", "b", "x", "y", "z"]


def test_components_sort_by_image_descending_and_success_follows() -> None:
    passing = component("registry/a@sha256:1", successes=2)
    failing = component("registry/b@sha256:2", violations=1)
    report = make_report(passing, failing)
    assert [c.container_image for c in report.components] == [
        "registry/b@sha256:2",
        "registry/a@sha256:1",
    ]
    assert passing.success
    assert not failing.success
    assert not report.success
    assert make_report(passing).success


def test_json_has_conformas_fields_in_order_and_omits_empty_lists() -> None:
    report = make_report(component("registry/a@sha256:1", successes=1), key="PEM")
    document = json.loads(report.to_json())
    assert list(document) == [
        "success",
        "components",
        "key",
        "policy",
        "ec-version",
        "effective-time",
    ]
    assert list(document["components"][0]) == [
        "name",
        "containerImage",
        "source",
        "successes",
        "success",
        "signatures",
        "attestations",
    ]
    assert document["ec-version"] == EC_VERSION
    assert document["effective-time"] == "2026-03-04T05:06:07.123456Z"
    assert list(document["policy"]) == ["sources", "publicKey"]
    assert json.loads(make_report(snapshot="ns/snap").to_json())["snapshot"] == "ns/snap"
    assert json.loads(make_report().to_json())["components"] is None


def test_json_escapes_as_go_and_sorts_metadata_keys() -> None:
    c = ComponentReport(
        "a<b>", "img", violations=({"msg": "x & y", "metadata": {"z": 1.0, "code": "p.r"}},)
    )
    data = make_report(c).to_json()
    assert b"a\\u003cb\\u003e" in data
    assert b"x \\u0026 y" in data
    assert b'"metadata":{"code":"p.r","z":1}' in data


def test_policy_is_written_in_the_crd_struct_order() -> None:
    spec = {
        "publicKey": "k",
        "sources": [
            {
                "config": {"include": ["@a"], "exclude": []},
                "ruleData": {"z": 1, "a": 2},
                "policy": ["p"],
                "volatileConfig": {"exclude": [{"imageRef": "sha256:1", "value": "x.y"}]},
            }
        ],
        "description": "",
        "name": "ecp",
    }
    policy = json.loads(make_report(policy=spec).to_json(), object_pairs_hook=list)[3][1]
    assert policy == [
        ("name", "ecp"),
        (
            "sources",
            [
                [
                    ("policy", ["p"]),
                    ("ruleData", [("z", 1), ("a", 2)]),
                    ("config", [("include", ["@a"])]),
                    (
                        "volatileConfig",
                        [("exclude", [[("value", "x.y"), ("imageRef", "sha256:1")]])],
                    ),
                ]
            ],
        ),
        ("publicKey", "k"),
    ]


def test_effective_time_is_rfc3339nano_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert format_effective_time(datetime(2026, 1, 1, 2, 0, tzinfo=plus2)) == "2026-01-01T00:00:00Z"
    assert (
        format_effective_time(datetime(2026, 1, 1, tzinfo=UTC), 5)
        == "2026-01-01T00:00:00.000000005Z"
    )
    with pytest.raises(InputError):
        format_effective_time(datetime(2026, 1, 1))
    with pytest.raises(InputError):
        Report((), {}, datetime(2026, 1, 1))


def test_nanosecond_times_from_conforma_read_back_exactly() -> None:
    text = make_report().to_json().replace(b"07.123456Z", b"07.123456789Z")
    again = Report.from_json(text)
    assert again.effective_time_text == "2026-03-04T05:06:07.123456789Z"
    assert again.to_json() == text


def test_an_error_component_is_never_a_success_and_keeps_conformas_keys() -> None:
    c = component("registry/a@sha256:1", successes=3, error=OUTAGE)
    assert not c.success
    document = c.to_dict()
    assert document["success"] is False
    assert document["error"] == {
        "code": BUILTIN_IMAGE_SIGNATURE_CHECK,
        "cause": "registry timed out",
        "kind": "registry",
    }
    assert document["violations"] == [
        {
            "msg": "Could not be evaluated: registry timed out",
            "metadata": {"code": BUILTIN_IMAGE_SIGNATURE_CHECK},
        }
    ]
    # Adding the error's violation is idempotent (a report read back does not double it).
    assert replace(c, violations=c.violations).violations == c.violations


@pytest.mark.parametrize(
    ("components", "strict", "code"),
    [
        ([component("a", successes=1)], True, 0),
        ([component("a", violations=1)], True, 1),
        ([component("a", violations=1)], False, 0),
        ([component("a", error=OUTAGE)], True, 3),
        ([component("a", error=OUTAGE)], False, 3),
        ([component("a", error=OUTAGE), component("b", violations=1)], True, 1),
        ([component("a", error=OUTAGE), component("b", violations=1)], False, 3),
        ([component("a", error=OUTAGE, violations=2)], True, 3),
        ([], True, 0),
    ],
)
def test_exit_codes(components: list[ComponentReport], strict: bool, code: int) -> None:
    assert make_report(*components).exit_code(strict=strict) == code


def test_keep_some_metadata_keeps_code_effective_on_and_term() -> None:
    full = result("p.r", title="T", description="D", term="t", effective_on="2022", solution="S")
    assert keep_some_metadata(full) == {
        "msg": "Fails",
        "metadata": {"code": "p.r", "term": "t", "effective_on": "2022"},
    }


def test_success_count_defaults_to_the_listed_successes_and_is_checked() -> None:
    assert component("a", successes=2).success_count == 2
    assert ComponentReport("n", "a", success_count=5).successes_total == 5
    with pytest.raises(InputError):
        ComponentReport("n", "a", successes=(result("p.r"),), success_count=0)


@settings(max_examples=150, deadline=None)
@given(reports)
def test_json_round_trip(report: Report) -> None:
    again = Report.from_json(report.to_json())
    assert again.to_json() == report.to_json()
    assert again.success == report.success
    assert again.exit_code() == report.exit_code()


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["success", "components", "key", "policy", "effective-time", "snapshot", "ec-version"]
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_json, st.dictionaries(_keys, _json)), st.data())
def test_from_json_raises_only_input_errors(document: Any, data: st.DataObject) -> None:
    if data.draw(st.booleans()) and isinstance(document, dict):
        base = json.loads(make_report(component("a", violations=1)).to_json())
        base.update(document)
        document = base
    with contextlib.suppress(InputError):
        Report.from_json(json.dumps(document))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(success=True), "success"),
        (lambda d: d["components"][0].update(success=True), "components[0].success"),
        (lambda d: d["components"][0].update(violations="x"), "components[0].violations"),
        (lambda d: d.update({"effective-time": "yesterday"}), "effective-time"),
        (
            lambda d: d["components"][0]["violations"][0].update(msg=3),
            "components[0].violations[0].msg",
        ),
        (
            lambda d: d["components"][0].update(error={"code": "x", "cause": "y"}),
            "components[0].error",
        ),
    ],
)
def test_from_json_names_the_bad_field(change: Any, field: str) -> None:
    document = json.loads(make_report(component("a", violations=1)).to_json())
    change(document)
    with pytest.raises(InputError) as caught:
        Report.from_json(json.dumps(document), source="r.json")
    assert caught.value.field == field
    assert caught.value.source == "r.json"


def test_from_json_refuses_an_error_without_its_violation() -> None:
    document = json.loads(make_report(component("a", error=OUTAGE)).to_json())
    document["components"][0]["violations"] = [result("p.r")]
    with pytest.raises(InputError, match="violation"):
        Report.from_json(json.dumps(document))


# -- shards and merge ------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 2), st.booleans(), st.booleans()),
        min_size=1,
        max_size=12,
        unique_by=lambda t: t[0],
    ),
    st.integers(1, 6),
    st.randoms(use_true_random=False),
)
def test_merged_shards_equal_one_run(
    specs: list[tuple[int, int, bool, bool]], count: int, rnd: Any
) -> None:
    snapshot = [
        {"name": f"c{n}", "containerImage": f"registry/c{n}@sha256:{n:x}"} for n, *_ in specs
    ]
    rnd.shuffle(snapshot)

    def evaluate(entry: dict[str, str]) -> ComponentReport:
        n = int(entry["name"][1:])
        _, violations, warn, err = next(s for s in specs if s[0] == n)
        return component(
            entry["containerImage"],
            name=entry["name"],
            violations=violations,
            warnings=int(warn),
            successes=2,
            error=OUTAGE if err and n % 3 == 0 else None,
        )

    whole = make_report(*(evaluate(e) for e in snapshot))
    shards = [
        make_report(*(evaluate(e) for e in select_shard(snapshot, i, count))) for i in range(count)
    ]
    assert sum(len(s.components) for s in shards) == len(snapshot)
    # Shard reports travel as JSON between Tekton tasks.
    merged = merge([Report.from_json(s.to_json()) for s in reversed(shards)])
    assert merged.to_json() == whole.to_json()
    assert merged.exit_code() == whole.exit_code()
    assert merged.exit_code(strict=False) == whole.exit_code(strict=False)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"policy": {"sources": []}}, "policy"),
        ({"key": "other"}, "key"),
        ({"when": WHEN + timedelta(seconds=1)}, "effective-time"),
        ({"snapshot": "other"}, "snapshot"),
        ({"ec_version": "v0.8.0"}, "ec-version"),
    ],
)
def test_merge_refuses_reports_of_different_runs(changes: dict[str, Any], field: str) -> None:
    first = make_report(component("a"))
    second = make_report(component("b"), **changes)
    with pytest.raises(InputError) as caught:
        merge([first, second])
    assert caught.value.field == field
    assert field in caught.value.message


def test_merge_refuses_a_shard_merged_twice_and_nothing() -> None:
    shard = make_report(component("a"))
    with pytest.raises(InputError, match="more than one report"):
        merge([shard, shard])
    with pytest.raises(InputError, match="no reports"):
        merge([])


def test_merge_keeps_policy_order_differences_apart_from_content() -> None:
    a = make_report(component("a"), policy={"publicKey": "k", "sources": [{"policy": ["p"]}]})
    b = make_report(component("b"), policy={"sources": [{"policy": ["p"]}], "publicKey": "k"})
    assert len(merge([a, b]).components) == 2


def test_select_shard_partitions_whatever_the_order() -> None:
    images = [f"r/i{n}" for n in (5, 3, 9, 1, 7)]
    shards = [select_shard([{"containerImage": i} for i in images], k, 2) for k in range(2)]
    assert [c["containerImage"] for c in shards[0]] == ["r/i1", "r/i5", "r/i9"]
    assert [c["containerImage"] for c in shards[1]] == ["r/i3", "r/i7"]
    objects = [component(i) for i in images]
    assert select_shard(objects, 1, 2) == [
        c for c in objects if c.container_image in ("r/i3", "r/i7")
    ]
    assert select_shard(images, 0, 5, key=str) == ["r/i1"]
    with pytest.raises(InputError):
        select_shard(images, 2, 2)


@pytest.mark.parametrize(("text", "parsed"), [("0/1", (0, 1)), (" 3 / 4 ", (3, 4))])
def test_parse_shard(text: str, parsed: tuple[int, int]) -> None:
    assert parse_shard(text) == parsed


@pytest.mark.parametrize("text", ["", "1", "4/4", "-1/2", "0/0", "a/b", "1/2/3"])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_shard(text)
    assert caught.value.field == "--shard"


def test_policy_in_helpers_is_what_reports_carry() -> None:
    assert make_report().policy == POLICY
