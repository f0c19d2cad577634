"""Known-bad cases for Conforma's release policy (issue 14, "no silent wrong answers").

Every package of ``policy/release`` gets at least one case: an input, rule data and/or
registry content written for this check (never copied from upstream) that must make the
package report a violation (or a warning, for warn-only packages) it does not report on the
captured golden input. An empty answer there is an engine defect, not a pass.

Two engines run the cases: ``release`` (``example/data``, ``ec.*`` offline, as ``ec`` without
network) and ``hostile`` (the same plus ``_conforma_fakes.HOSTILE_RULE_DATA`` and the
registry of ``_conforma_fakes.hostile_registry``, whose ``registry.acme.test`` references the
mutations below point at).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from tests.conformance._conforma_fakes import (
    ACME,
    Doc,
    acme_ref,
    add_cyclonedx,
    add_spdx,
    build_tasks,
    cyclonedx,
    digest,
    fulcio_like_certificate,
    provenance,
    result,
    set_result,
    spdx,
    statement,
    task_named,
    tasks,
)


@dataclass(frozen=True)
class Case:
    """One known-bad case: ``package`` must newly report every code of ``codes``."""

    package: str
    codes: frozenset[str]
    why: str
    mutate: Callable[[Doc], None] | None = None
    hostile: bool = False

    @property
    def id(self) -> str:
        codes = "+".join(sorted(code.rsplit(".", 1)[1] for code in self.codes))
        return f"{self.package}:{codes}" + ("@hostile" if self.hostile else "")

    def input(self, golden: Doc) -> Doc:
        """The golden input with this case's mutation (a copy)."""
        document: Doc = json.loads(json.dumps(golden))
        if self.mutate is not None:
            self.mutate(document)
        return document


def _case(
    package: str,
    codes: str,
    why: str,
    mutate: Callable[[Doc], None] | None = None,
    *,
    hostile: bool = False,
) -> Case:
    return Case(package, frozenset(f"{package}.{c}" for c in codes.split()), why, mutate, hostile)


def _set_param(doc: Doc, name: str, value: str) -> None:
    for task in tasks(doc):
        parameters = task.get("invocation", {}).get("parameters", {})
        if name in parameters:
            parameters[name] = value


def _bad_type(doc: Doc) -> None:
    doc["attestations"][0]["statement"]["_type"] = "https://acme.test/NotAStatement"


def _bad_builder(doc: Doc) -> None:
    provenance(doc)["builder"]["id"] = "https://acme.test/untrusted-builder"


def _no_tasks(doc: Doc) -> None:
    provenance(doc)["buildConfig"]["tasks"] = []


def _untrusted_task(doc: Doc) -> None:
    for task in tasks(doc):
        for param in task["ref"].get("params", []):
            if param["name"] == "bundle":
                param["value"] = acme_ref("evil/task", "evil task")


def _no_git_materials(doc: Doc) -> None:
    provenance(doc)["materials"] = [
        {"uri": "https://acme.test/src.tar", "digest": {"sha1": "0" * 40}}
    ]


def _failed_tests(doc: Doc) -> None:
    outcome = {"result": "FAILURE", "timestamp": "1", "successes": 0, "failures": 1, "warnings": 0}
    for task in tasks(doc):
        if result(task, "TEST_OUTPUT") is not None:
            set_result(task, "TEST_OUTPUT", json.dumps(outcome))


def _wrong_source(doc: Doc) -> None:
    doc["image"]["source"] = {"git": {"url": "https://acme.test/other.git", "revision": "0" * 40}}


def _remote_dockerfile(doc: Doc) -> None:
    _set_param(doc, "DOCKERFILE", "https://acme.test/Containerfile")


def _not_hermetic(doc: Doc) -> None:
    _set_param(doc, "HERMETIC", "false")


def _no_registry_proxy(doc: Doc) -> None:
    _set_param(doc, "enable-package-registry-proxy", "false")


def _expired_volatile_config(doc: Doc) -> None:
    rule = {"value": "tasks.required_tasks_found", "effectiveUntil": "2001-02-03T00:00:00Z"}
    doc["policy_spec"] = {"sources": [{"volatileConfig": {"exclude": [rule]}}]}


def _quay_expiration_label(doc: Doc) -> None:
    doc["image"]["config"]["Labels"]["quay.expires-after"] = "2w"


def _image_without_labels(doc: Doc) -> None:
    doc["image"]["ref"] = acme_ref("labels", "image without labels")


