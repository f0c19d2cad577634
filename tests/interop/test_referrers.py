"""OCI 1.1 referrers with the real cosign: signatures, Sigstore bundles and SBOMs, both ways.

Each test runs on a registry with the referrers API (our fake) and on distribution 2.8, where
both sides use the ``sha256-<hex>`` fallback tag. cosign only writes ``oci-1-1`` referrers with
``COSIGN_EXPERIMENTAL=1`` (it refuses the mode otherwise), so those writes set it; it reads
``sig.v1`` referrers with ``--experimental-oci11`` and bundles with ``--new-bundle-format``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.integration.conftest import RegistryService
from tests.interop._helpers import (
    COSIGN_REGISTRY,
    OURS_REGISTRY,
    OURS_WRITE,
    Cosign,
    Crane,
    Result,
    ok,
)

pytestmark = [pytest.mark.interop, pytest.mark.integration]

SIG_V1 = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM_V1 = "application/vnd.dev.cosign.artifact.sbom.v1+json"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"


@pytest.fixture(params=["referrers-api", "fallback-tag"])
def target(request: pytest.FixtureRequest) -> RegistryService:
    name = "referrers_registry" if request.param == "referrers-api" else "registry"
    service = request.getfixturevalue(name)
    assert isinstance(service, RegistryService)
    return service


@pytest.fixture
def key(ours: Callable[..., Result], tmp_path: Path) -> tuple[str, str]:
    ok(ours("generate-key-pair", "-o", str(tmp_path / "k")), "generate-key-pair")
    return str(tmp_path / "k.key"), str(tmp_path / "k.pub")


def referrers(crane: Crane, image: str) -> list[dict[str, object]]:
    """The image's referrers as crane's OCI 1.1 client lists them (API or fallback tag)."""
    repository, digest = image.split("@")
    done = crane.run("manifest", f"{repository}:{digest.replace(':', '-')}", check=False)
    if done.returncode == 0:  # the fallback tag
        index = json.loads(done.stdout)
    else:
        host, name = repository.split("/", 1)
        with urllib.request.urlopen(f"http://{host}/v2/{name}/referrers/{digest}") as answer:
            index = json.loads(answer.read())
    manifests = index.get("manifests", [])
    assert isinstance(manifests, list)
    return manifests


def test_signature_referrers_both_ways(
    cosign: Cosign,
    ours: Callable[..., Result],
    crane: Crane,
    target: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    key: tuple[str, str],
) -> None:
    private, public = key
    mode = ("--registry-referrers-mode", "oci-1-1")
    by_ours = new_image(target, f"ref-sig-ours-{cosign.version}")
    by_cosign = new_image(target, f"ref-sig-cosign-{cosign.version}")
    ok(ours("sign", "--key", private, *mode, "-a", "via=referrer", *OURS_WRITE, by_ours), "sign")
    cosign.run(
        "sign", "--key", private, *mode, "-a", "via=referrer", *cosign.write_flags(),
        *COSIGN_REGISTRY, by_cosign, experimental=True,
    )  # fmt: skip
    for image in (by_ours, by_cosign):
        assert [m.get("artifactType") for m in referrers(crane, image)] == [SIG_V1]
        theirs = cosign.run(
            "verify", "--key", public, "--experimental-oci11", *cosign.verify_flags(),
            *COSIGN_REGISTRY, image,
        )  # fmt: skip
        mine = ok(
            ours(
                "verify", "--key", public, "--new-bundle-format", "--insecure-ignore-tlog",
                *OURS_REGISTRY, image,
            ),
            "verify",
        )  # fmt: skip
        assert json.loads(mine.out) == json.loads(theirs.stdout)
        assert json.loads(mine.out)[0]["optional"] == {"via": "referrer"}


def test_bundle_signatures_from_cosign_3(
    cosigns: dict[str, Cosign],
    ours: Callable[..., Result],
    target: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    key: tuple[str, str],
) -> None:
    """cosign 3 signs images as Sigstore bundle referrers by default (2.5 cannot)."""
    cosign = cosigns["3.1"]
    private, public = key
    image = new_image(target, "ref-bundle-sig")
    cosign.run("sign", "--key", private, *cosign.write_flags(bundle=True), *COSIGN_REGISTRY, image)
    theirs = cosign.run(
        "verify", "--key", public, *cosign.verify_flags(bundle=True), *COSIGN_REGISTRY, image
    )
    mine = ok(
        ours(
            "verify", "--key", public, "--new-bundle-format", "--insecure-ignore-tlog",
            *OURS_REGISTRY, image,
        ),
        "verify",
    )  # fmt: skip
    assert json.loads(mine.out) == json.loads(theirs.stdout)
    tagged = image.split("@")[0] + ":v1"  # by tag: cosign names the reference as given
    theirs = cosign.run(
        "verify", "--key", public, *cosign.verify_flags(bundle=True), *COSIGN_REGISTRY, tagged
    )
    mine = ok(
        ours(
            "verify", "--key", public, "--new-bundle-format", "--insecure-ignore-tlog",
            *OURS_REGISTRY, tagged,
        ),
        "verify",
    )  # fmt: skip
    assert json.loads(mine.out) == json.loads(theirs.stdout)


def test_sbom_referrers_both_ways(
    cosign: Cosign,
    ours: Callable[..., Result],
    crane: Crane,
    target: RegistryService,
    new_image: Callable[[RegistryService, str], str],
) -> None:
    sbom = FIXTURES / "sbom" / "image-scan.cdx.json"
    mode = ("--registry-referrers-mode", "oci-1-1")
    by_ours = new_image(target, f"ref-sbom-ours-{cosign.version}")
    by_cosign = new_image(target, f"ref-sbom-cosign-{cosign.version}")
    ok(ours("attach", "sbom", "--sbom", str(sbom), *mode, *OURS_WRITE, by_ours), "attach sbom")
    cosign.run(
        "attach", "sbom", "--sbom", str(sbom), "--type", "cyclonedx", *mode, *COSIGN_REGISTRY,
        by_cosign, experimental=True,
    )  # fmt: skip

    shapes = []
    for image in (by_ours, by_cosign):
        listed = referrers(crane, image)
        assert [m.get("artifactType") for m in listed] == [SBOM_V1]
        repository = image.split("@")[0]
        manifest = json.loads(crane.text("manifest", f"{repository}@{listed[0]['digest']}"))
        shapes.append(
            (
                manifest["mediaType"],
                manifest["config"]["mediaType"],
                [layer["mediaType"] for layer in manifest["layers"]],
                manifest["subject"]["digest"] == image.split("@")[1],
            )
        )
        downloaded = ok(ours("download", "sbom", *mode, *OURS_REGISTRY, image), "download sbom").out
        assert downloaded.encode() == sbom.read_bytes()
    assert shapes[0] == shapes[1]  # we write the referrer cosign writes

    if cosign.v3:  # cosign 3 lists referrers in its tree
        tree = cosign.run("tree", *mode, *COSIGN_REGISTRY, by_ours, experimental=True).stdout
        assert SBOM_V1 in tree


def test_attestation_bundles_from_cosign_print_as_cosign_prints(
    cosign: Cosign,
    ours: Callable[..., Result],
    target: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    key: tuple[str, str],
    tmp_path: Path,
) -> None:
    """verify-attestation --new-bundle-format prints each bundle's DSSE envelope, as cosign."""
    private, public = key
    predicate = tmp_path / "predicate.json"
    predicate.write_text(json.dumps({"reviewed": "yes"}))
    image = new_image(target, f"ref-att-bundle-cosign-{cosign.version}")
    cosign.run(
        "attest", "--key", private, "--type", "custom", "--predicate", str(predicate),
        *cosign.write_flags(bundle=True), *COSIGN_REGISTRY, image,
    )  # fmt: skip
    theirs = cosign.run(
        "verify-attestation", "--key", public, "--type", "custom",
        *cosign.verify_flags(bundle=True), *COSIGN_REGISTRY, image,
    )  # fmt: skip
    mine = ok(
        ours(
            "verify-attestation", "--key", public, "--type", "custom", "--new-bundle-format",
            "--insecure-ignore-tlog", *OURS_REGISTRY, image,
        ),
        "verify-attestation",
    )  # fmt: skip
    assert mine.out == theirs.stdout
    assert set(json.loads(mine.out)) == {"payload", "payloadType", "signatures"}


