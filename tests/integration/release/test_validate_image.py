"""``validate image`` end to end on the local registry: images we build, sign and attest with our
own provenance, signing and publish, against the @minimal collection of policies/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import oci
from tests.integration.conftest import RegistryService
from tests.integration.release._helpers import (
    minimal_policy,
    new_signer,
    publish_image,
    push_image,
    tar_layer,
)
from tests.unit.release._helpers import run_cli

pytestmark = pytest.mark.integration

OLM_LABEL = "operators.operatorframework.io.bundle.manifests.v1"


@dataclass(frozen=True)
class Images:
    good: str
    unsigned: str
    other_attestor: str
    missing: str
    public_pem: str


@pytest.fixture(scope="module")
def images(registry: RegistryService) -> Images:
    signer = new_signer()
    other = new_signer()
    reg, _ = oci.open_registry(registry.ref("release/x:v1"), options=registry.options)
    try:
        good = publish_image(reg, registry.host, "release/good", signer=signer)
        unsigned = publish_image(reg, registry.host, "release/unsigned", signer=signer, sign=False)
        other_attestor = publish_image(
            reg, registry.host, "release/other", signer=signer, attest_with=other
        )
    finally:
        reg.close()
    return Images(
        good=good,
        unsigned=unsigned,
        other_attestor=other_attestor,
        missing=registry.ref("release/missing:v1"),
        public_pem=signer.public_key_pem().decode(),
    )


def validate(
    policy: dict[str, Any], *images: str, extra: tuple[str, ...] = ()
) -> tuple[int, Any, str]:
    args = ["validate", "image", "--policy", json.dumps(policy), "--allow-http-registry"]
    for image in images:
        args += ["--image", image] if len(images) == 1 else []
    if len(images) > 1:
        snapshot = {
            "components": [{"name": f"c{i}", "containerImage": ref} for i, ref in enumerate(images)]
        }
        args += ["--images", json.dumps(snapshot)]
    args += ["--output", "json", *extra]
    code, stdout, stderr = run_cli(*args)
    return code, json.loads(stdout) if stdout else None, stderr


def codes(component: dict[str, Any], key: str = "violations") -> list[str]:
    return [r.get("metadata", {}).get("code", "") for r in component.get(key, [])]


def test_signed_and_attested_image_passes(images: Images) -> None:
    code, report, stderr = validate(
        minimal_policy(images.public_pem), images.good, extra=("--show-successes",)
    )
    assert code == 0, (stderr, report)
    assert report["success"] is True
    (component,) = report["components"]
    assert component["containerImage"] == images.good
    assert component["name"] == "Unnamed"
    assert "builtin.image.signature_check" in codes(component, "successes")
    assert "builtin.attestation.signature_check" in codes(component, "successes")
    assert "builtin.attestation.syntax_check" in codes(component, "successes")
    assert any(c.startswith("attestation_type.") for c in codes(component, "successes"))
    assert component["attestations"][0]["predicateType"] == "https://slsa.dev/provenance/v0.2"
    assert report["key"] == images.public_pem


def test_unsigned_image_is_a_signature_violation(images: Images) -> None:
    code, report, _ = validate(minimal_policy(images.public_pem), images.unsigned)
    assert code == 1
    (component,) = report["components"]
    assert codes(component) == ["builtin.image.signature_check"]
    assert "error" not in component


def test_attestation_signed_by_another_key(images: Images) -> None:
    code, report, _ = validate(minimal_policy(images.public_pem), images.other_attestor)
    assert code == 1
    (component,) = report["components"]
    assert codes(component) == ["builtin.attestation.signature_check"]


def test_missing_image_is_not_accessible(images: Images) -> None:
    code, report, _ = validate(minimal_policy(images.public_pem), images.missing)
    assert code == 1
    (component,) = report["components"]
    assert codes(component) == ["builtin.image.accessible"]
    assert component["violations"][0]["msg"].startswith("Image URL is not accessible: ")


def test_policy_input_has_config_parent_and_bundle_files(
    images: Images, registry: RegistryService, tmp_path: Path
) -> None:
    signer = new_signer()
    reg, _ = oci.open_registry(registry.ref("release/x:v1"), options=registry.options)
    try:
        base = push_image(reg, registry.host, "release/base", "v1", "base")
        base_name, _, base_digest = base.partition("@")
        layer = tar_layer(
            {
                "manifests/csv.yaml": b"kind: ClusterServiceVersion\nspec: {version: 0.1.0}\n",
                "manifests/notes.txt": b"not structured",
                "etc/other.yaml": b"kind: Elsewhere\n",
            }
        )
        bundle = publish_image(
            reg,
            registry.host,
            "release/bundle",
            signer=signer,
            labels={OLM_LABEL: "manifests/"},
            layer=layer,
            annotations={
                "org.opencontainers.image.base.name": base_name + ":v1",
                "org.opencontainers.image.base.digest": base_digest,
            },
        )
    finally:
        reg.close()
    pem = signer.public_key_pem().decode()
    inputs = tmp_path / "inputs.jsonl"
    snapshot = {
        "application": "app",
        "components": [
            {
                "name": "bundle",
                "containerImage": bundle,
                "source": {"git": {"url": "https://git.example/b", "revision": "abc"}},
            }
        ],
    }
    code, out, err = run_cli(
        "validate", "image", "--policy", json.dumps(minimal_policy(pem)),
        "--images", json.dumps(snapshot), "--allow-http-registry",
        "--output", f"policy-input={inputs}", "--output", "json",
    )  # fmt: skip
    assert code == 0, err
    (line,) = inputs.read_text().splitlines()
    document = json.loads(line)
    assert list(document) == ["attestations", "image", "snapshot", "component_name", "policy_spec"]
    assert document["component_name"] == "bundle"
    image = document["image"]
    assert image["ref"] == bundle
    assert image["config"]["Labels"][OLM_LABEL] == "manifests/"
    assert image["parent"]["ref"] == f"{base_name}:v1@{base_digest}"
    assert image["parent"]["config"]["Labels"]["salt"] == "base"
    assert image["files"] == {
        "manifests/csv.yaml": {"kind": "ClusterServiceVersion", "spec": {"version": "0.1.0"}}
    }
    assert image["source"] == snapshot["components"][0]["source"]
    assert image["signatures"][0]["keyid"] == ""
    assert document["snapshot"]["application"] == "app"
    assert document["snapshot"]["components"][0]["containerImage"] == bundle
    assert document["policy_spec"]["publicKey"] == pem
    (attestation,) = document["attestations"]
    assert attestation["statement"]["predicateType"] == "https://slsa.dev/provenance/v0.2"
    assert attestation["signatures"][0]["sig"]
    assert json.loads(out)["components"][0]["source"] == snapshot["components"][0]["source"]


DATED = """package dated

