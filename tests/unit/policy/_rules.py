"""A stand-in for ``policy.annotations.RuleInfo`` (owned by the engine branch) and small builders.

Structurally identical to the contract in POLICY-CONTRACTS.md; the criteria code types against
the :class:`~konflux_supply.policy.criteria.RuleInfoLike` protocol, so the real class drops in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from konflux_supply.policy import Criteria, EnterpriseContractPolicy, Outcome, score_results

NOW = datetime(2026, 8, 19, 12, 0, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"registry.io/acceptance/ec-happy-day@{DIGEST}"


@dataclass(frozen=True)
class RuleInfo:
    package: str
    short_name: str
    kind: str = "deny"
    title: str = ""
    description: str = ""
    failure_msg: str = ""
    solution: str = ""
    collections: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    effective_on: str | None = None
    severity: str | None = None
    pipeline_intention: tuple[str, ...] = ()
    file: str = "policy.rego"
    line: int = 1
    code: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", f"{self.package.rsplit('.', 1)[-1]}.{self.short_name}")


def by_code(rules: Iterable[RuleInfo]) -> dict[str, RuleInfo]:
    return {rule.code: rule for rule in rules}


# The rules of Conforma's acceptance policy "filtering" (our own restatement of its metadata).
FILTERING = by_code(
    [
        RuleInfo("filtering", "always_pass", title="always pass", description="passes"),
        RuleInfo("filtering", "always_fail", title="always fail", description="fails"),
        RuleInfo("filtering", "always_pass_with_collection", collections=("stamps",)),
        RuleInfo("filtering", "always_fail_with_collection", collections=("stamps",)),
    ]
)
FILTERING_RAW: dict[str, dict[str, list[Any]]] = {
    "filtering": {
        "deny": [
            {"code": "filtering.always_fail", "msg": "always fail"},
            {
                "code": "filtering.always_fail_with_collection",
                "msg": "always fail with collection",
                "collections": ["stamps"],
            },
        ],
        "warn": [],
    }
}


def policy(**source: Any) -> EnterpriseContractPolicy:
    """A one-source policy with the given source fields (``policy`` filled in)."""
    return EnterpriseContractPolicy.from_dict({"sources": [{"policy": ["p"], **source}]})


def outcome(
    ecp: EnterpriseContractPolicy,
    raw: dict[str, dict[str, list[Any]]],
    rules: dict[str, RuleInfo],
    *,
    image: str = IMAGE,
    component: str = "Unnamed",
    when: datetime = NOW,
    info: bool = False,
) -> Outcome:
    criteria = Criteria.for_image(
        ecp.sources[0],
        image_ref=image,
        component_name=component,
        effective_time=when,
        configuration=ecp.configuration,
    )
    return score_results(raw, rules, criteria, effective_time=when, info=info)


def codes(results: list[dict[str, Any]]) -> list[str]:
    return [r.get("metadata", {}).get("code", r["msg"]) for r in results]
