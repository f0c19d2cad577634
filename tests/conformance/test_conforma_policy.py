"""Conforma's own policy library, unmodified, on the embedded engine (issue 14).

Needs an upstream checkout of github.com/conforma/policy ($KONFLUX_SUPPLY_CONFORMA_POLICY or the
git-ignored .upstream/conforma-policy, made by ``scripts/conforma-conformance --from GITDIR``);
skips with one line without it. Nothing from upstream is committed: it is read at run time.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator
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


def _golden() -> dict[str, Any]:
    path = _samples() / "samples" / "policy-input-golden-container.json"
    return dict(json.loads(path.read_text()))


def _predicate(document: dict[str, Any]) -> Any:
    return document["attestations"][0]["statement"]["predicate"]


def _bad_type(doc: dict[str, Any]) -> None:
    doc["attestations"][0]["statement"]["_type"] = "https://acme.test/NotAStatement"


def _bad_builder(doc: dict[str, Any]) -> None:
    _predicate(doc)["builder"]["id"] = "https://acme.test/untrusted-builder"


def _no_tasks(doc: dict[str, Any]) -> None:
    _predicate(doc)["buildConfig"]["tasks"] = []


def _untrusted_task(doc: dict[str, Any]) -> None:
    for task in _predicate(doc)["buildConfig"]["tasks"]:
        for param in task["ref"].get("params", []):
            if param["name"] == "bundle":
                param["value"] = "registry.acme.test/evil/task@sha256:" + "1" * 64


def _no_git_materials(doc: dict[str, Any]) -> None:
    _predicate(doc)["materials"] = [
        {"uri": "https://acme.test/src.tar", "digest": {"sha1": "0" * 40}}
    ]


def _failed_tests(doc: dict[str, Any]) -> None:
    for task in _predicate(doc)["buildConfig"]["tasks"]:
        for result in task.get("results", []):
            if result["name"] == "TEST_OUTPUT":
                result["value"] = json.dumps(
                    {
                        "result": "FAILURE",
                        "timestamp": "1",
                        "successes": 0,
                        "failures": 1,
                        "warnings": 0,
                    }
                )


def _wrong_source(doc: dict[str, Any]) -> None:
    doc["image"]["source"] = {"git": {"url": "https://acme.test/other.git", "revision": "0" * 40}}


def _set_param(doc: dict[str, Any], name: str, value: str) -> None:
    for task in _predicate(doc)["buildConfig"]["tasks"]:
        parameters = task.get("invocation", {}).get("parameters", {})
        if name in parameters:
            parameters[name] = value


def _remote_dockerfile(doc: dict[str, Any]) -> None:
    _set_param(doc, "DOCKERFILE", "https://acme.test/Containerfile")


def _not_hermetic(doc: dict[str, Any]) -> None:
    _set_param(doc, "HERMETIC", "false")


def _no_registry_proxy(doc: dict[str, Any]) -> None:
    _set_param(doc, "enable-package-registry-proxy", "false")


def _expired_volatile_config(doc: dict[str, Any]) -> None:
    rule = {"value": "tasks.required_tasks_found", "effectiveUntil": "2001-02-03T00:00:00Z"}
    doc["policy_spec"] = {"sources": [{"volatileConfig": {"exclude": [rule]}}]}


#: package → (what makes the input bad, mutation of the golden input). Each was written for this
#: check: the package must report at least one violation (or warning, for warn-only packages)
#: that it does not report on the golden input.
KNOWN_BAD: dict[str, Callable[[dict[str, Any]], None]] = {
    "attestation_type": _bad_type,
    "slsa_build_build_service": _bad_builder,
    "tasks": _no_tasks,
    "trusted_task": _untrusted_task,
    "slsa_source_version_controlled": _no_git_materials,
    "test": _failed_tests,
    "slsa_source_correlated": _wrong_source,
    "buildah_build_task": _remote_dockerfile,
    "hermetic_task": _not_hermetic,
    "prefetch_dependencies": _no_registry_proxy,
    "volatile_config": _expired_volatile_config,
}


@pytest.mark.parametrize("package", sorted(KNOWN_BAD))
def test_known_bad_input_is_never_empty(
    release: _conforma_release.ReleasePolicy, package: str
) -> None:
    golden = _golden()
    before = release.evaluate(json.dumps(golden)).get(package, {})
    bad = copy.deepcopy(golden)
    KNOWN_BAD[package](bad)
    after = release.evaluate(json.dumps(bad)).get(package, {})
    new = [
        r for kind in ("deny", "warn") for r in after.get(kind, []) if r not in before.get(kind, [])
    ]
    assert new, f"{package}: no new violation on an input built to violate it"


#: package → rule data that makes the golden input violate it (written for this check).
KNOWN_BAD_RULE_DATA: dict[str, dict[str, Any]] = {
    "slsa_provenance_available": {"allowed_predicate_types": ["https://acme.test/only-this"]},
    "schedule": {
        "pipeline_intention": "release",
        "disallowed_weekdays": [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ],
    },
    "attestation_type": {"known_attestation_types": ["https://acme.test/Statement"]},
}


@pytest.fixture(scope="module")
def strict_release(checkout: Path) -> _conforma_release.ReleasePolicy:
    data = _conforma_release.example_data(checkout)
    for values in KNOWN_BAD_RULE_DATA.values():
        data["rule_data"].update(values)
    return _conforma_release.ReleasePolicy(_conforma_release.release_modules(checkout), data)


@pytest.mark.parametrize("package", sorted(KNOWN_BAD_RULE_DATA))
def test_known_bad_rule_data_is_never_empty(
    release: _conforma_release.ReleasePolicy,
    strict_release: _conforma_release.ReleasePolicy,
    package: str,
) -> None:
    golden = json.dumps(_golden())
    before = release.evaluate(golden).get(package, {})
    after = strict_release.evaluate(golden).get(package, {})
    new = [
        r for kind in ("deny", "warn") for r in after.get(kind, []) if r not in before.get(kind, [])
    ]
    assert new, f"{package}: no new violation with rule data built to violate it"


_CONFIG_DIGEST = "sha256:" + "c" * 64


_REPORT_DIGEST = "sha256:" + "d" * 64


def _registry_manifest(_ref: Any) -> Any:
    report = {"mediaType": "application/vnd.redhat.clair-report+json", "digest": _REPORT_DIGEST}
    return {"schemaVersion": 2, "config": {"digest": _CONFIG_DIGEST}, "layers": [report]}


def _registry_blob(ref: Any) -> Any:
    if isinstance(ref, str) and ref.endswith(_CONFIG_DIGEST):
        # an image config without the required labels
        return json.dumps({"config": {"Labels": {"vendor": "Acme"}}})
    if isinstance(ref, str) and ref.endswith(_REPORT_DIGEST):
        # a scan report with a critical, fixable vulnerability
        vulnerability = {
            "name": "CVE-2001-0001",
            "normalized_severity": "Critical",
            "fixed_in_version": "1.2.3",
        }
        return json.dumps({"vulnerabilities": {"1": vulnerability}})
    return None


@pytest.fixture(scope="module")
def registry_release(checkout: Path) -> _conforma_release.ReleasePolicy:
    """The release policy where ``ec.oci`` answers from a fake registry written for this check."""
    table = _conformance.offline_builtins()
    table["ec.oci.image_manifest"] = (1, _registry_manifest)
    table["ec.oci.blob"] = (1, _registry_blob)
    return _conforma_release.ReleasePolicy.from_checkout(checkout, builtins=table)


#: Packages violated by what the fake registry serves (image config, scan report).
def _per_platform_image(doc: dict[str, Any]) -> None:
    # the golden build's scan reports are keyed by its per-platform image digests
    repository = doc["image"]["ref"].split("@", 1)[0]
    doc["image"]["ref"] = (
        repository
        + "@sha256:"
        + ("1e84b14580bc66c5c78b0f292bf987b2c314fc5ae3a580cf41b66f94651cf92b")
    )


KNOWN_BAD_REGISTRY: dict[str, Callable[[dict[str, Any]], None] | None] = {
    "cve": _per_platform_image,
    "labels": None,
}


@pytest.mark.parametrize("package", sorted(KNOWN_BAD_REGISTRY))
def test_known_bad_registry_content_is_never_empty(
    release: _conforma_release.ReleasePolicy,
    registry_release: _conforma_release.ReleasePolicy,
    package: str,
) -> None:
    document = _golden()
    mutation = KNOWN_BAD_REGISTRY[package]
    if mutation is not None:
        mutation(document)
    before = release.evaluate(json.dumps(document)).get(package, {})
    after = registry_release.evaluate(json.dumps(document)).get(package, {})
    new = [
        r for kind in ("deny", "warn") for r in after.get(kind, []) if r not in before.get(kind, [])
    ]
    assert new, f"{package}: no new violation from registry content built to violate it"


def test_known_bad_quay_expiration_label_is_never_empty(
    strict_release: _conforma_release.ReleasePolicy,
) -> None:
    # the rule applies to release pipelines (rule data pipeline_intention, set in strict_release)
    golden = _golden()
    before = strict_release.evaluate(json.dumps(golden)).get("quay_expiration", {})
    golden["image"]["config"]["Labels"]["quay.expires-after"] = "2w"
    after = strict_release.evaluate(json.dumps(golden)).get("quay_expiration", {})
    assert [r for r in after.get("deny", []) if r not in before.get("deny", [])]