def _critical_cve(doc: Doc) -> None:
    image = acme_ref("cve", "scanned image")
    doc["image"]["ref"] = image
    for task in tasks(doc):
        if result(task, "REPORTS") is not None:
            set_result(task, "REPORTS", json.dumps({digest("scanned image"): digest("report")}))


def _disallowed_base_image(doc: Doc) -> None:
    base = {
        "type": "container",
        "name": "evil-base",
        "purl": f"pkg:oci/evil-base@{digest('base')}?repository_url={ACME}/evil-base",
        "properties": [{"name": "konflux:container:is_base_image", "value": "true"}],
    }
    add_cyclonedx(doc, cyclonedx([], formulation=[{"components": [base]}]))


def _shared_volume(doc: Doc) -> None:
    run_spec = {
        "pipelineRef": {"name": "acme-build"},
        "params": [
            {"name": "git-repo", "value": "https://acme.test/app.git"},
            {"name": "git-revision", "value": "0" * 40},
            {"name": "output-image", "value": f"{ACME}/app"},
        ],
        "workspaces": [{"name": "source", "persistentVolumeClaim": {"claimName": "shared"}}],
    }
    predicate = {
        "buildDefinition": {
            "buildType": "https://tekton.dev/chains/v2/slsa-tekton",
            "externalParameters": {"runSpec": run_spec},
            "resolvedDependencies": [],
        },
        "runDetails": {
            "builder": {"id": "https://tekton.dev/chains/v2"},
            "metadata": {"buildFinishedOn": "2026-01-02T03:04:05Z"},
        },
    }
    doc["attestations"].append(statement("https://slsa.dev/provenance/v1", predicate, digest("x")))


def _untrusted_branch(doc: Doc) -> None:
    for task in tasks(doc):
        annotations = task["invocation"]["environment"]["annotations"]
        annotations["build.appstudio.redhat.com/target_branch"] = "refs/heads/acme-untrusted"


def _github_certificate(doc: Doc) -> None:
    certificate = fulcio_like_certificate(
        {2: "push", 3: "0" * 40, 4: "release", 5: "acme/evil", 6: "refs/heads/main"}
    )
    doc["image"]["signatures"][0]["certificate"] = certificate


def _olm_bundle(doc: Doc) -> None:
    labels = doc["image"]["config"]["Labels"]
    labels["operators.operatorframework.io.bundle.manifests.v1"] = "manifests/"
    annotations = {
        "operators.openshift.io/valid-subscription": '["Acme Subscription"]',
        "features.operators.openshift.io/disconnected": "true",
    }
    csv = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {"name": "acme-operator.v0", "annotations": annotations},
        "spec": {
            "version": "zero-point-one",
            "relatedImages": [{"name": "operand", "image": f"{ACME}/operand:latest"}],
        },
    }
    doc["image"]["files"] = {"manifests/acme.clusterserviceversion.yaml": csv}


def _pre_build_script(doc: Doc) -> None:
    task = task_named(doc, "run-script-oci-ta")
    task["invocation"]["parameters"] = {"SCRIPT_RUNNER_IMAGE": f"{ACME}/runner:1"}
    tasks(doc).append(task)


def _clone_commit_not_in_materials(doc: Doc) -> None:
    for task in tasks(doc):
        if result(task, "commit") is not None:
            set_result(task, "commit", "f" * 40)


def _unpermitted_maven_repository(doc: Doc) -> None:
    component = {
        "type": "library",
        "name": "widget",
        "purl": "pkg:maven/test.acme/widget@1.0.0",
        "externalRefs": [{"type": "distribution", "url": "https://maven.evil.acme.test/"}],
    }
    add_cyclonedx(doc, cyclonedx([component]))


def _rhtap_jenkins_without_version(doc: Doc) -> None:
    predicate = {
        "buildDefinition": {
            "buildType": "https://redhat.com/rhtap/slsa-build-types/jenkins-build/v1"
        },
        "runDetails": {
            "builder": {"id": "https://jenkins.acme.test"},
            "metadata": {"invocationID": "build-7"},
        },
    }
    doc["attestations"].append(statement("https://slsa.dev/provenance/v1", predicate, digest("x")))


def _rpm_from_unknown_location(doc: Doc) -> None:
    package = {
        "SPDXID": "SPDXRef-Package-evil",
        "name": "evil",
        "downloadLocation": "https://downloads.evil.acme.test/evil-1.0-1.src.rpm",
    }
    add_spdx(doc, spdx(doc["image"]["ref"], [package], []))


