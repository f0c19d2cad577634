"""Image signatures, attestations, SBOMs, tree/triangulate and OCI layouts against the real cosign.

Every check runs in both directions (we write, cosign reads; cosign writes, we read) with both
cosign versions, and compares what ``verify``/``verify-attestation`` print with cosign's output
on the same artifacts.
"""

from __future__ import annotations

import base64
import json
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

SLSA_02 = {
    "builder": {"id": "https://tekton.dev/chains/v2"},
    "buildType": "tekton.dev/v1beta1/TaskRun",
    "invocation": {"configSource": {}, "parameters": {"IMAGE": "quay.io/example/app"}},
    "materials": [{"uri": "git+https://example.com/app.git", "digest": {"sha1": "a" * 40}}],
}
SLSA_1 = {
    "buildDefinition": {
        "buildType": "https://tekton.dev/chains/v2/slsa",
        "externalParameters": {"runSpec": {"taskRef": {"name": "build"}}},
        "internalParameters": {},
        "resolvedDependencies": [],
    },
    "runDetails": {"builder": {"id": "https://tekton.dev/chains/v2"}, "metadata": {}},
}
CUSTOM = {"team": "payments", "approved": True, "checks": ["unit", "e2e"]}
#: cosign --type → (predicateType in the statement, predicate file content)
PREDICATES: dict[str, tuple[str, bytes]] = {
    "slsaprovenance": ("https://slsa.dev/provenance/v0.2", json.dumps(SLSA_02).encode()),
    "slsaprovenance1": ("https://slsa.dev/provenance/v1", json.dumps(SLSA_1).encode()),
    "cyclonedx": (
        "https://cyclonedx.org/bom",
        (FIXTURES / "sbom" / "image-scan.cdx.json").read_bytes(),
    ),
    "spdxjson": ("https://spdx.dev/Document", (FIXTURES / "sbom" / "image.spdx.json").read_bytes()),
    "custom": ("https://cosign.sigstore.dev/attestation/v1", json.dumps(CUSTOM).encode()),
}


@pytest.fixture
def keys(cosign: Cosign, ours: Callable[..., Result], tmp_path: Path) -> dict[str, Path]:
    """A key pair made by us and one made by this cosign."""
    ok(ours("generate-key-pair", "-o", str(tmp_path / "ours")), "generate-key-pair")
    cosign.run("generate-key-pair", "--output-key-prefix", str(tmp_path / "theirs"))
    return {
        "ours": tmp_path / "ours.key",
        "ours.pub": tmp_path / "ours.pub",
        "theirs": tmp_path / "theirs.key",
        "theirs.pub": tmp_path / "theirs.pub",
    }


