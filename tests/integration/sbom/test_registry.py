"""SBOMs with images in the local registry, end to end through the CLI (in-process ``main``):
generate from the registry, attach and read back, attest and verify, what other clients see,
what bad input and a failing registry leave behind."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from konflux_supply import oci, sbom, signing
from konflux_supply.cli import main
from tests.integration.conftest import RegistryService, require_binary
from tests.integration.fault_proxy import FaultProxy
from tests.unit.sbom.helpers import FIXTURES, SERIAL, bom, component, dumps
from tests.unit.sbom.images import push_index

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cli_environment")]

HTTP = ["--allow-http-registry"]
FAST = ["--settle", "0"]
PINNED = ["--serial-number", SERIAL, "--timestamp", "2026-11-20T12:00:00Z"]
CDX = FIXTURES / "image-scan.cdx.json"
PREFETCH = FIXTURES / "prefetch.cdx.json"
SPDX_JSON = FIXTURES / "image.spdx.json"
SPDX_TEXT = FIXTURES / "image.spdx"
PLATFORMS = [("linux", "amd64", None), ("linux", "arm64", "v8")]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("keys")
    pair = signing.generate_key_pair(b"pw", scrypt=signing.LEGACY_SCRYPT)
    key, pub = signing.write_key_pair(pair, directory / "cosign")
    return {"key": str(key), "pub": str(pub)}


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    code = main(list(args))
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def index_image(service: RegistryService, name: str, **kwargs: bool) -> tuple[str, str]:
    """Push a two-platform index as konflux/NAME:v1; returns (tag reference, index digest)."""
    client, ref = oci.open_registry(service.ref(f"konflux/{name}:v1"), options=service.options)
    index = push_index(client, ref.repository, "v1", PLATFORMS, **kwargs)
    return str(ref), index.digest


def skopeo_raw(reference: oci.Reference) -> bytes:
    command = [require_binary("skopeo"), "inspect", "--tls-verify=false", "--raw"]
    return subprocess.run(
        [*command, f"docker://{reference}"], capture_output=True, check=True
    ).stdout


@pytest.mark.parametrize("state_platforms", [True, False])
def test_generate_reads_the_registry(
    registry: RegistryService, capsysbinary: pytest.CaptureFixture[bytes], state_platforms: bool
) -> None:
    name = f"sbom-gen-{str(state_platforms).lower()}"
    image, digest = index_image(registry, name, state_platforms=state_platforms)
    code, out, err = run(capsysbinary, "sbom", "generate", *HTTP, *PINNED, image)
    assert code == 0, err
    doc = sbom.parse_cyclonedx(out)
    repository = f"{registry.host}/konflux/{name}"
    assert doc.metadata_component is not None
    assert doc.metadata_component.purl == f"pkg:oci/{name}@{digest}?repository_url={repository}"
    assert [c.purl.split("?")[1] for c in doc.components if c.purl] == [
        f"arch=amd64&repository_url={repository}",
        f"arch=arm64&repository_url={repository}",
    ]
    assert sbom.validate(doc).ok
    # By digest: the same document.
    code, again, _ = run(capsysbinary, "sbom", "generate", *HTTP, *PINNED, f"{repository}@{digest}")
    assert (code, again) == (0, out)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        (CDX, "application/vnd.cyclonedx+json"),
        (SPDX_JSON, "text/spdx+json"),
        (SPDX_TEXT, "text/spdx"),
    ],
)
def test_attached_sbom_reads_back_identical(
    path: Path,
    media_type: str,
    registry: RegistryService,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    image, digest = index_image(registry, f"sbom-attach-{path.suffix.strip('.')}")
    code, _, err = run(capsysbinary, "attach", "sbom", "--sbom", str(path), *HTTP, *FAST, image)
    assert code == 0, err
    code, out, err = run(capsysbinary, "download", "sbom", *HTTP, image)
    assert code == 0, err
    assert out == path.read_bytes()
    assert f"Found SBOM of media type: {media_type}" in err
    # Another client sees cosign's .sbom image: one layer, the file's digest and media type.
    tag = oci.triangulate(oci.parse_reference(image).with_digest(digest), oci.Kind.SBOM)
    manifest = json.loads(skopeo_raw(tag))
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == media_type
    assert layer["digest"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert layer["size"] == len(path.read_bytes())


def test_generate_merge_attest_verify_round_trip(
    registry: RegistryService,
    keys: dict[str, str],
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    image, digest = index_image(registry, "sbom-round-trip")
    generated = tmp_path / "image.cdx.json"
    merged = tmp_path / "merged.cdx.json"
    inputs = [str(generated), str(CDX), str(PREFETCH)]
    attest = ["--key", keys["key"], "--type", "cyclonedx", "--predicate", str(merged)]
    steps = [
        ["sbom", "generate", *HTTP, *PINNED, "-o", str(generated), image],
        ["sbom", "merge", *HTTP, *PINNED, "--subject", image, "-o", str(merged), *inputs],
        ["attest", *attest, *HTTP, *FAST, image],
        ["attach", "sbom", "--sbom", str(merged), *HTTP, *FAST, image],
    ]
    for step in steps:
        code, _, err = run(capsysbinary, *step)
        assert code == 0, (step, err)
    document = sbom.parse_cyclonedx(merged.read_bytes())
    assert sbom.validate(document).ok
    assert document.metadata_component is not None
    assert document.metadata_component.purl == sbom.oci_purl(f"{image.rsplit(':', 1)[0]}@{digest}")
    assert {c.name for c in document.components} >= {"bash", "requests", "internal-tool"}

    code, out, err = run(
        capsysbinary,
        "verify-attestation",
        "--key",
        keys["pub"],
        "--type",
        "cyclonedx",
        *HTTP,
        image,
    )
    assert code == 0, err
    (line,) = out.splitlines()
    statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    assert statement["predicateType"] == "https://cyclonedx.org/bom"
    assert statement["subject"][0]["digest"] == {"sha256": digest.split(":")[1]}
    assert statement["predicate"] == json.loads(merged.read_bytes())
    assert sbom.parse_predicate(statement["predicateType"], statement["predicate"]).purls() == (
        document.purls()
    )
    code, out, _ = run(capsysbinary, "download", "sbom", *HTTP, image)
    assert (code, out) == (0, merged.read_bytes())
    # Another key, or the SPDX type, is a "no".
    other = signing.write_key_pair(
        signing.generate_key_pair(b"pw", scrypt=signing.LEGACY_SCRYPT), tmp_path / "other"
    )[1]
    for args in (
        ["--key", str(other), "--type", "cyclonedx"],
        ["--key", keys["pub"], "--type", "spdxjson"],
    ):
        code, out, _ = run(capsysbinary, "verify-attestation", *args, *HTTP, image)
        assert (code, out) == (1, b"")


@pytest.mark.parametrize(
    ("command", "content", "message"),
    [
        ("attach", b"{", "invalid JSON"),
        ("attach", dumps(bom([component("a"), component("a")])), "duplicate bom-ref"),
        ("attach", None, "larger than the cap"),
        ("attach-as-cyclonedx", SPDX_JSON.read_bytes(), "--type cyclonedx does not match"),
        ("attest", dumps(bom([component("a")], [{"ref": "dangling"}])), "dangling"),
        ("attest", SPDX_TEXT.read_bytes(), "--type cyclonedx needs cyclonedx"),
    ],
)
def test_bad_sboms_push_nothing(
    command: str,
    content: bytes | None,
    message: str,
    registry: RegistryService,
    keys: dict[str, str],
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    image, _ = index_image(
        registry, f"sbom-bad-{command}-{message[:6].strip('-').replace(' ', '')}"
    )
    path = tmp_path / "bad.json"
    if content is None:
        with path.open("wb") as handle:
            handle.truncate(128 * 1024 * 1024 + 1)  # sparse
    else:
        path.write_bytes(content)
    if command == "attest":
        args = ["attest", "--key", keys["key"], "--type", "cyclonedx", "--predicate", str(path)]
    else:
        args = ["attach", "sbom", "--sbom", str(path)]
        if command == "attach-as-cyclonedx":
            args += ["--type", "cyclonedx"]
    code, out, err = run(capsysbinary, *args, *HTTP, *FAST, image)
    assert (code, out) == (2, b"")
    assert message in err
    assert str(path) in err
    client, ref = oci.open_registry(image, options=registry.options)
    assert client.list_tags(ref.repository) == ["v1"]


def test_referrers_mode_round_trip(
    referrers_registry: RegistryService, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    image, _ = index_image(referrers_registry, "sbom-referrers")
    mode = ["--registry-referrers-mode", "oci-1-1"]
    code, _, err = run(
        capsysbinary, "attach", "sbom", "--sbom", str(SPDX_JSON), *mode, *HTTP, image
    )
    assert code == 0, err
    code, out, err = run(capsysbinary, "download", "sbom", *mode, *HTTP, image)
    assert code == 0, err
    assert out == SPDX_JSON.read_bytes()
    code, out, err = run(capsysbinary, "download", "sbom", *HTTP, image)
    assert (code, out) == (1, b"")
    assert "no SBOM attached" in err


def test_a_failing_registry_is_never_an_sbom(
    registry: RegistryService,
    fault_proxy: FaultProxy,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    image, digest = index_image(registry, "sbom-faults")
    assert run(capsysbinary, "attach", "sbom", "--sbom", str(CDX), *HTTP, *FAST, image)[0] == 0
    via = f"{fault_proxy.host}/konflux/sbom-faults@{digest}"
    retries = ["--registry-retries", "2"]
    # One transient fault of each kind is retried: the bytes come back identical.
    fault_proxy.plan.add("status", status=503, times=1)
    fault_proxy.plan.add("corrupt", method="GET", path="/blobs/", times=1)
    code, out, err = run(capsysbinary, "download", "sbom", *HTTP, via)
    assert (code, out) == (0, CDX.read_bytes()), err
    commands = {"download": ["download", "sbom"], "generate": ["sbom", "generate"]}
    for rule, affected in (
        ({"fault": "corrupt", "path": "/blobs/"}, ["download"]),
        ({"fault": "corrupt", "path": "/manifests/"}, ["download", "generate"]),
        ({"fault": "status", "status": 502}, ["download", "generate"]),
    ):
        fault_proxy.plan.clear()
        fault_proxy.plan.add(rule.pop("fault"), method="GET", times=None, **rule)  # type: ignore[arg-type]
        for name in affected:
            code, out, err = run(capsysbinary, *commands[name], *HTTP, *retries, via)
            assert (code, out) == (3, b""), (name, rule, err)