def _unpinned_rpm_ostree_builder(doc: Doc) -> None:
    task = task_named(doc, "rpm-ostree")
    task["invocation"]["parameters"] = {"BUILDER_IMAGE": f"{ACME}/builder:latest"}
    tasks(doc).append(task)


def _rpm_versions_differ_per_platform(doc: Doc) -> None:
    doc["image"]["ref"] = acme_ref("multi", "index")
    for task, platform in zip(build_tasks(doc), ("linux/amd64", "linux/arm64"), strict=False):
        task["invocation"]["parameters"]["PLATFORM"] = platform
        set_result(task, "SBOM_BLOB_URL", acme_ref("multi", f"sbom {platform}"))


def _untrusted_rpm_pipeline(doc: Doc) -> None:
    labels = tasks(doc)[0]["invocation"]["environment"]["labels"]
    labels["build.appstudio.redhat.com/pipeline"] = "acme-unvetted-pipeline"


def _rpm_without_repository_id(doc: Doc) -> None:
    component = {
        "type": "library",
        "name": "evil",
        "purl": "pkg:rpm/acme/evil@1.0-1?arch=x86_64",
        "properties": [{"name": "hermeto:found_by", "value": "hermeto"}],
    }
    add_cyclonedx(doc, cyclonedx([component]))


def _rpm_signed_by_unknown_key(doc: Doc) -> None:
    for task in tasks(doc):
        if result(task, "RPMS_DATA") is not None:
            set_result(task, "RPMS_DATA", json.dumps({"keys": {"0123456789abcdef": 3}}))


def _per_platform_image_without_sbom(doc: Doc) -> None:
    task = next(build_tasks(doc))
    repository = doc["image"]["ref"].split("@", 1)[0]
    doc["image"]["ref"] = f"{repository}@{result(task, 'IMAGE_DIGEST')}"


def _disallowed_cyclonedx(doc: Doc) -> None:
    component = {
        "type": "library",
        "name": "client-go",
        "purl": "pkg:golang/k8s.io/client-go@v50.28.9",
    }
    add_cyclonedx(doc, cyclonedx([component], spec="1.1"))


def _empty_spdx_for_other_image(doc: Doc) -> None:
    add_spdx(doc, spdx(acme_ref("other", "another image"), [], []))


def _build_task_without_steps(doc: Doc) -> None:
    for task in build_tasks(doc):
        task["steps"] = []


def _unsigned_source_image_without_layers(doc: Doc) -> None:
    for task in tasks(doc):
        if result(task, "SOURCE_IMAGE_URL") is not None:
            set_result(task, "SOURCE_IMAGE_URL", f"{ACME}/source")
            set_result(task, "SOURCE_IMAGE_DIGEST", digest("source image"))


def _failed_test_attestation(doc: Doc) -> None:
    doc["image"]["ref"] = acme_ref("tested", "tested image")


