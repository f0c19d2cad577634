"""Issue 13 end to end: our ``policies/`` through ``validate image`` on the local registry.

An image is pushed to the local registry; its provenance is made by our own ``provenance``
command from the Chains fixture PipelineRun (``fixtures/provenance/runs/``, with the build
task's ``IMAGE_URL``/``IMAGE_DIGEST`` results pointed at the pushed image); the image is signed
and the provenance attested by our CLI (``sign``, ``attest --type slsaprovenance``). Then:

* it passes ``@minimal`` and ``@slsa3`` (rule data of ``policies/examples/``);
* a builder id not in rule data, a missing required task, an untrusted and an expired task
  bundle, a disallowed SBOM package and a blocking CVE each fail with the rule's code;
* an excluded package is absent from the report; a rule with a future ``effective_on`` (a
  required-tasks entry dated 2099) is a warning;
* ``policy push`` writes a bundle that ``validate image`` reads back by digest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import signing
from konflux_supply.oci import open_registry
from tests.integration.conftest import RegistryService
from tests.integration.oci.helpers import push_image

REPO = Path(__file__).resolve().parents[3]
RUNS = REPO / "fixtures" / "provenance" / "runs"
FIXTURE_IMAGE = "quay.example.com/team-a/app:on-pr-1a2b3c"
FIXTURE_DIGEST = "sha256:a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333"
BUILDAH = "oci://quay.example.com/tekton-catalog/task-buildah:0.4"
BUILDAH_DIGEST = "sha256:d8842c4e2ef813044e221774387e633079e23b57d2e6120861b6e2c5a84d4ca6"
CLONE = "oci://quay.example.com/tekton-catalog/task-git-clone:0.1"
CLONE_DIGEST = "sha256:688368c9cddb337e2eaaaa3d690e1efc83445ce4df94e5648377ae0143aff23e"
SUMMARY = "oci://quay.example.com/tekton-catalog/task-summary:0.2"
SUMMARY_DIGEST = "sha256:6cd6f41455d78245f1295895838dd1ec14449565a9a8c1c8ea43cb35b592e3ab"


@dataclass
class Built:
    """An image of this module: where it is and the key that signed it."""

    ref: str
    pub: Path
    tmp: Path


def _cli(args: Sequence[str], tmp: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COSIGN_PASSWORD": "",
        "DOCKER_CONFIG": str(tmp / "no-docker-config"),
        "KONFLUX_SUPPLY_LOCK_DIR": str(tmp / "locks"),
    }
    env.pop("COSIGN_REPOSITORY", None)
    done = subprocess.run(
        [sys.executable, "-m", "konflux_supply", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    if check:
        assert done.returncode == 0, (args, done.stderr)
    return done


def _pin_bundles(text: str) -> str:
    """The PipelineRun with its tasks' bundles named in ``pipelineSpec`` (as a Konflux
    pipeline pins them; the fixture names only the bundles resolver), so the provenance's
    ``buildConfig.tasks[].ref`` says which bundle each task came from."""
    import yaml

    run = yaml.safe_load(text)
    bundles = {
        "git-clone": f"{CLONE.removeprefix('oci://')}@{CLONE_DIGEST}",
        "buildah": f"{BUILDAH.removeprefix('oci://')}@{BUILDAH_DIGEST}",
        "summary": f"{SUMMARY.removeprefix('oci://')}@{SUMMARY_DIGEST}",
    }
    spec = run["status"]["pipelineSpec"]
    for task in [*spec.get("tasks", []), *spec.get("finally", [])]:
        params = task["taskRef"]["params"]
        name = next(p["value"] for p in params if p["name"] == "name")
        params.append({"name": "bundle", "value": bundles[name]})
        params.append({"name": "kind", "value": "task"})
    return str(yaml.safe_dump(run, sort_keys=False))


def _keys(tmp: Path) -> tuple[Path, Path]:
    pair = signing.generate_key_pair(b"")
    key, pub = tmp / "cosign.key", tmp / "cosign.pub"
    key.write_bytes(pair.private_pem)
    pub.write_bytes(pair.public_pem)
    return key, pub


def build(
    registry: RegistryService,
    tmp: Path,
    name: str,
    *,
    builder_id: str | None = None,
    extra: Sequence[tuple[str, dict[str, Any]]] = (),
) -> Built:
    """Push ``e2e/<name>``, make its provenance from the fixture PipelineRun with our
    ``provenance`` command, sign it and attest the provenance (and ``extra`` predicates, as
    ``(cosign type, predicate)``) with our CLI."""
    tmp.mkdir(parents=True, exist_ok=True)
    oci_registry, _ = open_registry(registry.ref(f"e2e/{name}:latest"), options=registry.options)
    pinned = push_image(oci_registry, registry.ref(f"e2e/{name}:latest"), name.encode())
    oci_registry.close()
    digest = pinned.digest
    assert digest is not None
    image_url = registry.ref(f"e2e/{name}:latest")
    runs = tmp / "runs"
    runs.mkdir(exist_ok=True)
    for source in RUNS.glob("*.yaml"):
        text = source.read_text().replace(FIXTURE_IMAGE, image_url).replace(FIXTURE_DIGEST, digest)
        if source.name == "pipelinerun-build.yaml":
            text = _pin_bundles(text)
        (runs / source.name).write_text(text)
    args = ["provenance", "--format", "in-toto", str(runs / "pipelinerun-build.yaml")]
    for child in ("taskrun-clone", "taskrun-build-image", "taskrun-notify"):
        args += ["--child", str(runs / f"{child}.yaml")]
    if builder_id:
        args += ["--builder-id", builder_id]
    statement = json.loads(_cli(args, tmp).stdout)
    assert statement["subject"][0]["digest"]["sha256"] == digest.split(":")[1]
    key, pub = _keys(tmp)
    ref = f"{image_url.rsplit(':', 1)[0]}@{digest}"
    registry_flags = ["--allow-http-registry", "--settle", "0"]
    _cli(["sign", "--key", str(key), *registry_flags, ref], tmp)
    predicates = [("slsaprovenance", statement["predicate"]), *extra]
    for n, (kind, predicate) in enumerate(predicates):
        path = tmp / f"predicate-{n}.json"
        path.write_text(json.dumps(predicate))
        _cli(["attest", "--key", str(key), "--type", kind, "--predicate", str(path),
              *registry_flags, ref], tmp)  # fmt: skip
    return Built(ref, pub, tmp)


def ecp(
    include: Sequence[str],
    *,
    data: str = "minimal",
    exclude: Sequence[str] = (),
    rule_data: dict[str, Any] | None = None,
    policy: Sequence[str] = ("policies/lib", "policies/release"),
) -> str:
    """An ECP on our library (paths relative to the repository root, where the CLI runs)."""
    source: dict[str, Any] = {
        "name": "release",
        "policy": list(policy),
        "data": [f"policies/examples/{data}/data"],
        "config": {"include": list(include), "exclude": list(exclude)},
    }
    if rule_data:
        source["ruleData"] = rule_data
    return json.dumps({"sources": [source]})


def validate(built: Built, policy: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    done = _cli(
        ["validate", "image", "--image", built.ref, "--policy", policy,
         "--public-key", str(built.pub), "--allow-http-registry",
         "--show-successes", "--output", "json", *extra],
        built.tmp,
        check=False,
    )  # fmt: skip
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def results(report: dict[str, Any], kind: str) -> list[str]:
    return sorted(r["metadata"]["code"] for c in report["components"] for r in c.get(kind, []))


@pytest.fixture(scope="module")
def good(registry: RegistryService, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(registry, tmp_path_factory.mktemp("e2e-good"), "good")


@pytest.mark.parametrize("collection", ["@minimal", "@slsa3"])
def test_our_provenance_passes(good: Built, collection: str) -> None:
    code, report, stderr = validate(good, ecp([collection]))
    assert code == 0, (stderr, results(report, "violations") if report else None)
    successes = results(report, "successes")
    assert "builtin.image.signature_check" in successes
    assert "attestation_type.known_attestation_type" in successes
    if collection == "@slsa3":
        assert "slsa_build_build_service.slsa_builder_id_accepted" in successes
        assert "slsa_build_scripted_build.subject_build_task_matches" in successes
    assert results(report, "violations") == []


def test_builder_id_not_in_rule_data(registry: RegistryService, tmp_path: Path) -> None:
    built = build(registry, tmp_path, "rogue-builder", builder_id="https://rogue.example/builder")
    code, report, stderr = validate(built, ecp(["@slsa3"]))
    assert code == 1, stderr
    assert "slsa_build_build_service.slsa_builder_id_accepted" in results(report, "violations")


def test_missing_required_task(good: Built) -> None:
    rule_data = {"required-tasks": [{"effective_on": "2024-01-01T00:00:00Z",
                                     "tasks": ["git-clone", "clair-scan"]}]}  # fmt: skip
    code, report, stderr = validate(
        good, ecp(["@minimal", "tasks.required_tasks_found"], rule_data=rule_data)
    )
    assert code == 1, stderr
    violations = [
        v
        for c in report["components"]
        for v in c.get("violations", [])
        if v["metadata"]["code"] == "tasks.required_tasks_found"
    ]
    assert [v["metadata"].get("term") for v in violations] == ["clair-scan"]


def test_future_required_task_is_a_warning(good: Built) -> None:
    rule_data = {"required-tasks": [
        {"effective_on": "2024-01-01T00:00:00Z", "tasks": ["git-clone"]},
        {"effective_on": "2099-01-01T00:00:00Z", "tasks": ["git-clone", "clair-scan"]},
    ]}  # fmt: skip
    include = ["@minimal", "tasks.required_tasks_found", "tasks.future_required_tasks_found"]
    code, report, stderr = validate(good, ecp(include, rule_data=rule_data))
    assert code == 0, (stderr, results(report, "violations"))
    assert "tasks.future_required_tasks_found" in results(report, "warnings")
    assert "tasks.required_tasks_found" in results(report, "successes")


@pytest.mark.parametrize("case", ["untrusted", "expired"])
def test_task_bundle_not_trusted(good: Built, case: str) -> None:
    buildah: list[dict[str, str]] = []
    if case == "expired":
        buildah = [{"ref": BUILDAH_DIGEST, "effective_on": "2025-01-01T00:00:00Z",
                    "expires_on": "2026-01-01T00:00:00Z"}]  # fmt: skip
    trusted: dict[str, Any] = {
        CLONE: [{"ref": CLONE_DIGEST}],
        SUMMARY: [{"ref": SUMMARY_DIGEST}],
    }
    if buildah:
        trusted[BUILDAH] = buildah
    code, report, stderr = validate(
        good,
        # minimal's data has no trusted_tasks: the ruleData below is all there is.
        ecp(["@minimal", "trusted_task.trusted"], rule_data={"trusted_tasks": trusted}),
    )  # fmt: skip
    assert code == 1, stderr
    violations = [
        v
        for c in report["components"]
        for v in c.get("violations", [])
        if v["metadata"]["code"] == "trusted_task.trusted"
    ]
    assert violations, results(report, "violations")
    assert all("buildah" in v["msg"] for v in violations), violations


def test_task_bundles_trusted(good: Built) -> None:
    code, report, stderr = validate(good, ecp(["@minimal", "trusted_task.trusted"], data="konflux"))
    assert code == 0, (stderr, results(report, "violations"))
    assert "trusted_task.trusted" in results(report, "successes")


def _cyclonedx(purl: str) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [{"type": "library", "name": purl.split("/")[-1].split("@")[0],
                        "purl": purl}],
    }  # fmt: skip


def test_disallowed_sbom_package(registry: RegistryService, tmp_path: Path) -> None:
    sbom = _cyclonedx("pkg:golang/github.com/dgrijalva/jwt-go@v3.2.0")
    built = build(registry, tmp_path, "bad-sbom", extra=[("cyclonedx", sbom)])
    code, report, stderr = validate(built, ecp(["@minimal", "sbom_cyclonedx"], data="konflux"))
    assert code == 1, stderr
    assert "sbom_cyclonedx.allowed" in results(report, "violations")
    # ... and the same SBOM with the package's policy package excluded: absent from the report.
    code, report, stderr = validate(
        built, ecp(["@minimal", "sbom_cyclonedx"], data="konflux", exclude=["sbom_cyclonedx"])
    )
    assert code == 0, (stderr, results(report, "violations"))
    everything = results(report, "successes") + results(report, "violations")
    everything += results(report, "warnings")
    assert not [c for c in everything if c.startswith("sbom_cyclonedx.")]


def test_blocking_cve(registry: RegistryService, tmp_path: Path) -> None:
    scan = {
        "scanner": {
            "uri": "https://scanner.example/clair",
            "version": "4.7",
            "result": {
                "vulnerabilities": [
                    {
                        "name": "CVE-2026-0001",
                        "normalized_severity": "Critical",
                        "fixed_in_version": "1.2.4",
                        "issued": "2026-01-01T00:00:00Z",
                    }
                ]
            },
        },
        "metadata": {
            "scanStartedOn": "2026-11-02T10:20:00Z",
            "scanFinishedOn": "2026-11-02T10:21:00Z",
        },
    }  # fmt: skip
    built = build(registry, tmp_path, "cve", extra=[("vuln", scan)])
    code, report, stderr = validate(built, ecp(["@minimal", "cve.cve_blockers"], data="konflux"))
    assert code == 1, stderr
    blockers = [
        v
        for c in report["components"]
        for v in c.get("violations", [])
        if v["metadata"]["code"] == "cve.cve_blockers"
    ]
    assert [v["metadata"].get("term") for v in blockers] == ["CVE-2026-0001"]


def test_policy_bundle_read_back_by_digest(
    good: Built, registry: RegistryService, tmp_path: Path
) -> None:
    pushed = _cli(
        ["policy", "push", "--allow-http-registry", "policies/lib", "policies/release",
         registry.ref("e2e/policies:v1")],
        tmp_path,
    ).stdout.strip()  # fmt: skip
    assert pushed.startswith(f"oci::{registry.ref('e2e/policies:v1')}@sha256:"), pushed
    code, report, stderr = validate(good, ecp(["@minimal"], policy=[pushed]))
    assert code == 0, (stderr, results(report, "violations"))
    assert report["policy"]["sources"][0]["policy"] == [pushed]
    assert "attestation_type.known_attestation_type" in results(report, "successes")