import rego.v1

# METADATA
# title: Dated
# custom:
#   short_name: dated
#   effective_on: 2026-11-15T00:00:00Z
deny contains result if {
\ttrue
\tresult := {"code": "dated.dated", "msg": "dated rule", "effective_on": "2026-11-15T00:00:00Z"}
}
"""


def test_effective_time_attestation_uses_build_finished(images: Images, tmp_path: Path) -> None:
    """The provenance says the build finished on 2026-11-02; a rule effective from
    2026-11-15 is then a warning (future), while at a later effective time it fails."""
    (tmp_path / "dated.rego").write_text(DATED)
    policy = {"publicKey": images.public_pem, "sources": [{"policy": [str(tmp_path)]}]}
    code, report, _ = validate(policy, images.good, extra=("--effective-time", "attestation"))
    assert code == 0
    (component,) = report["components"]
    assert [w["metadata"]["code"] for w in component["warnings"]] == ["dated.dated"]
    later = ("--effective-time", "2027-01-01T00:00:00Z", "--allow-past-effective-time")
    code, report, _ = validate(policy, images.good, extra=later)
    assert code == 1
    assert codes(report["components"][0]) == ["dated.dated"]


def test_skip_att_sig_check_reads_attestations_unverified(images: Images) -> None:
    code, report, stderr = validate(
        minimal_policy(images.public_pem), images.other_attestor, extra=("--skip-att-sig-check",)
    )
    assert code == 0, (stderr, report)
    (component,) = report["components"]
    assert component["attestations"][0]["predicateType"] == "https://slsa.dev/provenance/v0.2"


def test_strict_false_and_text_output(images: Images) -> None:
    code, out, err = run_cli(
        "validate", "image", "--image", images.unsigned, "--allow-http-registry",
        "--policy", json.dumps(minimal_policy(images.public_pem)), "--strict=false",
        "--output", "text", "--color=false",
    )  # fmt: skip
    assert code == 0, err
    text = out.decode()
    assert text.startswith("Success: false")
    assert "builtin.image.signature_check" in text