CASES: tuple[Case, ...] = (
    _case("attestation_type", "known_attestation_type", "unknown statement _type", _bad_type),
    _case(
        "attestation_type",
        "known_attestation_type",
        "rule data knows another statement type",
        hostile=True,
    ),
    _case(
        "base_image_registries",
        "base_image_permitted",
        "CycloneDX SBOM names a base image from an unlisted registry",
        _disallowed_base_image,
    ),
    _case(
        "buildah_build_task",
        "buildah_uses_local_dockerfile",
        "remote DOCKERFILE",
        _remote_dockerfile,
    ),
    _case(
        "cve",
        "cve_blockers",
        "registry serves a scan report with a critical fixable CVE",
        _critical_cve,
        hostile=True,
    ),
    _case(
        "external_parameters",
        "restrict_shared_volumes",
        "SLSA v1 PipelineRun provenance with a PVC workspace",
        _shared_volume,
    ),
    _case("git_branch", "git_branch", "builds target an untrusted branch", _untrusted_branch),
    _case(
        "github_certificate",
        "gh_workflow_repository",
        "signing certificate names a repository outside allowed_gh_workflow_repos",
        _github_certificate,
        hostile=True,
    ),
    _case("hermetic_task", "hermetic", "HERMETIC=false", _not_hermetic),
    _case(
        "labels",
        "required_labels",
        "registry serves an image config without the required labels",
        _image_without_labels,
        hostile=True,
    ),
    _case(
        "olm",
        "csv_semver_format unpinned_references",
        "bundle CSV with a non-semver version and an unpinned related image",
        _olm_bundle,
    ),
    _case(
        "pre_build_script_task",
        "pre_build_script_task_runner_image_allowed pre_build_script_task_runner_image_in_results",
        "run-script task with a runner image from an unlisted registry, not in its results",
        _pre_build_script,
    ),
    _case(
        "prefetch_dependencies",
        "package_registry_proxy_enabled",
        "proxy disabled",
        _no_registry_proxy,
    ),
    _case(
        "provenance_materials",
        "git_clone_source_matches_provenance",
        "git-clone commit not among the materials",
        _clone_commit_not_in_materials,
    ),
    _case(
        "quay_expiration",
        "expires_label",
        "quay.expires-after label on a release",
        _quay_expiration_label,
        hostile=True,
    ),
    _case(
        "release.maven_repos",
        "deny_unpermitted_urls",
        "SBOM Maven package from a repository outside allowed_maven_repositories",
        _unpermitted_maven_repository,
        hostile=True,
    ),
    _case(
        "rhtap_multi_ci",
        "attestation_format",
        "Jenkins provenance without runDetails.builder.version",
        _rhtap_jenkins_without_version,
    ),
    _case(
        "rpm_build_deps",
        "download_location_valid",
        "SPDX package downloaded from an unlisted location",
        _rpm_from_unknown_location,
    ),
    _case(
        "rpm_ostree_task",
        "builder_image_param",
        "rpm-ostree task with an unpinned BUILDER_IMAGE",
        _unpinned_rpm_ostree_builder,
    ),
    _case(
        "rpm_packages",
        "unique_version",
        "image index whose per-platform SBOMs (registry) install different RPM versions",
        _rpm_versions_differ_per_platform,
        hostile=True,
    ),
    _case(
        "rpm_pipeline",
        "invalid_pipeline",
        "task labelled with an unlisted RPM build pipeline",
        _untrusted_rpm_pipeline,
    ),
    _case(
        "rpm_repos",
        "ids_known",
        "Hermeto RPM without a repository_id",
        _rpm_without_repository_id,
    ),
    _case(
        "rpm_signature",
        "allowed",
        "RPMS_DATA lists RPMs signed by an unknown key",
        _rpm_signed_by_unknown_key,
    ),
    _case(
        "sbom",
        "found",
        "per-platform image with no SBOM",
        _per_platform_image_without_sbom,
    ),
    _case(
        "sbom_cyclonedx",
        "allowed cdx_supported_version",
        "CycloneDX 1.1 SBOM with a disallowed package",
        _disallowed_cyclonedx,
    ),
    _case(
        "sbom_spdx",
        "contains_files contains_packages matches_image",
        "empty SPDX SBOM describing another image",
        _empty_spdx_for_other_image,
    ),
    _case(
        "schedule",
        "weekday_restriction",
        "release on a disallowed weekday (rule data)",
        hostile=True,
    ),
    _case(
        "slsa_build_build_service", "slsa_builder_id_accepted", "untrusted builder id", _bad_builder
    ),
    _case(
        "slsa_build_scripted_build",
        "build_script_used",
        "build tasks without steps",
        _build_task_without_steps,
    ),
    _case(
        "slsa_provenance_available",
        "attestation_predicate_type_accepted",
        "rule data allows another predicate type",
        hostile=True,
    ),
    _case(
        "slsa_source_correlated",
        "expected_source_code_reference",
        "unrelated source",
        _wrong_source,
    ),
    _case(
        "slsa_source_version_controlled",
        "materials_uri_is_git_repo",
        "no git materials",
        _no_git_materials,
    ),
    _case(
        "source_image",
        "exists signed",
        "registry serves a layerless source image that fails signature verification",
        _unsigned_source_image_without_layers,
        hostile=True,
    ),
    _case("tasks", "pipeline_has_tasks", "no tasks", _no_tasks),
    _case("test", "no_failed_tests", "TEST_OUTPUT reports a failure", _failed_tests),
    _case(
        "test_attestation",
        "no_failed_tests",
        "registry serves a verified test-result attestation with a FAILED result",
        _failed_test_attestation,
        hostile=True,
    ),
    _case("trusted_task", "trusted", "task bundle outside the trusted list", _untrusted_task),
    _case(
        "volatile_config",
        "expired_rule",
        "volatile exclusion expired long ago",
        _expired_volatile_config,
    ),
)

#: Packages without a known-bad case, each with why one cannot exist (see
#: docs/conforma-compatibility.md). Keep this empty: a package listed here can answer wrongly
#: without any test noticing.
EXCEPTIONS: dict[str, str] = {}
