"""Known-bad inputs for Conforma's release policy: no package answers with silence (issue 14).

Every package of the upstream ``policy/release`` must report a violation (a warning for
warn-only packages) on an input built to violate it — see ``_conforma_bad`` for the cases.
Needs the upstream checkout ($KONFLUX_SUPPLY_CONFORMA_POLICY or ``.upstream/conforma-policy``)
and the peer corpus ($KONFLUX_SUPPLY_PEERS) for the golden input; skips with one line without.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from konflux_supply.policy import _conforma_release, _conformance
from tests.conformance import _conforma_bad as bad
from tests.conftest import REPO_ROOT, peers_root

DOC = REPO_ROOT / "docs" / "conforma-compatibility.md"
GOLDEN = ("conforma", "policy", "acceptance", "samples", "policy-input-golden-container.json")

Results = dict[str, dict[str, list[Any]]]


@pytest.fixture(scope="module")
def checkout() -> Path:
    found = _conformance.find_checkout(REPO_ROOT, os.environ)
    if found is None:
        pytest.skip("no conforma/policy checkout (scripts/conforma-conformance --from GITDIR)")
    return found


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    path = peers_root().joinpath(*GOLDEN)
    if not path.is_file():
        pytest.skip(f"golden input not in the peer corpus ({path}; set KONFLUX_SUPPLY_PEERS)")
    return dict(json.loads(path.read_text()))


@pytest.fixture(scope="module")
def release(checkout: Path) -> _conforma_release.ReleasePolicy:
    """``example/data``, ``ec.*`` offline: the engine every baseline is computed on."""
    return _conforma_release.ReleasePolicy.from_checkout(checkout)


@pytest.fixture(scope="module")
def hostile(checkout: Path, golden: dict[str, Any]) -> _conforma_release.ReleasePolicy:
    """``example/data`` plus the cases' rule data, ``ec.*`` answered by the fake registry."""
    data = _conforma_release.example_data(checkout)
    data["rule_data"].update(bad.HOSTILE_RULE_DATA)
    table = bad.hostile_registry(golden).builtins(_conformance.offline_builtins())
    return _conforma_release.ReleasePolicy(
        _conforma_release.release_modules(checkout), data, builtins=table
    )


@pytest.fixture(scope="module")
def baseline(release: _conforma_release.ReleasePolicy, golden: dict[str, Any]) -> Results:
    return release.evaluate(json.dumps(golden))


def _reported(
    case: bad.Case,
    release: _conforma_release.ReleasePolicy,
    hostile: _conforma_release.ReleasePolicy,
    golden: dict[str, Any],
) -> dict[str, list[Any]]:
    document = copy.deepcopy(golden)
    if case.mutate is not None:
        case.mutate(document)
    engine = hostile if case.hostile else release
    return engine.evaluate(json.dumps(document)).get(case.package, {})


def test_every_release_package_has_a_known_bad_case(
    release: _conforma_release.ReleasePolicy,
) -> None:
    packages = set(release.packages)
    covered = {case.package for case in bad.CASES}
    excepted = set(bad.EXCEPTIONS)
    assert not packages - covered - excepted, "packages without a known-bad case"
    assert not (covered | excepted) - packages, "cases or exceptions for unknown packages"
    assert not covered & excepted, "a package both covered and excepted"
    documented = DOC.read_text()
    assert all(f"`{package}`" in documented for package in excepted)
    assert f"{len(covered)} of {len(packages)}" in documented


@pytest.mark.parametrize("case", bad.CASES, ids=lambda case: case.id)
def test_known_bad_case_reports_a_new_violation(
    case: bad.Case,
    release: _conforma_release.ReleasePolicy,
    hostile: _conforma_release.ReleasePolicy,
    golden: dict[str, Any],
    baseline: Results,
) -> None:
    kind = "deny" if "deny" in release.packages[case.package] else "warn"
    before = baseline.get(case.package, {}).get(kind, [])
    after = _reported(case, release, hostile, golden).get(kind, [])
    new = [result for result in after if result not in before]
    assert new, f"{case.package}: no new {kind} on an input built to violate it ({case.why})"
    missing = case.codes - {result["code"] for result in new}
    assert not missing, f"{case.package}: {sorted(missing)} not reported ({case.why})"


@pytest.mark.xfail(
    strict=True,
    reason="engine defect: an unquoted YAML date in # METADATA stays a date-only string; "
    "OPA reads it as a timestamp and reports RFC 3339",
)
def test_date_only_effective_on_is_reported_as_opa_does(
    release: _conforma_release.ReleasePolicy,
    hostile: _conforma_release.ReleasePolicy,
    golden: dict[str, Any],
) -> None:
    # git_branch's rule carries ``effective_on: 2025-07-01``; opa eval reports
    # "2025-07-01T00:00:00Z" (checked with OPA 1.x on the known-bad git_branch input)
    case = next(case for case in bad.CASES if case.package == "git_branch")
    reported = _reported(case, release, hostile, golden)["deny"]
    assert {result["effective_on"] for result in reported} == {"2025-07-01T00:00:00Z"}
