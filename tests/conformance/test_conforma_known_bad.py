"""Known-bad inputs for Conforma's release policy: no package answers with silence (issue 14).

Every package of the upstream ``policy/release`` must report a violation (a warning for
warn-only packages) on an input built to violate it — see ``_conforma_bad`` for the cases —
and must answer exactly as the real OPA does on it (``_conforma_opa``). Needs the upstream
checkout ($KONFLUX_SUPPLY_CONFORMA_POLICY or ``.upstream/conforma-policy``) and the peer corpus
($KONFLUX_SUPPLY_PEERS) for the golden input; skips with one line without.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from konflux_supply.policy import _conforma_release, _conformance
from tests.conformance import _conforma_bad as bad
from tests.conformance import _conforma_fakes as fakes
from tests.conformance import _conforma_opa
from tests.conftest import REPO_ROOT, peers_root
from tests.integration._tools import OPA_HINT, require_tool

DOC = REPO_ROOT / "docs" / "conforma-compatibility.md"
GOLDEN = ("conforma", "policy", "acceptance", "samples", "policy-input-golden-container.json")

Results = dict[str, dict[str, list[Any]]]

#: Where our engine answers differently from OPA, each an engine defect (listed in
#: docs/conforma-compatibility.md). The comparison checks each still differs, so a fix shows
#: up here. Package → (the result key that differs, left out of the comparison; why):
OPA_KEY_DIFFERENCES: dict[str, tuple[str, str]] = {}
#: (input, package) → why the results differ. The two found by this check are fixed in the
#: compat layer: date-only METADATA values (git_branch's effective_on) and ``not f(x)`` with
#: ``x`` undefined (cve on inputs without image.ref).
OPA_RESULT_DIFFERENCES: dict[tuple[str, str], str] = {}
#: Inputs every package is compared with OPA on: the golden input and the SBOM samples of
#: the peer corpus, and the golden input without its ``image``.
SAMPLES = ("cdx-sbom", "spdx-sbom")


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
def registry(golden: dict[str, Any]) -> fakes.FakeRegistry:
    return fakes.hostile_registry(golden)


@pytest.fixture(scope="module")
def hostile(checkout: Path, registry: fakes.FakeRegistry) -> _conforma_release.ReleasePolicy:
    """``example/data`` plus the cases' rule data, ``ec.*`` answered by the fake registry."""
    data = _conforma_release.example_data(checkout)
    data["rule_data"].update(fakes.HOSTILE_RULE_DATA)
    table = registry.builtins(_conformance.offline_builtins())
    return _conforma_release.ReleasePolicy(
        _conforma_release.release_modules(checkout), data, builtins=table
    )


@pytest.fixture(scope="module")
def baseline(release: _conforma_release.ReleasePolicy, golden: dict[str, Any]) -> Results:
    """Every package's results on the golden input."""
    return release.evaluate(json.dumps(golden))


@pytest.fixture(scope="module")
def reported(
    release: _conforma_release.ReleasePolicy,
    hostile: _conforma_release.ReleasePolicy,
    golden: dict[str, Any],
) -> Results:
    """``{case id: the case package's results}``, each case evaluated once."""
    out = {}
    for case in bad.CASES:
        engine = hostile if case.hostile else release
        answer = engine.evaluate(json.dumps(case.input(golden)))
        out[case.id] = answer.get(case.package, {})
    return out


def test_every_release_package_has_a_known_bad_case(
    release: _conforma_release.ReleasePolicy,
) -> None:
    packages = set(release.packages)
    covered = {case.package for case in bad.CASES}
    excepted = set(bad.EXCEPTIONS)
    assert not packages - covered - excepted, "packages without a known-bad case"
    assert not (covered | excepted) - packages, "cases or exceptions for unknown packages"
    assert not covered & excepted, "a package both covered and excepted"
    assert len({case.id for case in bad.CASES}) == len(bad.CASES), "case ids must be unique"
    documented = DOC.read_text()
    assert all(f"`{package}`" in documented for package in excepted)
    assert f"{len(covered)} of {len(packages)}" in documented


