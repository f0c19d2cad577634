"""Include/exclude scoring and the verdict lists, case by case against Conforma's semantics.

The scenario tests restate Conforma's acceptance scenarios (``features/validate_image.feature``)
with our own rule tables; the expected lists are those of ``validate_image.snap``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import InputError, PolicyError
from konflux_supply.policy import Criteria, score_results
from konflux_supply.policy.criteria import (
    matchers_for_code,
    original_component_name,
    parse_volatile_time,
    score,
)

from ._rules import (
    DIGEST,
    FILTERING,
    FILTERING_RAW,
    IMAGE,
    NOW,
    RuleInfo,
    by_code,
    codes,
    outcome,
    policy,
)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("@redhat", 10),
        ("@redhat:term", 10),
        ("*", 1),
        ("pkg", 10),
        ("pkg.", 10),
        ("pkg.*", 10),
        ("pkg.rule", 110),
        ("pkg:term", 110),
        ("pkg.rule:term", 210),
        ("pkg.*:term", 110),
        ("*:term", 101),
        ("*.rule", 101),
        ("a.pkg.rule", 120),
        ("a.b.pkg.rule", 130),
        ("a.b.pkg.*", 30),
    ],
)
def test_score(entry: str, expected: int) -> None:
    assert score(entry) == expected


def test_matchers() -> None:
    assert matchers_for_code("a.b.pkg.rule", terms=["t1", ""], collections=["c"]) == [
        "pkg",
        "pkg.*",
        "pkg.rule",
        "pkg:t1",
        "pkg.*:t1",
        "pkg.rule:t1",
        "*",
        "@c",
    ]
    assert matchers_for_code("") == ["*"]
    assert matchers_for_code("norule") == ["*"]


RULE = {"msg": "m", "metadata": {"code": "pkg.rule", "collections": ["c"], "term": "t"}}


@pytest.mark.parametrize(
    ("include", "exclude", "included"),
    [
        (["*"], [], True),
        (["*"], ["*"], False),  # a tie is out
        (["*"], ["pkg"], False),
        (["pkg.rule"], ["pkg"], True),
        (["@c"], ["pkg"], False),  # 10 vs 10
        (["@c", "*"], ["pkg"], True),  # 11 vs 10
        (["pkg"], ["pkg.rule:t"], False),
        (["pkg.rule:t"], ["pkg.rule"], True),
        (["pkg.rule"], ["pkg:t"], False),  # 110 vs 110
        (["pkg", "pkg.*"], ["@c"], True),  # every matching entry adds up
        (["pkg", "pkg"], ["pkg.*", "*"], True),  # duplicates count twice: 20 > 11
        (["other"], [], False),
        (["x.pkg.rule"], [], False),  # only the last package segment is matched
        (["pkg.rule:other"], [], False),
    ],
)
def test_included_iff_include_beats_exclude(
    include: list[str], exclude: list[str], included: bool
) -> None:
    criteria = Criteria(include=tuple(include), exclude=tuple(exclude), defaulted=False)
    assert criteria.includes_result(RULE) is included


def test_multi_terms_match_each_term() -> None:
    result = {"msg": "m", "metadata": {"code": "pkg.rule", "term": ["t2", "t3"]}}
    assert not Criteria(exclude=("pkg.rule:t3",)).includes_result(result)
    assert Criteria(exclude=("pkg.rule:t1",)).includes_result(result)


# -------------------------------------------------------------------------------------------
# Building the lists for an image


def _lists(criteria: Criteria) -> tuple[list[str], list[str]]:
    return list(criteria.include), list(criteria.exclude)


def _for(ecp: Any, **kwargs: Any) -> Criteria:
    kwargs.setdefault("image_ref", IMAGE)
    kwargs.setdefault("effective_time", NOW)
    return Criteria.for_image(ecp.sources[0], configuration=ecp.configuration, **kwargs)


def test_empty_selection_includes_everything() -> None:
    criteria = _for(policy())
    assert _lists(criteria) == (["*"], [])
    assert criteria.defaulted


def test_deprecated_configuration_only_when_the_source_selects_nothing() -> None:
    spec: dict[str, Any] = {
        "sources": [{"policy": ["p"]}],
        "configuration": {"include": ["a"], "exclude": ["b"], "collections": ["c"]},
    }
    from konflux_supply.policy import EnterpriseContractPolicy

    ecp = EnterpriseContractPolicy.from_dict(spec)
    assert _lists(_for(ecp)) == (["a", "@c"], ["b"])
    spec["sources"][0]["config"] = {"exclude": ["x"]}
    ecp = EnterpriseContractPolicy.from_dict(spec)
    assert _lists(_for(ecp)) == (["*"], ["x"])
    # An active volatile item for another image also counts as "selecting something".
    spec["sources"][0]["config"] = {}
    spec["sources"][0]["volatileConfig"] = {
        "exclude": [{"value": "y", "imageDigest": "sha256:" + "1" * 64}]
    }
    ecp = EnterpriseContractPolicy.from_dict(spec)
    assert _lists(_for(ecp)) == (["*"], [])
    # ...but an inactive one does not.
    spec["sources"][0]["volatileConfig"]["exclude"][0]["effectiveOn"] = "2099-01-01"
    ecp = EnterpriseContractPolicy.from_dict(spec)
    assert _lists(_for(ecp)) == (["a", "@c"], ["b"])


@pytest.mark.parametrize(
    ("item", "applies"),
    [
        ({}, True),
        ({"effectiveOn": "2026-08-19"}, True),
        ({"effectiveOn": "2026-08-20"}, False),
        ({"effectiveOn": "2026-08-19T12:00:00Z"}, True),  # boundaries are inclusive
        ({"effectiveUntil": "2026-08-19T12:00:00Z"}, True),
        ({"effectiveUntil": "2026-08-19T11:59:59Z"}, False),
        ({"effectiveUntil": "2026-08-19T14:00:00+02:00"}, True),
        ({"effectiveUntil": "2026-08-19"}, False),  # midnight UTC
        ({"effectiveOn": "2020-01-01", "effectiveUntil": "2099-12-31T23:59:59Z"}, True),
        ({"imageDigest": DIGEST}, True),
        ({"imageDigest": "sha256:" + "cd" * 32}, False),
        ({"imageRef": DIGEST}, True),
        ({"imageUrl": "registry.io/acceptance/ec-happy-day"}, True),
        ({"imageUrl": "registry.io/acceptance/other"}, False),
        ({"imageUrl": "registry.io/acceptance/ec-happy-day:latest"}, False),
        ({"componentNames": ["Unnamed"]}, True),
        ({"componentNames": ["other", "Unnamed"]}, True),
        ({"componentNames": ["other"]}, False),
    ],
)
def test_volatile_items(item: dict[str, Any], applies: bool) -> None:
    ecp = policy(volatileConfig={"exclude": [{"value": "pkg.rule", **item}]})
    criteria = _for(ecp, component_name="Unnamed")
    assert ("pkg.rule" in criteria.exclude) is applies


def test_unreadable_dates_skip_the_item_with_a_warning() -> None:
    ecp = policy(
        volatileConfig={
            "include": [{"value": "a", "effectiveOn": "tomorrow"}, {"value": "b"}],
            "exclude": [{"value": "c", "effectiveUntil": "2026-13-01"}],
        }
    )
    criteria = _for(ecp)
    assert _lists(criteria) == (["b"], [])
    assert len(criteria.warnings) == 2
    assert "'tomorrow'" in criteria.warnings[0]


def test_multi_arch_component_names_match_the_original_name() -> None:
    child = "multi-arch-test-sha256:" + "a1b2c3d4" * 8 + "-arm64"
    assert original_component_name(child) == "multi-arch-test"
    assert original_component_name("multi-arch-test-sha256:abc-arm64") == (
        "multi-arch-test-sha256:abc-arm64"
    )
    assert original_component_name(child + "\n") == child + "\n"
    ecp = policy(
        volatileConfig={"exclude": [{"value": "x", "componentNames": ["multi-arch-test"]}]}
    )
    assert _for(ecp, component_name=child).exclude == ("x",)
    other = "other-component-sha256:" + "a1b2c3d4" * 8 + "-amd64"
    assert _for(ecp, component_name=other).exclude == ()


def test_scoped_items_need_a_readable_reference() -> None:
    ecp = policy(
        volatileConfig={"exclude": [{"value": "x", "imageDigest": DIGEST}, {"value": "y"}]}
    )
    assert _for(ecp, image_ref="not a reference!").exclude == ("y",)
    assert _for(ecp, image_ref="registry.io/a/b:tag", image_digest=DIGEST).exclude == ("x", "y")


def test_effective_time_needs_a_zone() -> None:
    with pytest.raises(InputError, match="time zone"):
        _for(policy(), effective_time=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.5+01:00", datetime(2024, 1, 2, 2, 4, 5, 500000, tzinfo=UTC)),
        ("2024-01-02 03:04:05Z", None),
        ("2024-01-02T03:04:05", None),
        ("2024-02-30", None),
        ("24-01-02", None),
        ("", None),
    ],
)
def test_volatile_times(text: str, expected: datetime | None) -> None:
    assert parse_volatile_time(text) == expected


# -------------------------------------------------------------------------------------------
# Conforma's acceptance scenarios


def test_policy_rule_filtering() -> None:
    ecp = policy(
        config={
            "include": ["@stamps", "filtering.always_pass"],
            "exclude": ["filtering.always_fail", "filtering.always_fail_with_collection"],
        }
    )
    result = outcome(ecp, FILTERING_RAW, FILTERING)
    assert result.violations == []
    assert result.warnings == []
    assert result.successes == [
        {"msg": "Pass", "metadata": {"code": "filtering.always_pass"}},
        {"msg": "Pass", "metadata": {"code": "filtering.always_pass_with_collection"}},
    ]
    assert result.unmatched_criteria == ()


@pytest.mark.parametrize(
    "scope",
    [
        {"imageRef": DIGEST},
        {"imageDigest": DIGEST},
        {"imageUrl": "registry.io/acceptance/ec-happy-day"},
        {"componentNames": ["multi-arch-test"]},
    ],
)
def test_policy_rule_filtering_on_the_image(scope: dict[str, Any]) -> None:
    ecp = policy(
        config={"include": ["@stamps", "filtering.always_pass", "filtering.always_fail"]},
        volatileConfig={
            "exclude": [
                {"value": "filtering.always_fail", **scope},
                {"value": "filtering.always_fail_with_collection", **scope},
            ]
        },
    )
    child = "multi-arch-test-sha256:" + "a1b2c3d4" * 8 + "-arm64"
    result = outcome(ecp, FILTERING_RAW, FILTERING, component=child)
    assert result.violations == []
    assert result.warnings == []
    assert codes(result.successes) == [
        "filtering.always_pass",
        "filtering.always_pass_with_collection",
    ]
    # Another image (or component) is not covered by the scoped excludes.
    other = outcome(
        ecp,
        FILTERING_RAW,
        FILTERING,
        image="registry.io/acceptance/other@sha256:" + "cd" * 32,
        component="other-component-sha256:" + "a1b2c3d4" * 8 + "-amd64",
    )
    assert other.violations == [
        {"msg": "always fail", "metadata": {"code": "filtering.always_fail"}},
        {
            "msg": "always fail with collection",
            "metadata": {"code": "filtering.always_fail_with_collection"},
        },
    ]
    assert codes(other.successes) == codes(result.successes)


def test_policy_rule_filtering_for_successes() -> None:
    ecp = policy(
        config={
            "include": ["@stamps", "filtering.always_pass"],
            "exclude": [
                "filtering.always_pass_with_collection",
                "filtering.always_fail_with_collection",
            ],
        }
    )
    result = outcome(ecp, FILTERING_RAW, FILTERING)
    assert result.violations == []
    assert result.warnings == []
    assert codes(result.successes) == ["filtering.always_pass"]


def test_inexistent_inclusion_patterns_warn() -> None:
    ecp = policy(
        config={
            "include": ["@stamps", "filtering.always_pass", "not-a-rule"],
            "exclude": ["filtering.always_fail", "filtering.always_fail_with_collection"],
        }
    )
    result = outcome(ecp, FILTERING_RAW, FILTERING)
    assert result.warnings == [
        {"msg": "Include criterion 'not-a-rule' doesn't match any policy rule"}
    ]
    assert [(c.kind, c.value) for c in result.unmatched_criteria] == [("include", "not-a-rule")]
    strict = result.with_strict_config()
    assert strict.warnings == []
    assert strict.violations == result.warnings
    assert codes(strict.successes) == codes(result.successes)


@pytest.mark.parametrize(
    ("include", "exclude", "unmatched"),
    [
        (["filtering"], ["filtering.*"], []),
        (["@stamps"], ["@stamp"], [("exclude", "@stamp")]),
        (["filtering.always_pass:any-term"], [], []),  # the rule exists; terms are not known
        (
            ["filtering.always_pas"],
            ["release.filtering.always_fail"],
            [
                ("include", "filtering.always_pas"),
                ("exclude", "release.filtering.always_fail"),
            ],
        ),
        (["*"], ["main"], [("exclude", "main")]),
        (["other.*", "other.*"], [], [("include", "other.*")]),
    ],
)
def test_criteria_naming_nothing_are_reported(
    include: list[str], exclude: list[str], unmatched: list[tuple[str, str]]
) -> None:
    # "filtering.always_pass" keeps one success, so there is always something to report.
    ecp = policy(config={"include": [*include, "filtering.always_pass"], "exclude": exclude})
    raw = {"filtering": {"deny": [], "warn": []}}
    result = outcome(ecp, raw, FILTERING)
    assert "filtering.always_pass" in codes(result.successes)
    assert [(c.kind, c.value) for c in result.unmatched_criteria] == unmatched
    messages = {w["msg"] for w in result.warnings}
    for kind, value in unmatched:
        assert f"{kind.capitalize()} criterion '{value}' doesn't match any policy rule" in messages


def test_unmatched_excludes_can_be_left_out() -> None:
    ecp = policy(config={"exclude": ["nope"]})
    criteria = _for(ecp)
    raw = {"filtering": {"deny": [], "warn": []}}
    result = score_results(
        raw, FILTERING, criteria, effective_time=NOW, report_unmatched_excludes=False
    )
    assert result.warnings == []
    assert result.unmatched_criteria == ()


FUTURE = {"main": {"deny": [{"msg": "Fails in 2099", "effective_on": "2099-01-01T00:00:00Z"}]}}


def test_future_failure_is_a_warning() -> None:
    result = outcome(policy(), FUTURE, {})
    assert result.violations == []
    assert result.warnings == [
        {
            "msg": "Fails in 2099. This will become a failure starting on 2099-01-01T00:00:00Z",
            "metadata": {"effective_on": "2099-01-01T00:00:00Z"},
        }
    ]


def test_future_failure_is_a_failure_at_a_later_effective_time() -> None:
    result = outcome(policy(), FUTURE, {}, when=datetime(2100, 1, 1, 12, tzinfo=UTC))
    assert result.warnings == []
    assert result.violations == [
        {"msg": "Fails in 2099", "metadata": {"effective_on": "2099-01-01T00:00:00Z"}}
    ]


def test_effective_on_equal_to_the_effective_time_is_still_a_warning() -> None:
    raw = {"main": {"deny": [{"msg": "Soon.", "effective_on": "2026-08-19T12:00:00Z"}]}}
    result = outcome(policy(), raw, {})
    assert result.warnings[0]["msg"] == (
        "Soon. This will become a failure starting on 2026-08-19T12:00:00Z"
    )


def test_severity_is_dynamically_adjusted() -> None:
    raw = {
        "main": {
            "deny": [
                {"msg": "Failure to warning", "severity": "warning"},
                {"msg": "Failure to failure", "severity": "failure"},
            ],
            "warn": [
                {"msg": "Warning to failure", "severity": "failure"},
                {"msg": "Warning to warning", "severity": "warning"},
                {"msg": "Warning to nothing", "severity": "fatal"},
            ],
        }
    }
    result = outcome(policy(), raw, {}, info=True)
    assert result.violations == [
        {"msg": "Failure to failure", "metadata": {"severity": "failure"}},
        {"msg": "Warning to failure", "metadata": {"severity": "failure"}},
    ]
    assert [w["msg"] for w in result.warnings] == [
        "Failure to warning",
        "Warning to nothing",
        "Warning to warning",
    ]


def test_rule_severity_annotation_wins() -> None:
    rules = by_code([RuleInfo("main", "soft", severity="warning")])
    raw = {"main": {"deny": [{"code": "main.soft", "msg": "x", "severity": "failure"}]}}
    result = outcome(policy(), raw, rules)
    assert result.violations == []
    assert codes(result.warnings) == ["main.soft"]


DEPENDENCIES = by_code(
    [
        RuleInfo("pkg", "fails"),
        RuleInfo("pkg", "warns", kind="warn"),
        RuleInfo("pkg", "deny_depends_on_failure_succeeds", depends_on=("pkg.fails",)),
        RuleInfo("pkg", "warn_depends_on_warning_succeeds", kind="warn", depends_on=("pkg.warns",)),
        RuleInfo("pkg", "deny_depends_on_warning_fails", depends_on=("pkg.warns",)),
        RuleInfo("pkg", "warn_depends_on_failure_fails", kind="warn", depends_on=("pkg.fails",)),
    ]
)


def test_rule_dependencies() -> None:
    raw = {
        "pkg": {
            "deny": [
                {"code": "pkg.fails", "msg": "Failure"},
                {"code": "pkg.deny_depends_on_warning_fails", "msg": "Should not be reported"},
            ],
            "warn": [
                {"code": "pkg.warns", "msg": "Warning"},
                {"code": "pkg.warn_depends_on_failure_fails", "msg": "Should not be reported"},
            ],
        }
    }
    result = outcome(policy(), raw, DEPENDENCIES)
    assert result.violations == [{"msg": "Failure", "metadata": {"code": "pkg.fails"}}]
    assert result.warnings == [{"msg": "Warning", "metadata": {"code": "pkg.warns"}}]
    assert result.successes == []


def test_a_result_survives_while_one_of_its_dependencies_passed() -> None:
    rules = by_code(
        [
            RuleInfo("pkg", "a"),
            RuleInfo("pkg", "b"),
            RuleInfo("pkg", "c", depends_on=("pkg.a", "pkg.b")),
        ]
    )
    raw = {"pkg": {"deny": [{"code": "pkg.a", "msg": "a"}, {"code": "pkg.c", "msg": "c"}]}}
    result = outcome(policy(), raw, rules)
    assert codes(result.violations) == ["pkg.a", "pkg.c"]  # kept once (Conforma repeats it)
    raw["pkg"]["deny"].append({"code": "pkg.b", "msg": "b"})
    result = outcome(policy(), raw, rules)
    assert codes(result.violations) == ["pkg.a", "pkg.b"]


MAIN = by_code(
    [
        RuleInfo(
            "main",
            "acceptor",
            title="Allow rule",
            description="This rule will never fail",
            solution="Easy",
            collections=("A",),
        ),
        RuleInfo(
            "main",
            "rejector",
            title="Reject rule",
            description="This rule will always fail",
            solution="None",
            collections=("A",),
        ),
        RuleInfo(
            "main",
            "reject_with_term",
            title="Reject with term rule",
            description="This rule will always fail",
            solution="None",
            collections=("A",),
        ),
    ]
)
REJECT = {
    "main": {
        "deny": [
            {
                "code": "main.rejector",
                "collections": ["A"],
                "effective_on": "2022-01-01T00:00:00Z",
                "msg": "Fails always",
            },
            {
                "code": "main.reject_with_term",
                "term": "term1",
                "collections": ["A"],
                "effective_on": "2022-01-01T00:00:00Z",
                "msg": "Fails always (term1)",
            },
            {
                "code": "main.reject_with_term",
                "term": ["term2", "term3"],
                "collections": ["A"],
                "effective_on": "2022-01-01T00:00:00Z",
                "msg": "Fails always (term2)",
            },
        ],
        "warn": [],
    }
}


def test_detailed_failures_output() -> None:
    result = outcome(policy(), REJECT, MAIN, info=True)
    hint = "to the `exclude` section of the policy configuration."
    assert result.violations == [
        {
            "msg": "Fails always (term1)",
            "metadata": {
                "code": "main.reject_with_term",
                "collections": ["A"],
                "description": "This rule will always fail. To exclude this rule add "
                f'"main.reject_with_term:term1" {hint}',
                "solution": "None",
                "term": "term1",
                "title": "Reject with term rule",
            },
        },
        {
            "msg": "Fails always (term2)",
            "metadata": {
                "code": "main.reject_with_term",
                "collections": ["A"],
                "description": "This rule will always fail. To exclude this rule add one or more "
                f'of "main.reject_with_term:term2", "main.reject_with_term:term3" {hint}',
                "solution": "None",
                "term": ["term2", "term3"],
                "title": "Reject with term rule",
            },
        },
        {
            "msg": "Fails always",
            "metadata": {
                "code": "main.rejector",
                "collections": ["A"],
                "description": "This rule will always fail. To exclude this rule add "
                f'"main.rejector" {hint}',
                "solution": "None",
                "title": "Reject rule",
            },
        },
    ]
    assert result.successes == [
        {
            "msg": "Pass",
            "metadata": {
                "code": "main.acceptor",
                "collections": ["A"],
                "description": "This rule will never fail",
                "title": "Allow rule",
            },
        }
    ]


def test_without_info_only_code_effective_on_and_term_stay() -> None:
    result = outcome(policy(), REJECT, MAIN)
    assert result.violations == [
        {
            "msg": "Fails always (term1)",
            "metadata": {"code": "main.reject_with_term", "term": "term1"},
        },
        {
            "msg": "Fails always (term2)",
            "metadata": {"code": "main.reject_with_term", "term": ["term2", "term3"]},
        },
        {"msg": "Fails always", "metadata": {"code": "main.rejector"}},
    ]
    assert result.successes == [{"msg": "Pass", "metadata": {"code": "main.acceptor"}}]


def test_excluding_a_term() -> None:
    ecp = policy(config={"exclude": ["main.reject_with_term:term1", "main.rejector"]})
    result = outcome(ecp, REJECT, MAIN)
    assert [v["msg"] for v in result.violations] == ["Fails always (term2)"]
    # As Conforma: the rejector rule is excluded, so it is not a success either.
    assert codes(result.successes) == ["main.acceptor"]


def test_recent_effective_on_is_kept_and_old_one_dropped() -> None:
    rules = by_code(
        [RuleInfo("main", "new", effective_on="2026-07-01T00:00:00Z"), RuleInfo("main", "old")]
    )
    raw = {
        "main": {
            "deny": [
                {"code": "main.new", "msg": "n"},
                {"code": "main.old", "msg": "o", "effective_on": "2026-05-20T00:00:00Z"},
            ]
        }
    }
    result = outcome(policy(), raw, rules)
    assert result.violations == [
        {"msg": "n", "metadata": {"code": "main.new", "effective_on": "2026-07-01T00:00:00Z"}},
        {"msg": "o", "metadata": {"code": "main.old"}},
    ]
    boundary = NOW - timedelta(days=90)
    raw["main"]["deny"][1]["effective_on"] = boundary.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "effective_on" in outcome(policy(), raw, rules).violations[1]["metadata"]


def test_successes_carry_the_rule_effective_on() -> None:
    rules = by_code(
        [RuleInfo("main", "ok", effective_on="2022-01-01T00:00:00Z", depends_on=("main.x",))]
    )
    result = outcome(policy(), {"main": {"deny": []}}, rules, info=True)
    assert result.successes == [
        {
            "msg": "Pass",
            "metadata": {
                "code": "main.ok",
                "depends_on": ["main.x"],
                "effective_on": "2022-01-01T00:00:00Z",
            },
        }
    ]


def test_successes_only_for_evaluated_packages() -> None:
    rules = by_code([RuleInfo("a.pkg", "ok"), RuleInfo("b.other", "ok")])
    result = outcome(policy(), {"a.pkg": {"deny": [], "warn": []}}, rules)
    assert codes(result.successes) == ["pkg.ok"]


def test_results_without_code_are_always_kept() -> None:
    ecp = policy(config={"include": ["@nothing"], "exclude": ["*"]})
    raw = {"main": {"deny": ["plain string"], "warn": [{"msg": "obj", "extra": 1}]}}
    result = outcome(ecp, raw, {}, info=True)
    assert result.violations == [{"msg": "plain string"}]
    assert {"msg": "obj", "metadata": {"extra": 1}} in result.warnings


def test_collections_are_normalised() -> None:
    raw = {"main": {"deny": [{"code": "main.x", "msg": "m", "collections": ["a", 1, True]}]}}
    result = outcome(policy(), raw, {}, info=True)
    assert result.violations[0]["metadata"]["collections"] == ["a", "1", "true"]
    raw = {"main": {"deny": [{"code": "main.x", "msg": "m", "collections": "a"}]}}
    assert "collections" not in outcome(policy(), raw, {}, info=True).violations[0]["metadata"]


def test_sorted_by_code_term_and_message() -> None:
    raw = {
        "z": {"deny": [{"code": "z.b", "msg": "2"}, {"code": "z.b", "msg": "1"}, "no code"]},
        "a": {
            "deny": [
                {"code": "a.b", "msg": "x", "term": "t2"},
                {"code": "a.b", "msg": "y", "term": "t1"},
            ]
        },
    }
    result = outcome(policy(), raw, {})
    assert [v["msg"] for v in result.violations] == ["no code", "y", "x", "1", "2"]


def test_nothing_to_report_is_an_error() -> None:
    with pytest.raises(PolicyError, match="no successes, warnings, or failures, check input"):
        outcome(policy(), {"main": {"deny": [], "warn": []}}, {})
    ecp = policy(config={"exclude": ["filtering"]})
    with pytest.raises(PolicyError, match="check input"):
        outcome(ecp, FILTERING_RAW, FILTERING)


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ({"code": "x.y"}, "no msg field"),
        ({"msg": 1}, "not a string"),
        (42, "neither a string nor an object"),
        ([1], "neither a string nor an object"),
    ],
)
def test_unreadable_results_are_policy_errors(element: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        outcome(policy(), {"main": {"deny": [element]}}, {})


def test_pre_evaluation_packages() -> None:
    rules = by_code(
        [
            RuleInfo("release.a", "one", collections=("x",)),
            RuleInfo("release.b", "two"),
        ]
    )
    criteria = Criteria(include=("@x",), exclude=(), defaulted=False)
    assert criteria.includes_rule(rules["a.one"])
    assert not criteria.includes_rule(rules["b.two"])
    packages = ["release.a", "release.b", "main"]
    assert criteria.packages_to_evaluate(rules.values(), packages) == {"release.a"}
    criteria = Criteria(include=("main",), exclude=(), defaulted=False)
    assert criteria.packages_to_evaluate(rules.values(), packages) == {"main"}
    # Nothing qualifies: everything is evaluated (Conforma), codeless results still count.
    criteria = Criteria(include=("@none",), exclude=(), defaulted=False)
    assert criteria.packages_to_evaluate(rules.values(), packages) == set(packages)


def test_volatile_config_warnings_scenario() -> None:
    excludes = [
        {"value": "test.rule_with_no_expiration"},
        {"value": "test.rule_expiring_soon", "effectiveUntil": "2099-12-31T23:59:59Z"},
        {"value": "test.rule_pending_activation", "effectiveOn": "2099-01-01T00:00:00Z"},
        {"value": "test.component_scoped_rule", "componentNames": ["Unnamed"]},
    ]
    ecp = policy(volatileConfig={"exclude": excludes})
    messages = [
        "Volatile exclude rule 'test.rule_with_no_expiration' has no expiration date set",
        "Volatile exclude rule 'test.component_scoped_rule' is scoped to component 'Unnamed'",
    ]
    raw = {"main": {"warn": [{"msg": m} for m in messages]}}
    criteria = _for(ecp, component_name="Unnamed")
    assert criteria.exclude == (
        "test.component_scoped_rule",
        "test.rule_with_no_expiration",
        "test.rule_expiring_soon",
    )
    exact = score_results(raw, {}, criteria, effective_time=NOW, report_unmatched_excludes=False)
    assert [w["msg"] for w in exact.warnings] == sorted(messages)
    ours = score_results(raw, {}, criteria, effective_time=NOW)
    assert [c.value for c in ours.unmatched_criteria] == list(criteria.exclude)
    assert len(ours.warnings) == 5


_element = st.one_of(
    st.text(max_size=5),
    st.fixed_dictionaries(
        {"msg": st.text(max_size=5)},
        optional={
            "code": st.sampled_from(["p.a", "p.b", "q.c", "", "x"]),
            "term": st.one_of(st.text(max_size=3), st.lists(st.text(max_size=3), max_size=2)),
            "severity": st.sampled_from(["warning", "failure", "other"]),
            "effective_on": st.sampled_from(
                ["2022-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "garbage"]
            ),
            "collections": st.lists(st.sampled_from(["c1", "c2"]), max_size=2),
        },
    ),
)
_entries = st.lists(
    st.sampled_from(["*", "p", "p.*", "p.a", "p.a:t", "@c1", "q", "nope", "p.b:x"]), max_size=3
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_element, max_size=5),
    st.lists(_element, max_size=5),
    _entries,
    _entries,
    st.booleans(),
)
def test_every_in_scope_result_is_reported_once(
    deny: list[Any], warn: list[Any], include: list[str], exclude: list[str], info: bool
) -> None:
    """No depends_on here: every kept result lands in exactly one list; codeless ones always."""
    rules = by_code([RuleInfo("p", "a", collections=("c1",)), RuleInfo("q", "c")])
    criteria = Criteria(
        include=tuple(include) or ("*",), exclude=tuple(exclude), defaulted=not include
    )
    raw = {"p": {"deny": deny, "warn": warn}}
    try:
        result = score_results(raw, rules, criteria, effective_time=NOW, info=info)
    except PolicyError as error:
        if "no successes" not in error.message:
            raise
        return
    reported = result.violations + result.warnings
    unmatched = {c.message for c in result.unmatched_criteria}
    reported = [r for r in reported if r["msg"] not in unmatched or r.get("metadata")]
    codeless = [e for e in deny + warn if isinstance(e, str) or not e.get("code")]
    assert len(reported) >= len(codeless)
    assert len(reported) <= len(deny) + len(warn)
    for results in (result.violations, result.warnings, result.successes):
        assert all(set(r) <= {"msg", "metadata"} for r in results)
        if not info:
            assert all(
                set(r.get("metadata", {})) <= {"code", "effective_on", "term"} for r in results
            )
