"""OCI policy bundles without a network: written to and read from an OCI layout directory
(``oci::oci:DIR``), through the same code as a registry."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from konflux_supply import oci
from konflux_supply.errors import InputError
from konflux_supply.models.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageIndex,
    ImageManifest,
    RawManifest,
)
from konflux_supply.policy import _bundle
from konflux_supply.policy.sources import SourceCache, load_data, push_bundle, read_source_modules

TITLE = "org.opencontainers.image.title"


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.rego").write_text("package a\n")
    (root / "sub" / "b.rego").write_text("package b\n")
    (root / "sub" / "d.json").write_text('{"rule_data": {"k": [1]}}')
    return root


def _put_layers(layout: Path, layers: list[tuple[str, bytes, dict[str, str]]]) -> None:
    registry, ref = oci.open_registry(f"oci:{layout}:v1")
    descriptors = []
    for media_type, data, notes in layers:
        registry.put_blob(ref.repository, data)
        descriptors.append(Descriptor.for_bytes(data, media_type, annotations=notes))
    registry.put_blob(ref.repository, b"{}")
    manifest = ImageManifest(
        schema_version=2,
        media_type=OCI_MANIFEST,
        config=Descriptor.for_bytes(b"{}", _bundle.POLICY_CONFIG),
        layers=descriptors,
    )
    registry.put_manifest(ref.repository, "v1", RawManifest.of(manifest))


def test_push_and_read_back_from_a_layout(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "policy")
    pinned = push_bundle([tree], f"oci:{tmp_path}/layout:v1")
    assert pinned.startswith(f"oci::oci:{tmp_path}/layout@sha256:")
    with SourceCache(tmp_path / "cache") as cache:
        fetched = cache.fetch(f"oci::oci:{tmp_path}/layout:v1")
        assert fetched.pinned_url == pinned
        assert [text for _, text in read_source_modules([fetched])] == [
            text for _, text in read_source_modules([tree])
        ]
        assert load_data([fetched]) == load_data([tree]) == {"rule_data": {"k": [1]}}
        assert cache.fetch(pinned).path == fetched.path


def test_layer_titles_and_media_types_as_conftest(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "policy")
    extra = tmp_path / "single.rego"
    extra.write_text("package single\n")
    files = _bundle.collect_files([tree, extra])
    assert [(title, is_rego) for title, _, is_rego in files] == [
        ("policy/a.rego", True),
        ("policy/sub/b.rego", True),
        ("single.rego", True),
        ("policy/sub/d.json", False),
    ]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["same"], "same title"),
        (["nothing"], "no Rego files to push"),
        (["missing"], "no such file"),
    ],
)
def test_push_refuses(tmp_path: Path, given: list[str], message: str) -> None:
    (tmp_path / "one" / "same").mkdir(parents=True)
    (tmp_path / "two" / "same").mkdir(parents=True)
    (tmp_path / "one" / "same" / "x.rego").write_text("package x\n")
    (tmp_path / "two" / "same" / "x.rego").write_text("package y\n")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "d.json").write_text("{}")
    paths = {
        "same": [tmp_path / "one" / "same", tmp_path / "two" / "same"],
        "nothing": [tmp_path / "nothing"],
        "missing": [tmp_path / "missing"],
    }[given[0]]
    with pytest.raises(InputError, match=message):
        push_bundle(paths, f"oci:{tmp_path}/layout:v1")
    assert not (tmp_path / "layout").exists()  # nothing written


def test_push_to_a_digest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="push to a tag"):
        push_bundle([_tree(tmp_path / "p")], "registry.example/b@sha256:" + "0" * 64)


def test_an_image_index_is_not_a_bundle(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    registry, ref = oci.open_registry(f"oci:{layout}:v1")
    index = RawManifest.of(ImageIndex(schema_version=2, media_type=OCI_INDEX, manifests=[]))
    registry.put_manifest(ref.repository, "v1", index)
    with SourceCache(tmp_path / "c") as cache, pytest.raises(InputError, match="image index"):
        cache.fetch(f"oci::oci:{layout}:v1")


def _tgz(count: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for index in range(count):
            info = tarfile.TarInfo(f"p/{index}.rego")
            data = f"package p{index}\n".encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue())


def test_unpacked_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _put_layers(tmp_path / "layout", [(_bundle.TAR_GZIP_LAYER, _tgz(5), {TITLE: "p"})])
    monkeypatch.setattr(_bundle, "MAX_MEMBERS", 4)
    with SourceCache(tmp_path / "c") as cache, pytest.raises(InputError, match="unpacks to more"):
        cache.fetch(f"oci::oci:{tmp_path}/layout:v1")
    assert [p.name for p in (tmp_path / "c").iterdir()] == []  # nothing half-written kept


def test_two_layers_with_one_title(tmp_path: Path) -> None:
    _put_layers(
        tmp_path / "layout",
        [
            (_bundle.POLICY_LAYER, b"package a\n", {TITLE: "a.rego"}),
            (_bundle.POLICY_LAYER, b"package b\n", {TITLE: "./a.rego"}),
        ],
    )
    with SourceCache(tmp_path / "c") as cache, pytest.raises(InputError, match="two layers"):
        cache.fetch(f"oci::oci:{tmp_path}/layout:v1")
