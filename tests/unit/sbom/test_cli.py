"""``konflux-supply sbom …`` in-process: output, exit codes, no partial writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from konflux_supply import sbom
from konflux_supply.cli import main

from .helpers import FIXTURES, IMAGE, SERIAL, bom, component, dumps
from .layout import OCI_INDEX, Layout, digest_of

SCAN = str(FIXTURES / "image-scan.cdx.json")
PREFETCH = str(FIXTURES / "prefetch.cdx.json")
PINNED = ["--serial-number", SERIAL, "--timestamp", "2026-11-20T12:00:00Z"]


def test_merge_to_a_file_is_valid_and_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        assert (
            main(["sbom", "merge", "-o", str(out), "--subject", IMAGE, *PINNED, SCAN, PREFETCH])
            == 0
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert capsys.readouterr().out == ""
    assert main(["sbom", "validate", str(tmp_path / "a.json")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "valid": True,
        "format": "cyclonedx",
        "specVersion": "1.5",
        "schema": True,
        "issues": [],
    }
    merged = sbom.parse_cyclonedx(outputs[0])
    assert merged.metadata_component is not None
    assert merged.metadata_component.purl == sbom.oci_purl(IMAGE)
    assert merged.timestamp == "2026-11-20T12:00:00Z"


def test_merge_to_stdout_honours_source_date_epoch(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert main(["sbom", "merge", "--spec-version", "1.6", SCAN, PREFETCH]) == 0
    merged = sbom.parse_cyclonedx(capsys.readouterr().out.encode())
    assert merged.timestamp == "2023-11-14T22:13:20Z"
    assert merged.spec_version == "1.6"


def test_merge_conflicts_are_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(dumps(bom([component("x", description="one")])))
    b.write_bytes(dumps(bom([component("x", description="two")])))
    assert main(["sbom", "merge", str(a), str(b)]) == 0
    assert "warning: pkg:pypi/x@1.0: 'description' differs" in capsys.readouterr().err


def test_failed_merge_leaves_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(dumps(bom([component("a")], [{"ref": "gone"}])))
    out = tmp_path / "out.json"
    assert main(["sbom", "merge", "-o", str(out), SCAN, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"konflux-supply: invalid input: {bad}: dependencies[0].ref: "
        "dangling reference 'gone': no such bom-ref"
    )
    assert list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subject", "oci:/nonexistent/layout:v1"], "image not found"),
        (["--subject", "quay.io/org/app@sha256:abc"], "not a sha256/sha512 digest"),
        (["--timestamp", "yesterday"], "not an RFC 3339 time"),
        (["--timestamp", "2026-01-01T00:00:00"], "needs a time zone"),
        (["--serial-number", "x"], "serial number"),
        (["--max-bytes", "10"], "larger than the cap of 10 bytes"),
    ],
)
def test_merge_bad_options(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sbom", "merge", *args, SCAN]) == 2
    assert message in capsys.readouterr().err


def test_merge_rejects_spdx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spdx = tmp_path / "doc.spdx"
    spdx.write_text("SPDXVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\n")
    assert main(["sbom", "merge", str(spdx)]) == 2
    assert "expected a CycloneDX document" in capsys.readouterr().err


def test_validate_invalid_lists_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = bom([component("a", type="gadget")], [{"ref": "gone"}])
    path = tmp_path / "bad.json"
    path.write_bytes(dumps(doc))
    assert main(["sbom", "validate", str(path)]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["valid"] is False
    assert [i["path"] for i in report["issues"]] == ["dependencies[0].ref", "components[0].type"]
    assert f"{path}: dependencies[0].ref: dangling reference" in captured.err
    assert captured.err.strip().endswith("invalid SBOM: 2 problem(s)")
    # Without the schema only integrity is checked.
    assert main(["sbom", "validate", "--no-schema", str(path)]) == 1
    assert len(json.loads(capsys.readouterr().out)["issues"]) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read file"),
        (b"{", "invalid JSON"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "2.0"}', "unsupported CycloneDX version"),
    ],
)
def test_validate_unreadable_is_exit_2(
    tmp_path: Path, content: bytes | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "doc.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["sbom", "validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_validate_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(dumps(bom()))))
    assert main(["sbom", "validate", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


def test_generate_from_a_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = Layout(tmp_path / "layout")
    index = layout.index(("linux", "amd64", None), ("linux", "ppc64le", None))
    layout.tag(index, "v1", OCI_INDEX)
    components = tmp_path / "components.json"
    components.write_text(json.dumps([component("requests", "2.32.3")]))
    args = ["sbom", "generate", f"oci:{layout.root}:v1", "--repository", "quay.io/org/app"]
    assert main([*args, "--components", str(components), *PINNED]) == 0
    doc = sbom.parse_cyclonedx(capsys.readouterr().out.encode())
    assert doc.metadata_component is not None
    assert doc.metadata_component.purl == sbom.oci_purl("quay.io/org/app", digest=digest_of(index))
    assert [c.name for c in doc.components] == ["app", "app", "requests"]
    assert sbom.validate(doc).ok
    # Components can also come from a CycloneDX SBOM.
    assert main([*args, "--components", PREFETCH, *PINNED]) == 0
    assert len(sbom.parse_cyclonedx(capsys.readouterr().out.encode()).components) == 11


def test_generate_from_a_manifest_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = Layout(tmp_path / "layout")
    manifest = layout.image()
    path = tmp_path / "manifest.json"
    path.write_bytes(manifest)
    out = tmp_path / "sbom.json"
    image = f"quay.io/org/app@{digest_of(manifest)}"
    assert main(["sbom", "generate", image, "--manifest", str(path), "-o", str(out)]) == 0
    assert sbom.parse(out.read_bytes()).spec_version == "1.6"
    wrong = f"quay.io/org/app@sha256:{'0' * 64}"
    assert main(["sbom", "generate", wrong, "--manifest", str(path)]) == 2
    assert "manifest: the manifest does not match its digest" in capsys.readouterr().err


def test_merge_subject_in_a_layout_is_resolved_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = Layout(tmp_path / "build")
    index = layout.index(("linux", "amd64", None))
    layout.tag(index, "v1", OCI_INDEX)
    digest = digest_of(index)
    expected = {
        f"oci:{layout.root}:v1": f"pkg:oci/build@{digest}",
        f"oci:{layout.root}@{digest}": f"pkg:oci/build@{digest}",
    }
    for subject, purl in expected.items():
        assert main(["sbom", "merge", "--subject", subject, *PINNED, SCAN]) == 0
        merged = sbom.parse_cyclonedx(capsys.readouterr().out.encode())
        assert merged.metadata_component is not None
        assert merged.metadata_component.purl == purl
    args = ["--subject", f"oci:{layout.root}:v1", "--repository", "quay.io/org/app"]
    assert main(["sbom", "merge", *args, *PINNED, SCAN]) == 0
    merged = sbom.parse_cyclonedx(capsys.readouterr().out.encode())
    assert merged.metadata_component is not None
    assert merged.metadata_component.purl == sbom.oci_purl(f"quay.io/org/app@{digest}")


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("oci:{root}:missing", "image not found"),
        ("oci:{root}@sha1:abc", "unsupported or malformed digest"),
        ("quay.io/Org/App:v1", "repository can only contain"),
    ],
)
def test_generate_bad_images_exit_2(
    image: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = Layout(tmp_path / "layout")
    layout.tag(layout.image(), "v1")
    assert main(["sbom", "generate", image.format(root=layout.root)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_output_files_get_the_umask_mode_not_a_private_one(tmp_path: Path) -> None:
    # An SBOM is not a secret: -o gives what `> file` would (0o666 less the umask).
    old = os.umask(0o022)
    try:
        out = tmp_path / "merged.json"
        assert main(["sbom", "merge", "-o", str(out), *PINNED, SCAN, PREFETCH]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["merged.json"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("[" * 100_000 + "]" * 100_000, "nested too deeply"), ("[1]", "not a JSON object")],
)
def test_generate_manifest_errors_name_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(text)
    assert main(["sbom", "generate", "quay.io/team/app", "--manifest", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: manifest: " in err
    assert reason in err


@pytest.mark.parametrize("command", ["validate", "merge"])
def test_long_sbom_work_reports_progress_on_stderr(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 10, item 11: a large input is announced, and a long step says it is still going."""
    import time

    from konflux_supply import sbom
    from konflux_supply.cli import _common

    monkeypatch.setattr(_common, "PROGRESS_SIZE", 10)  # every input counts as large here
    monkeypatch.setattr(_common, "PROGRESS_EVERY", 0.01)
    slow = sbom.validate if command == "validate" else sbom.merge

    def slowly(*args: object, **kwargs: object) -> object:
        time.sleep(0.2)
        return slow(*args, **kwargs)  # type: ignore[operator]

    monkeypatch.setattr(sbom, command, slowly)
    path = tmp_path / "bom.cdx.json"
    path.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}')
    argv = ["sbom", command, str(path)] + ([str(path)] if command == "merge" else [])
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    doing = "validating" if command == "validate" else "merging 2 SBOMs"
    assert any(line.startswith(f"konflux-supply: {doing}") for line in err), err
    assert any(line.startswith(f"konflux-supply: still {doing}") for line in err), err