@pytest.mark.parametrize("case", bad.CASES, ids=lambda case: case.id)
def test_known_bad_case_reports_a_new_violation(
    case: bad.Case,
    release: _conforma_release.ReleasePolicy,
    baseline: Results,
    reported: Results,
) -> None:
    kind = "deny" if "deny" in release.packages[case.package] else "warn"
    before = baseline.get(case.package, {}).get(kind, [])
    new = [result for result in reported[case.id].get(kind, []) if result not in before]
    assert new, f"{case.package}: no new {kind} on an input built to violate it ({case.why})"
    missing = case.codes - {result["code"] for result in new}
    assert not missing, f"{case.package}: {sorted(missing)} not reported ({case.why})"


def _comparable(package: str, results: dict[str, list[Any]]) -> list[str]:
    left_out = OPA_KEY_DIFFERENCES.get(package, ("", ""))[0]
    return sorted(
        json.dumps({k: v for k, v in result.items() if k != left_out}, sort_keys=True)
        for kind in ("deny", "warn")
        for result in results.get(kind, [])
    )


def _left_out(package: str, results: dict[str, list[Any]]) -> list[Any]:
    key = OPA_KEY_DIFFERENCES[package][0]
    return sorted(
        json.dumps(r.get(key)) for kind in ("deny", "warn") for r in results.get(kind, [])
    )


def _whole_inputs(golden: dict[str, Any]) -> dict[str, Any]:
    """The inputs every package is compared on (samples missing from the corpus left out)."""
    inputs = {"golden": golden, "without image": {k: v for k, v in golden.items() if k != "image"}}
    for name in SAMPLES:
        path = peers_root().joinpath(*GOLDEN[:-1], f"policy-input-{name}.json")
        if path.is_file():
            inputs[name] = json.loads(path.read_text())
    return inputs


def test_known_bad_cases_and_samples_answer_as_opa_does(
    checkout: Path,
    golden: dict[str, Any],
    release: _conforma_release.ReleasePolicy,
    registry: fakes.FakeRegistry,
    reported: Results,
    tmp_path: Path,
) -> None:
    opa = require_tool("opa", OPA_HINT)
    tree = _conforma_opa.policy_tree(checkout, tmp_path / "policy")
    data_dirs = [checkout / "example" / "data"]
    whole = _whole_inputs(golden)
    packages = {case.id: case.package for case in bad.CASES}
    ours: Results = dict(reported)
    for name, document in whole.items():
        answer = release.evaluate(json.dumps(document))
        for package in release.packages:
            packages[f"{name} | {package}"] = package
            ours[f"{name} | {package}"] = answer.get(package, {})
    theirs: Results = {}
    for hostile in (False, True):
        cases = [case for case in bad.CASES if case.hostile == hostile]
        inputs = {case.id: case.input(golden) for case in cases}
        queries = {case.id: (case.package, case.id) for case in cases}
        if not hostile:
            inputs.update(whole)
            for name in whole:
                queries.update({f"{name} | {p}": (p, name) for p in release.packages})
        theirs.update(
            _conforma_opa.evaluate(
                opa,
                tree,
                data_dirs,
                tmp_path / f"run-{hostile}",
                inputs,
                queries,
                rule_data=fakes.HOSTILE_RULE_DATA if hostile else None,
                registry=registry if hostile else None,
            )
        )
    expected = {f"{name} | {package}" for name, package in OPA_RESULT_DIFFERENCES}
    differing = {
        query
        for query, package in packages.items()
        if _comparable(package, ours[query]) != _comparable(package, theirs[query])
    }
    assert not differing - expected, f"results differ from OPA: {sorted(differing - expected)}"
    fixed = {q for q in expected if q in packages} - differing
    assert not fixed, f"now answering as OPA does, remove from OPA_RESULT_DIFFERENCES: {fixed}"
    for package in OPA_KEY_DIFFERENCES:
        query = next(case.id for case in bad.CASES if case.package == package)
        assert _left_out(package, ours[query]) != _left_out(package, theirs[query]), (
            f"{package} now answers as OPA does: remove it from OPA_KEY_DIFFERENCES"
        )