def test_attestation_referrers_from_ours_are_sigstore_bundles(
    cosign: Cosign,
    ours: Callable[..., Result],
    crane: Crane,
    target: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    key: tuple[str, str],
    tmp_path: Path,
) -> None:
    """attest --registry-referrers-mode oci-1-1 writes the bundle referrer cosign writes."""
    private, public = key
    predicate = tmp_path / "predicate.json"
    predicate.write_text(
        json.dumps(
            {
                "buildDefinition": {
                    "buildType": "https://example.com/build",
                    "externalParameters": {},
                },
                "runDetails": {"builder": {"id": "https://example.com/builder"}},
            }
        )
    )
    by_ours = new_image(target, f"ref-att-ours-{cosign.version}")
    by_cosign = new_image(target, f"ref-att-cosign-{cosign.version}")
    ok(
        ours(
            "attest", "--key", private, "--type", "slsaprovenance1", "--predicate",
            str(predicate), "--registry-referrers-mode", "oci-1-1", *OURS_WRITE, by_ours,
        ),
        "attest",
    )  # fmt: skip
    cosign.run(
        "attest", "--key", private, "--type", "slsaprovenance1", "--predicate", str(predicate),
        *cosign.write_flags(bundle=True), *COSIGN_REGISTRY, by_cosign,
    )  # fmt: skip

    shapes = []
    for image in (by_ours, by_cosign):
        listed = referrers(crane, image)
        assert len(listed) == 1
        repository, digest = image.split("@")
        manifest = json.loads(crane.text("manifest", f"{repository}@{listed[0]['digest']}"))
        annotations = manifest.get("annotations", {})
        shapes.append(
            (
                manifest.get("artifactType"),
                manifest["config"]["mediaType"],
                [layer["mediaType"] for layer in manifest["layers"]],
                manifest["subject"]["digest"] == digest,
                annotations.get("dev.sigstore.bundle.content"),
                annotations.get("dev.sigstore.bundle.predicateType"),
                sorted(annotations),
            )
        )
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == BUNDLE_V03

    for image in (by_ours, by_cosign):  # each side reads both
        theirs = cosign.run(
            "verify-attestation", "--key", public, "--type", "slsaprovenance1",
            *cosign.verify_flags(bundle=True), *COSIGN_REGISTRY, image,
        )  # fmt: skip
        mine = ok(
            ours(
                "verify-attestation", "--key", public, "--type", "slsaprovenance1",
                "--new-bundle-format", "--insecure-ignore-tlog", *OURS_REGISTRY, image,
            ),
            "verify-attestation",
        )  # fmt: skip
        assert mine.out == theirs.stdout