def header(stderr: str) -> list[str]:
    """The verification header lines (from "Verification for"), without cosign's warnings."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Verification for")), 0)
    return [line for line in lines[start:] if line.strip() and not line.startswith("WARNING")]


def test_sign_and_verify_both_ways_with_annotations(
    cosign: Cosign,
    ours: Callable[..., Result],
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    keys: dict[str, Path],
) -> None:
    image = new_image(registry, f"sign-{cosign.version}")
    ok(ours("sign", "--key", str(keys["ours"]), "-a", "team=blue", *OURS_WRITE, image), "sign")
    cosign.run(
        "sign", "--key", str(keys["theirs"]), "-a", "build=42", "-a", "team=red",
        *cosign.write_flags(), *COSIGN_REGISTRY, image,
    )  # fmt: skip
    verify = [*cosign.verify_flags(), *COSIGN_REGISTRY]

    for key, wanted in (("ours", ["team=blue"]), ("theirs", ["build=42", "team=red"])):
        pub = str(keys[f"{key}.pub"])
        annotations = [arg for pair in wanted for arg in ("-a", pair)]
        theirs = cosign.run("verify", "--key", pub, *annotations, *verify, image)
        mine = ok(ours("verify", "--key", pub, *annotations, *OURS_REGISTRY, image), "verify")
        # cosign prints an empty line before the JSON; the documents are equal
        assert json.loads(mine.out) == json.loads(theirs.stdout)
        payloads = json.loads(mine.out)
        assert len(payloads) == 1
        assert payloads[0]["optional"] == dict(pair.split("=", 1) for pair in wanted)
        assert header(mine.err) == header(theirs.stderr)

    # an annotation that was not signed, and a key that did not sign: both refuse
    pub = str(keys["ours.pub"])
    assert cosign.run(
        "verify", "--key", pub, "-a", "team=red", *verify, image, check=False
    ).returncode
    assert ours("verify", "--key", pub, "-a", "team=red", *OURS_REGISTRY, image).code == 1
    other = keys["ours"].parent / "other"
    ok(ours("generate-key-pair", "-o", str(other)), "generate-key-pair")
    no = cosign.run("verify", "--key", f"{other}.pub", *verify, image, check=False)
    assert no.returncode != 0
    assert ours("verify", "--key", f"{other}.pub", *OURS_REGISTRY, image).code == 1


@pytest.mark.parametrize("kind", PREDICATES)
def test_attestations_both_ways(
    cosign: Cosign,
    ours: Callable[..., Result],
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    keys: dict[str, Path],
    tmp_path: Path,
    kind: str,
) -> None:
    predicate_type, content = PREDICATES[kind]
    predicate = tmp_path / "predicate.json"
    predicate.write_bytes(content)
    by_ours = new_image(registry, f"att-{kind}-ours-{cosign.version}")
    by_cosign = new_image(registry, f"att-{kind}-cosign-{cosign.version}")
    ok(
        ours(
            "attest", "--key", str(keys["ours"]), "--type", kind, "--predicate", str(predicate),
            *OURS_WRITE, by_ours,
        ),
        "attest",
    )  # fmt: skip
    cosign.run(
        "attest", "--key", str(keys["ours"]), "--type", kind, "--predicate", str(predicate),
        *cosign.write_flags(), *COSIGN_REGISTRY, by_cosign,
    )  # fmt: skip

    pub = str(keys["ours.pub"])
    for image in (by_ours, by_cosign):
        theirs = cosign.run(
            "verify-attestation", "--key", pub, "--type", kind, *cosign.verify_flags(),
            *COSIGN_REGISTRY, image,
        )  # fmt: skip
        mine = ok(
            ours("verify-attestation", "--key", pub, "--type", kind, *OURS_REGISTRY, image),
            "verify-attestation",
        )
        assert mine.out == theirs.stdout  # the envelopes, byte for byte
        assert header(mine.err) == header(theirs.stderr)
        envelope = json.loads(mine.out)
        statement = json.loads(base64.b64decode(envelope["payload"]))
        assert statement["predicateType"] == predicate_type
        assert statement["subject"][0]["digest"]["sha256"] == image.rsplit(":", 1)[1]

    # a type that was not attested: both refuse
    other = "slsaprovenance1" if kind != "slsaprovenance1" else "custom"
    refused = cosign.run(
        "verify-attestation", "--key", pub, "--type", other, *cosign.verify_flags(),
        *COSIGN_REGISTRY, by_ours, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert ours("verify-attestation", "--key", pub, "--type", other, *OURS_REGISTRY, by_ours).code


def test_sboms_attached_and_downloaded_both_ways(
    cosign: Cosign,
    ours: Callable[..., Result],
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    tmp_path: Path,
) -> None:
    cdx = FIXTURES / "sbom" / "image-scan.cdx.json"
    spdx = FIXTURES / "sbom" / "image.spdx.json"
    by_ours = new_image(registry, f"sbom-ours-{cosign.version}")
    by_cosign = new_image(registry, f"sbom-cosign-{cosign.version}")
    ok(ours("attach", "sbom", "--sbom", str(cdx), *OURS_WRITE, by_ours), "attach sbom")
    cosign.run(
        "attach", "sbom", "--sbom", str(spdx), "--type", "spdx", "--input-format", "json",
        *COSIGN_REGISTRY, by_cosign,
    )  # fmt: skip

    theirs = cosign.run("download", "sbom", *COSIGN_REGISTRY, by_ours)
    assert theirs.stdout.encode() == cdx.read_bytes()
    mine = ok(ours("download", "sbom", *OURS_REGISTRY, by_cosign), "download sbom")
    assert mine.out.encode() == spdx.read_bytes()


def test_triangulate_and_tree_agree(
    cosign: Cosign,
    ours: Callable[..., Result],
    crane: Crane,
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = new_image(registry, f"tree-{cosign.version}")
    predicate = tmp_path / "predicate.json"
    predicate.write_bytes(PREDICATES["custom"][1])
    key = str(keys["ours"])
    ok(ours("sign", "--key", key, *OURS_WRITE, image), "sign")
    ok(ours("attest", "--key", key, "--predicate", str(predicate), *OURS_WRITE, image), "attest")
    sbom = FIXTURES / "sbom" / "image-scan.cdx.json"
    ok(ours("attach", "sbom", "--sbom", str(sbom), *OURS_WRITE, image), "attach sbom")

    for kind in ("signature", "attestation", "sbom", "digest"):
        mine = ok(ours("triangulate", "--type", kind, *OURS_REGISTRY, image), "triangulate")
        theirs = cosign.run("triangulate", "--type", kind, *COSIGN_REGISTRY, image)
        assert mine.out.strip() == theirs.stdout.strip()

    tree = cosign.run("tree", *COSIGN_REGISTRY, image).stdout
    for kind, suffix in (("signature", "sig"), ("attestation", "att"), ("sbom", "sbom")):
        tag = ok(ours("triangulate", "--type", kind, *OURS_REGISTRY, image), "").out.strip()
        assert tag.endswith(f".{suffix}")
        assert tag in tree
        manifest = json.loads(crane.text("manifest", tag))
        for layer in manifest["layers"]:
            assert layer["digest"] in tree


def test_copy_to_an_oci_layout_verified_by_cosign_local_image(
    cosign: Cosign,
    ours: Callable[..., Result],
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = new_image(registry, f"layout-{cosign.version}")
    predicate = tmp_path / "predicate.json"
    predicate.write_bytes(PREDICATES["slsaprovenance"][1])
    key, pub = str(keys["ours"]), str(keys["ours.pub"])
    ok(ours("sign", "--key", key, "-a", "env=prod", *OURS_WRITE, image), "sign")
    ok(
        ours(
            "attest", "--key", key, "--type", "slsaprovenance", "--predicate", str(predicate),
            *OURS_WRITE, image,
        ),
        "attest",
    )  # fmt: skip
    layout = tmp_path / "layout"
    ok(ours("copy", *OURS_WRITE, image, f"oci:{layout}"), "copy")

    signatures = cosign.run(
        "verify", "--key", pub, "-a", "env=prod", *cosign.verify_flags(), "--local-image",
        str(layout),
    )  # fmt: skip
    payloads = json.loads(signatures.stdout)
    assert [p["critical"]["image"]["docker-manifest-digest"] for p in payloads] == [
        image.rsplit("@", 1)[1]
    ]
    attestations = cosign.run(
        "verify-attestation", "--key", pub, "--type", "slsaprovenance", *cosign.verify_flags(),
        "--local-image", str(layout),
    )  # fmt: skip
    from_registry = ok(
        ours("verify-attestation", "--key", pub, "--type", "slsaprovenance", *OURS_REGISTRY, image),
        "verify-attestation",
    )
    assert attestations.stdout == from_registry.out


def test_cosign_save_layout_verified_by_us(
    cosign: Cosign,
    ours: Callable[..., Result],
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    keys: dict[str, Path],
    tmp_path: Path,
) -> None:
    image = new_image(registry, f"saved-{cosign.version}")
    predicate = tmp_path / "predicate.json"
    predicate.write_bytes(PREDICATES["custom"][1])
    key, pub = str(keys["theirs"]), str(keys["theirs.pub"])
    cosign.run(
        "sign", "--key", key, "-a", "env=prod", *cosign.write_flags(), *COSIGN_REGISTRY, image
    )
    cosign.run(
        "attest", "--key", key, "--predicate", str(predicate), *cosign.write_flags(),
        *COSIGN_REGISTRY, image,
    )  # fmt: skip
    saved = tmp_path / "saved"
    cosign.run("save", "--dir", str(saved), *COSIGN_REGISTRY, image)

    local = f"oci:{saved}@{image.split('@')[1]}"
    mine = ok(ours("verify", "--key", pub, "-a", "env=prod", local), "verify")
    theirs = cosign.run(
        "verify",
        "--key",
        pub,
        "-a",
        "env=prod",
        *cosign.verify_flags(),
        "--local-image",
        str(saved),
    )
    assert json.loads(mine.out) == json.loads(theirs.stdout)
    attested = ok(ours("verify-attestation", "--key", pub, local), "verify-attestation")
    theirs = cosign.run(
        "verify-attestation", "--key", pub, *cosign.verify_flags(), "--local-image", str(saved)
    )
    assert attested.out == theirs.stdout
