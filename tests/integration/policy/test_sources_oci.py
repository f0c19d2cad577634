"""OCI policy bundles against the local docker-registry: push → read back, pinning, caching,
conftest/oras layouts, and bundles that are not policy bundles."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from konflux_supply import oci
from konflux_supply.cli import main
from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import OCI_MANIFEST, Descriptor, ImageManifest, RawManifest
from konflux_supply.policy.sources import SourceCache, load_data, push_bundle, read_source_modules
from tests.integration.conftest import RegistryService

REGO = 'package release.sample\n\nimport rego.v1\n\ndeny contains "no" if input.bad\n'
LIB = "package lib\n\nimport rego.v1\n\nanswer := 42\n"
TITLE = "org.opencontainers.image.title"


def _tree(root: Path) -> Path:
    (root / "release").mkdir(parents=True)
    (root / "release" / "sample.rego").write_text(REGO)
    (root / "lib.rego").write_text(LIB)
    (root / "data.yaml").write_text("rule_data:\n  allowed_registry_prefixes: [quay.io/]\n")
    (root / "notes.txt").write_text("ignored")
    return root


def _put(
    service: RegistryService,
    repository: str,
    layers: list[tuple[str, bytes, dict[str, str]]],
    *,
    config_type: str = "application/vnd.cncf.openpolicyagent.config.v1+json",
    tag: str = "v1",
) -> str:
    registry, ref = oci.open_registry(service.ref(f"{repository}:{tag}"), options=service.options)
    try:
        descriptors = []
        for media_type, data, notes in layers:
            registry.put_blob(ref.repository, data)
            descriptors.append(Descriptor.for_bytes(data, media_type, annotations=notes))
        registry.put_blob(ref.repository, b"{}")
        manifest = RawManifest.of(
            ImageManifest(
                schema_version=2,
                media_type=OCI_MANIFEST,
                config=Descriptor.for_bytes(b"{}", config_type),
                layers=descriptors,
            )
        )
        registry.put_manifest(ref.repository, tag, manifest)
        return manifest.digest
    finally:
        registry.close()


def _tgz(files: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("policy/evil.rego")
            info.type = tarfile.SYMTYPE
            info.linkname = link
            tar.addfile(info)
    return gzip.compress(buffer.getvalue())


@pytest.fixture
def cache(registry: RegistryService, tmp_path: Path) -> Iterator[SourceCache]:
    with SourceCache(tmp_path / "cache", registry_options=registry.options) as made:
        yield made


def test_push_then_read_gives_the_same_modules_and_data(
    registry: RegistryService, cache: SourceCache, tmp_path: Path
) -> None:
    tree = _tree(tmp_path / "policy")
    pinned = push_bundle(
        [tree], registry.ref("bundles/roundtrip:v1"), registry_options=registry.options
    )
    assert pinned.startswith(f"oci::{registry.ref('bundles/roundtrip:v1')}@sha256:")
    # Same files, same digest: the bundle is deterministic.
    again = push_bundle(
        [tree], registry.ref("bundles/roundtrip:v1"), registry_options=registry.options
    )
    assert again == pinned

    url = f"oci::{registry.ref('bundles/roundtrip:v1')}"
    fetched = cache.fetch(url)
    assert fetched.pinned_url == pinned
    local = sorted((Path(path).name, text) for path, text in read_source_modules([tree]))
    remote = sorted(
        (path.rsplit("/", 1)[-1], text) for path, text in read_source_modules([fetched])
    )
    assert remote == local
    assert [path for path, _ in read_source_modules([fetched])] == [
        f"{url}#policy/lib.rego",
        f"{url}#policy/release/sample.rego",
    ]
    assert load_data([fetched]) == load_data([tree])
    assert not (fetched.path / "policy" / "notes.txt").exists()


def test_pinned_digest_is_a_cache_key(
    registry: RegistryService, cache: SourceCache, tmp_path: Path
) -> None:
    pinned = push_bundle(
        [_tree(tmp_path / "p")], registry.ref("bundles/pin:v2"), registry_options=registry.options
    )
    by_digest = cache.fetch(pinned)
    assert by_digest.pinned_url == pinned
    by_tag = cache.fetch(f"oci::{registry.ref('bundles/pin:v2')}")
    assert by_tag.path == by_digest.path
    # tag@digest form (Conforma's): the digest decides.
    digest = pinned.rsplit("@", 1)[1]
    both = cache.fetch(f"oci::{registry.ref('bundles/pin:whatever')}@{digest}")
    assert both.pinned_url.endswith(f":whatever@{digest}")


def test_cli_push_prints_the_pinned_reference(
    registry: RegistryService,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cli_environment: None,
) -> None:
    tree = _tree(tmp_path / "policy")
    ref = registry.ref("bundles/cli:v1")
    code = main(["policy", "push", "--allow-http-registry", str(tree), ref])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.startswith(f"oci::{ref}@sha256:")
    assert out.out.count("\n") == 1
    assert out.out.strip() == push_bundle([tree], ref, registry_options=registry.options)


def test_cli_push_bad_input_exits_2(
    registry: RegistryService,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cli_environment: None,
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "data.json").write_text("{}")
    assert main(["policy", "push", "--allow-http-registry", str(empty), registry.ref("b/x:1")]) == 2
    assert "no Rego files to push" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.rego").write_text("package a\n")
    (broken / "bad.yaml").write_text("a: [1\n")
    assert (
        main(["policy", "push", "--allow-http-registry", str(broken), registry.ref("b/x:1")]) == 2
    )
    err = capsys.readouterr().err
    assert "bad.yaml" in err
    assert err.count("\n") == 1


def test_conftest_and_oras_layouts_are_read(registry: RegistryService, cache: SourceCache) -> None:
    # conftest push: one layer per file; config "application/vnd.unknown.config.v1+json".
    _put(
        registry,
        "bundles/conftest",
        [
            (
                "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
                REGO.encode(),
                {TITLE: "policy/a.rego"},
            ),
            (
                "application/vnd.cncf.openpolicyagent.data.layer.v1+json",
                b"x: 1\n",
                {TITLE: "policy/d.yaml"},
            ),
        ],
        config_type="application/vnd.unknown.config.v1+json",
    )
    fetched = cache.fetch(f"oci::{registry.ref('bundles/conftest:v1')}")
    assert [text for _, text in read_source_modules([fetched])] == [REGO]
    assert load_data([fetched]) == {"x": 1}
    # oras push DIR (Conforma's release bundles): a tar+gzip layer unpacked.
    _put(
        registry,
        "bundles/oras",
        [
            (
                "application/vnd.oci.image.layer.v1.tar+gzip",
                _tgz({"policy/lib/lib.rego": LIB.encode(), "policy/release/r.rego": REGO.encode()}),
                {TITLE: "policy", "io.deis.oras.content.unpack": "true"},
            )
        ],
        config_type="application/vnd.oci.empty.v1+json",
    )
    fetched = cache.fetch(f"oci::{registry.ref('bundles/oras:v1')}")
    assert [path.split("#", 1)[1] for path, _ in read_source_modules([fetched])] == [
        "policy/lib/lib.rego",
        "policy/release/r.rego",
    ]


@pytest.mark.parametrize(
    ("layers", "config_type", "message"),
    [
        (
            [("application/vnd.oci.image.layer.v1.tar+zstd", b"x", {TITLE: "a.rego"})],
            None,
            "media type",
        ),
        (
            [("application/vnd.cncf.openpolicyagent.policy.layer.v1+rego", b"package a\n", {})],
            None,
            "no title",
        ),
        (
            [
                (
                    "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
                    b"package a\n",
                    {TITLE: "../a.rego"},
                )
            ],
            None,
            "leaves the bundle",
        ),
        (
            [
                (
                    "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
                    b"package a\n",
                    {TITLE: "/etc/a.rego"},
                )
            ],
            None,
            "leaves the bundle",
        ),
        (
            [
                (
                    "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
                    b"p",
                    {TITLE: "a.rego"},
                )
            ],
            "application/vnd.docker.container.image.v1+json",
            "config media type",
        ),
        (
            [
                (
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                    _tgz({}, link="/etc/passwd"),
                    {TITLE: "p"},
                )
            ],
            None,
            "cannot unpack",
        ),
        (
            [("application/vnd.oci.image.layer.v1.tar+gzip", b"not gzip", {TITLE: "p"})],
            None,
            "cannot unpack",
        ),
    ],
)
def test_not_a_policy_bundle_is_an_input_error(
    registry: RegistryService,
    cache: SourceCache,
    layers: list[tuple[str, bytes, dict[str, str]]],
    config_type: str | None,
    message: str,
    request: pytest.FixtureRequest,
) -> None:
    repository = f"bundles/bad{request.node.callspec.indices['layers']}"
    kwargs = {"config_type": config_type} if config_type else {}
    _put(registry, repository, layers, **kwargs)
    with pytest.raises(InputError, match=message):
        cache.fetch(f"oci::{registry.ref(repository + ':v1')}")


def test_bundle_without_rego_and_missing_bundles(
    registry: RegistryService, cache: SourceCache
) -> None:
    _put(
        registry,
        "bundles/dataonly",
        [("application/vnd.cncf.openpolicyagent.data.layer.v1+json", b"{}", {TITLE: "d.json"})],
    )
    fetched = cache.fetch(f"oci::{registry.ref('bundles/dataonly:v1')}")
    assert load_data([fetched]) == {}
    with pytest.raises(InputError, match="no Rego files found"):
        read_source_modules([fetched])
    with pytest.raises(InputError, match="not found"):
        cache.fetch(f"oci::{registry.ref('bundles/dataonly:nope')}")
    with pytest.raises(InputError, match="not found"):
        cache.fetch(f"oci::{registry.ref('bundles/dataonly')}@sha256:{'0' * 64}")


def test_registry_down_is_a_registry_error(tmp_path: Path) -> None:
    from tests.integration.conftest import FAST_RETRY, free_port

    options = oci.RegistryOptions(allow_http=True, retry=FAST_RETRY)
    with (
        SourceCache(tmp_path / "c", registry_options=options) as cache,
        pytest.raises(RegistryError),
    ):
        cache.fetch(f"oci::127.0.0.1:{free_port()}/bundles/x:v1")
