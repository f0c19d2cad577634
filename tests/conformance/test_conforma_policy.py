"""Conforma's own policy library, unmodified, on the embedded engine (issue 14).

Needs an upstream checkout of github.com/conforma/policy ($KONFLUX_SUPPLY_CONFORMA_POLICY or the
git-ignored .upstream/conforma-policy, made by ``scripts/conforma-conformance --from GITDIR``);
skips with one line without it. Nothing from upstream is committed: it is read at run time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from konflux_supply.policy import _conforma_release, _conformance, compat
from tests.conftest import REPO_ROOT, peers_root

MIN_PASS_RATE = 0.97
DOC = REPO_ROOT / "docs" / "conforma-compatibility.md"

#: Rules of the ``@redhat`` collection that need a registry (``ec.oci.*``) to pass: offline they
#: report the data they could not fetch, exactly as ``ec`` does without network. Each is listed
#: in docs/conforma-compatibility.md.
NETWORK_CODES = {
    "base_image_registries.base_image_info_found": "reads the image SBOM with ec.oci.*",
    "cve.cve_results_found": "reads the CVE report manifests and blobs with ec.oci.*",
    "labels.optional_labels": "reads the image config with ec.oci.image_manifest/blob",
}


@pytest.fixture(scope="module")
def checkout() -> Path:
    found = _conformance.find_checkout(REPO_ROOT, os.environ)
    if found is None:
        pytest.skip("no conforma/policy checkout (scripts/conforma-conformance --from GITDIR)")
    return found


@pytest.fixture(scope="module")
def suite(checkout: Path) -> list[_conformance.ConformanceResult]:
    return _conformance.run(checkout)


@pytest.fixture(scope="module")
def release(checkout: Path) -> _conforma_release.ReleasePolicy:
    return _conforma_release.ReleasePolicy.from_checkout(checkout)


@pytest.fixture(scope="module")
def catalog(checkout: Path) -> dict[str, dict[str, Any]]:
    return _conforma_release.rule_catalog(_conforma_release.release_modules(checkout))


def _samples() -> Path:
    root = peers_root() / "conforma" / "policy" / "acceptance"
    if not root.is_dir():
        pytest.skip(f"peer corpus not found at {root} (set KONFLUX_SUPPLY_PEERS)")
    return root


def test_upstream_suite_passes_and_every_failure_is_documented(
    suite: list[_conformance.ConformanceResult],
) -> None:
    totals = _conformance.summary(suite)
    assert totals["total"] >= 900  # policy/lib + policy/release: 915 at the pinned commit
    assert totals["pass_rate"] >= MIN_PASS_RATE, _conformance._text_report(suite, totals)
    documented = DOC.read_text()
    undocumented = [
        f"{r.file}::{r.name}" for r in suite if r.status != "pass" and r.name not in documented
    ]
    assert not undocumented, f"failures missing from {DOC.name}: {undocumented}"


def test_untrusted_packages_follow_the_suite(suite: list[_conformance.ConformanceResult]) -> None:
    rows = _conformance.summary(suite)["results"]
    untrusted = compat.untrusted_packages(rows)
    failing = {r.package.removesuffix("_test") for r in suite if r.status != "pass"}
    assert untrusted == failing


def _scenarios(feature: str) -> Iterator[tuple[str, str, dict[str, Any], list[str]]]:
    for block in feature.split("Scenario:")[1:]:
        title = block.splitlines()[0].strip()
        sample = re.search(r'a sample policy input "([^"]+)"', block)
        config = re.search(r'"""(.*?)"""', block, re.DOTALL)
        assert sample, f"unexpected scenario shape: {title}"
        assert config, f"unexpected scenario shape: {title}"
        steps = [
            line.strip().split(" ", 1)[1]
            for line in block.splitlines()
            if line.strip().startswith(("Then ", "And ")) and "there should be" in line
        ]
        yield title, sample.group(1), json.loads(config.group(1)), steps


def _matches(entry: str, code: str, info: dict[str, Any], term: str | None) -> bool:
    if entry == "*":
        return True
    if entry.startswith("@"):
        return entry[1:] in info.get("collections", [])
    name, _, wanted = entry.partition(":")
    if wanted and wanted != term:
        return False
    return name in (code, info.get("package"))


def _reported(
    raw: dict[str, dict[str, list[Any]]],
    catalog: dict[str, dict[str, Any]],
    config: dict[str, Any],
) -> list[tuple[str, str, dict[str, Any], str | None]]:
    """(kind, code, rule info, term) for each result the scenario's include/exclude keeps."""
    include = config.get("include", ["*"])
    exclude = config.get("exclude", [])
    kept = []
    for entry in raw.values():
        for kind in ("deny", "warn"):
            for result in entry.get(kind, []):
                code = result["code"]
                info = catalog.get(code, {"package": code.rsplit(".", 1)[0]})
                term = result.get("term")
                if not any(_matches(e, code, info, term) for e in include):
                    continue
                if any(_matches(e, code, info, term) for e in exclude):
                    continue
                kept.append((kind, code, info, term))
    return kept


def _check(step: str, kept: list[tuple[str, str, dict[str, Any], str | None]]) -> list[Any]:
    """The results that break one ``there should be no …`` step (network rules tolerated)."""
    offending = [k for k in kept if k[1] not in NETWORK_CODES]
    violations = [k for k in offending if k[0] == "deny"]
    warnings = [k for k in offending if k[0] == "warn"]
    if step == "there should be no violations in the result":
        return violations
    if step == "there should be no warnings in the result":
        return warnings
    if match := re.fullmatch(
        r'there should be no violations with "([^"]+)" collection in the result', step
    ):
        return [v for v in violations if match.group(1) in v[2].get("collections", [])]
    if match := re.fullmatch(
        r'there should be no (violations|warnings) with "([^"]+)" package in the result', step
    ):
        pool = violations if match.group(1) == "violations" else warnings
        return [v for v in pool if v[2].get("package") == match.group(2)]
    if match := re.fullmatch(
        r'there should be no violations with "([^"]+)" code and "([^"]+)" term in the result', step
    ):
        return [v for v in violations if v[1] == match.group(1) and v[3] == match.group(2)]
    raise AssertionError(f"step not understood: {step}")


def test_acceptance_release_feature_scenario_by_scenario(
    release: _conforma_release.ReleasePolicy, catalog: dict[str, dict[str, Any]]
) -> None:
    root = _samples()
    feature = (root / "features" / "release.feature").read_text()
    scenarios = list(_scenarios(feature))
    assert scenarios
    for title, sample, policy, steps in scenarios:
        input_json = (root / "samples" / f"policy-input-{sample}.json").read_text()
        raw = release.evaluate(input_json)
        config = policy["sources"][0].get("config", {})
        kept = _reported(raw, catalog, config)
        for step in steps:
            assert not _check(step, kept), f"{title}: {step}: {_check(step, kept)}"


def test_network_dependent_rules_are_documented() -> None:
    documented = DOC.read_text()
    assert all(code in documented for code in NETWORK_CODES)
