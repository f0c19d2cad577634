"""SBOMs stored with images in an OCI layout: generate, attach, download, attest, verify.

The same commands run against the local registry in ``tests/integration/sbom``; a layout
needs no sockets, so every failure path is covered here.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from konflux_supply import oci, publish, sbom, signing
from konflux_supply.cli import main
from konflux_supply.errors import InputError, RegistryError, VerificationError
from konflux_supply.oci.cosign import build_signature_image

from .helpers import FIXTURES, SERIAL, WHEN, bom, component, dumps
from .images import push_image, push_index

CDX = FIXTURES / "image-scan.cdx.json"
SPDX_JSON = FIXTURES / "image.spdx.json"
SPDX_TEXT = FIXTURES / "image.spdx"
FAST = ["--settle", "0"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("keys")
    pair = signing.generate_key_pair(b"pw", scrypt=signing.LEGACY_SCRYPT)
    key, pub = signing.write_key_pair(pair, directory / "cosign")
    return {"key": str(key), "pub": str(pub)}


pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture
def layout(tmp_path: Path) -> tuple[oci.Registry, str]:
    """A layout holding a two-platform index tagged v1; returns (registry, image)."""
    directory = tmp_path / "layout"
    registry, _ = oci.open_registry(f"oci:{directory}")
    push_index(registry, "", "v1", [("linux", "amd64", None), ("linux", "arm64", "v8")])
    return registry, f"oci:{directory}:v1"


def run(capsys: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.decode()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


# -- generate through konflux_supply.oci --------------------------------------------------------


def test_generate_reads_the_index_and_each_platform_manifest(tmp_path: Path) -> None:
    registry, ref = oci.open_registry(f"oci:{tmp_path / 'l'}:v1")
    index = push_index(
        registry,
        "",
        "v1",
        [("linux", "amd64", None), ("linux", "arm", "v7")],
        state_platforms=False,
    )
    doc = sbom.generate(ref, registry=registry, repository="quay.io/org/app", timestamp=WHEN)
    assert doc.metadata_component is not None
    assert doc.metadata_component.purl == sbom.oci_purl(f"quay.io/org/app@{index.digest}")
    # The index does not state platforms: each manifest's config supplies them.
    assert [c.purl.split("?")[1] for c in doc.components if c.purl] == [
        "arch=amd64&repository_url=quay.io/org/app",
        "arch=arm&repository_url=quay.io/org/app",
    ]
    assert [p.value for c in doc.components for p in c.properties] == [
        "linux/amd64",
        "linux/arm/v7",
    ]
    assert sbom.validate(doc).ok
    # The same through a string reference (the layout is opened for the caller).
    again = sbom.generate(
        f"oci:{tmp_path / 'l'}@{index.digest}",
        repository="quay.io/org/app",
        serial_number=doc.serial_number,
        timestamp=WHEN,
    )
    assert again.to_json() == doc.to_json()


def test_generate_single_manifest_from_a_layout(tmp_path: Path) -> None:
    registry, ref = oci.open_registry(f"oci:{tmp_path / 'l'}:v1")
    image = push_image(registry, "", ("linux", "s390x", None), tag="v1")
    doc = sbom.generate(ref, registry=registry, components=[component("requests", "2.32.3")])
    assert doc.metadata_component is not None
    assert doc.metadata_component.purl == f"pkg:oci/l@{image.digest}?arch=s390x"
    assert doc.dependencies[0].depends_on == ("pkg:pypi/requests@2.32.3",)


def test_generate_fails_closed_on_a_missing_or_corrupt_platform_manifest(tmp_path: Path) -> None:
    directory = tmp_path / "l"
    registry, ref = oci.open_registry(f"oci:{directory}:v1")
    index = push_index(registry, "", "v1", [("linux", "amd64", None)])
    child = json.loads(index.data)["manifests"][0]["digest"]
    blob = directory / "blobs" / "sha256" / child.split(":")[1]
    blob.write_bytes(blob.read_bytes() + b" ")  # same JSON, another digest
    with pytest.raises(RegistryError, match="corrupt"):
        sbom.generate(ref, registry=registry)
    blob.unlink()
    with pytest.raises(RegistryError, match=f"the index lists {child}"):
        sbom.generate(ref, registry=registry)


def test_generate_cli_from_a_layout_tag(
    layout: tuple[oci.Registry, str], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    _, image = layout
    pinned = ["--serial-number", SERIAL, "--timestamp", "2026-11-20T12:00:00Z"]
    code, out, err = run(
        capsysbinary, "sbom", "generate", image, "--repository", "quay.io/o/a", *pinned
    )
    assert code == 0, err
    doc = sbom.parse_cyclonedx(out)
    assert [c.name for c in doc.components] == ["a", "a"]
    assert sbom.validate(doc).ok


# -- attach, download -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        (CDX, "application/vnd.cyclonedx+json"),
        (SPDX_JSON, "text/spdx+json"),
        (SPDX_TEXT, "text/spdx"),
    ],
)
def test_attach_then_download_is_byte_identical(
    path: Path,
    media_type: str,
    layout: tuple[oci.Registry, str],
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    registry, image = layout
    code, _, err = run(capsysbinary, "attach", "sbom", "--sbom", str(path), *FAST, image)
    assert code == 0, err
    assert "deprecated" in err
    assert f"Uploaded SBOM ({media_type})" in err
    code, out, err = run(capsysbinary, "download", "sbom", image)
    assert code == 0, err
    assert out == path.read_bytes()
    assert f"Found SBOM of media type: {media_type}" in err
    attached = sbom.read_attached(registry, oci.parse_reference(image))
    assert attached.data == path.read_bytes()
    assert attached.media_type == media_type
    assert attached.layer.digest == oci.Layer(media_type, path.read_bytes()).descriptor().digest
    assert attached.document().media_type == media_type


def test_attach_replaces_and_download_writes_a_file(
    layout: tuple[oci.Registry, str], capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    _, image = layout
    for path in (CDX, SPDX_JSON):
        assert run(capsysbinary, "attach", "sbom", "--sbom", str(path), *FAST, image)[0] == 0
    out_file = tmp_path / "out" / "sbom.json"
    out_file.parent.mkdir()
    code, out, _ = run(capsysbinary, "download", "sbom", "-o", str(out_file), image)
    assert code == 0
    assert out == b""
    assert out_file.read_bytes() == SPDX_JSON.read_bytes()


def test_download_per_platform(
    layout: tuple[oci.Registry, str], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    registry, image = layout
    index = registry.get_manifest("", "v1")
    assert index is not None
    arm = next(
        m for m in index.index.manifests if (m.platform or {}).get("architecture") == "arm64"
    )
    arm_image = image.rsplit(":", 1)[0] + f"@{arm.digest}"
    assert run(capsysbinary, "attach", "sbom", "--sbom", str(SPDX_TEXT), *FAST, arm_image)[0] == 0
    code, out, err = run(capsysbinary, "download", "sbom", "--platform", "linux/arm64", image)
    assert code == 0, err
    assert out == SPDX_TEXT.read_bytes()
    for platform, message in (
        ("linux/s390x", "no manifest for platform linux/s390x"),
        ("linux", "is not os/arch[/variant]"),
    ):
        code, out, err = run(capsysbinary, "download", "sbom", "--platform", platform, image)
        assert (code, out) == (2, b"")
        assert message in err
    code, _, err = run(capsysbinary, "download", "sbom", "--platform", "linux/amd64", arm_image)
    assert code == 2
    assert "not an index" in err


def test_download_failures(
    layout: tuple[oci.Registry, str], capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    registry, image = layout
    code, out, err = run(capsysbinary, "download", "sbom", image)
    assert (code, out) == (1, b"")
    assert "no SBOM attached to" in err
    ref = oci.parse_reference(image)
    pinned = oci.resolve(registry, ref)[0]
    # A .sbom image of two layers is not an attached SBOM.
    layers = [oci.Layer("text/spdx", b"a"), oci.Layer("text/spdx", b"b")]
    manifest, config = build_signature_image([layer.descriptor() for layer in layers])
    for data in (b"a", b"b", config):
        registry.put_blob("", data)
    registry.put_manifest("", oci.triangulate(pinned, oci.Kind.SBOM).tag or "", manifest)
    code, _, err = run(capsysbinary, "download", "sbom", image)
    assert code == 1
    assert "holds 2 layers" in err
    # Bytes that do not match their digest are never printed.
    assert run(capsysbinary, "attach", "sbom", "--sbom", str(CDX), *FAST, image)[0] == 0
    digest = oci.Layer("application/vnd.cyclonedx+json", CDX.read_bytes()).descriptor().digest
    blob = tmp_path / "layout" / "blobs" / "sha256" / digest.split(":")[1]
    blob.write_bytes(blob.read_bytes().replace(b"bash", b"BASH"))
    code, out, err = run(capsysbinary, "download", "sbom", image)
    assert (code, out) == (3, b"")
    assert "corrupt" in err


_HUGE = 128 * 1024 * 1024 + 1


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b'{"bomFormat": "CycloneDX",', [], "invalid JSON"),
        (dumps(bom([component("a"), component("a")])), [], "duplicate bom-ref"),
        (dumps(bom(spec="1.3")), [], "unsupported CycloneDX version"),
        (b"not an sbom", [], "invalid JSON"),
        (None, [], "larger than the cap"),
        (SPDX_JSON.read_bytes(), ["--type", "cyclonedx"], "--type cyclonedx does not match"),
        (CDX.read_bytes(), ["--type", "spdx"], "--type spdx does not match"),
        (SPDX_TEXT.read_bytes(), ["--input-format", "json"], "--input-format json does not match"),
        (CDX.read_bytes(), ["--type", "syft"], "only CycloneDX JSON and SPDX"),
        (CDX.read_bytes(), ["--input-format", "xml"], "only CycloneDX JSON and SPDX"),
    ],
)
def test_bad_sboms_are_never_attached(
    content: bytes | None,
    args: list[str],
    message: str,
    layout: tuple[oci.Registry, str],
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    _, image = layout
    path = tmp_path / "bad.json"
    if content is None:
        with path.open("wb") as handle:
            handle.truncate(_HUGE)  # sparse: costs no disk
    else:
        path.write_bytes(content)
    before = _snapshot(tmp_path / "layout")
    code, out, err = run(capsysbinary, "attach", "sbom", "--sbom", str(path), *args, *FAST, image)
    assert (code, out) == (2, b"")
    assert message in err
    assert str(path) in err
    assert _snapshot(tmp_path / "layout") == before


# -- attest, verify-attestation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [(CDX, "cyclonedx"), (SPDX_JSON, "spdxjson"), (SPDX_TEXT, "spdx")],
)
def test_attest_then_verify_attestation_gives_the_sbom_back(
    path: Path,
    kind: str,
    keys: dict[str, str],
    layout: tuple[oci.Registry, str],
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    _, image = layout
    code, _, err = run(
        capsysbinary,
        "attest",
        "--key",
        keys["key"],
        "--type",
        kind,
        "--predicate",
        str(path),
        *FAST,
        image,
    )
    assert code == 0, err
    code, out, err = run(
        capsysbinary, "verify-attestation", "--key", keys["pub"], "--type", kind, image
    )
    assert code == 0, err
    (line,) = out.splitlines()
    statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    document = sbom.parse(path.read_bytes())
    assert statement["predicateType"] == document.predicate_type
    if kind == "spdx":
        assert statement["predicate"] == path.read_text()
    else:
        assert statement["predicate"] == json.loads(path.read_bytes())
    read_back = sbom.parse_predicate(statement["predicateType"], statement["predicate"])
    assert read_back.purls() == document.purls()
    # The wrong key, or another SBOM type, is a "no".
    other = "cyclonedx" if kind != "cyclonedx" else "spdxjson"
    code, out, err = run(
        capsysbinary, "verify-attestation", "--key", keys["pub"], "--type", other, image
    )
    assert (code, out) == (1, b"")


def test_library_attest_and_attach(
    keys: dict[str, str], layout: tuple[oci.Registry, str], tmp_path: Path
) -> None:
    registry, image = layout
    ref = oci.parse_reference(image)
    signer = signing.load_signer(keys["key"], secrets=lambda _: b"pw")
    document = sbom.parse(CDX.read_bytes(), source=str(CDX))
    options = publish.PublishOptions(policy=oci.AppendPolicy(settle=0))
    attested = publish.attest_sbom(registry, ref, document, signer, options=options)
    assert attested.location.endswith(".att")
    attached = publish.attach_sbom(registry, ref, document, options=options)
    assert attached.location.endswith(".sbom")
    assert sbom.read_attached(registry, ref).data == CDX.read_bytes()


@pytest.mark.parametrize(
    ("content", "kind", "message"),
    [
        (SPDX_JSON.read_bytes(), "cyclonedx", "--type cyclonedx needs cyclonedx"),
        (SPDX_TEXT.read_bytes(), "spdxjson", "--type spdxjson needs spdxjson"),
        (SPDX_JSON.read_bytes(), "spdx", "hint: use --type spdxjson"),
        (CDX.read_bytes(), "https://spdx.dev/Document", "needs spdxjson"),
        (b'{"bomFormat": "CycloneDX"', "cyclonedx", "invalid JSON"),
        (dumps(bom([component("a")], [{"ref": "nope"}])), "cyclonedx", "nope"),
    ],
)
def test_bad_sbom_predicates_are_never_attested(
    content: bytes,
    kind: str,
    message: str,
    keys: dict[str, str],
    layout: tuple[oci.Registry, str],
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    _, image = layout
    path = tmp_path / "predicate"
    path.write_bytes(content)
    before = _snapshot(tmp_path / "layout")
    code, out, err = run(
        capsysbinary,
        "attest",
        "--key",
        keys["key"],
        "--type",
        kind,
        "--predicate",
        str(path),
        *FAST,
        image,
    )
    assert (code, out) == (2, b"")
    assert message in err
    assert str(path) in err
    assert _snapshot(tmp_path / "layout") == before


def test_read_predicate() -> None:
    assert sbom.read_predicate(b"anything", "custom") is None
    assert sbom.read_predicate(b"{}", "slsaprovenance") is None
    doc = sbom.read_predicate(CDX.read_bytes(), "https://cyclonedx.org/bom")
    assert doc is not None
    assert doc.format is sbom.SbomFormat.CYCLONEDX_JSON
    with pytest.raises(InputError, match="needs spdx") as info:
        sbom.read_predicate(CDX.read_bytes(), "spdx", source="x.json")
    assert info.value.field == "type"
    assert sbom.sbom_format_for("cyclonedx") == (sbom.SbomFormat.CYCLONEDX_JSON,)
    assert sbom.sbom_format_for("vuln") == ()


def test_no_sbom_is_a_verification_error(layout: tuple[oci.Registry, str]) -> None:
    registry, image = layout
    with pytest.raises(VerificationError, match="no SBOM attached"):
        sbom.read_attached(registry, oci.parse_reference(image), referrers=True)
