"""References parse and normalise as go-containerregistry's ``name`` package does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.oci.reference import Reference, is_loopback, parse_reference

D = "sha256:" + "a" * 64

VALID = [
    ("busybox", "index.docker.io", "library/busybox", "latest", None),
    ("docker.io/busybox", "index.docker.io", "library/busybox", "latest", None),
    ("docker.io/library/busybox:1.36", "index.docker.io", "library/busybox", "1.36", None),
    ("index.docker.io/foo/bar", "index.docker.io", "foo/bar", "latest", None),
    ("foo/bar", "index.docker.io", "foo/bar", "latest", None),
    (f"gcr.io/proj/img@{D}", "gcr.io", "proj/img", None, D),
    ("localhost/foo", "localhost", "foo", "latest", None),
    ("localhost:5000/foo:bar", "localhost:5000", "foo", "bar", None),
    ("127.0.0.1:5000/a/b/c:v_1.0-x", "127.0.0.1:5000", "a/b/c", "v_1.0-x", None),
    (f"foo/bar:tag@{D}", "index.docker.io", "foo/bar", None, D),
    (f"quay.io/ns/app:v1@{D}", "quay.io", "ns/app", None, D),
    (
        "registry.example/ns/app:sha256-" + "b" * 64 + ".sig",
        "registry.example",
        "ns/app",
        "sha256-" + "b" * 64 + ".sig",
        None,
    ),
    ("[::1]:5000/foo", "[::1]:5000", "foo", "latest", None),
    ("Example.COM/foo", "Example.COM", "foo", "latest", None),
    ("foo" + "/x" * 100, "index.docker.io", "foo" + "/x" * 100, "latest", None),
]

INVALID = [
    ("", "empty"),
    ("Foo/bar", "repository can only contain"),
    ("foo:", "must specify a tag"),
    ("foo@sha256:abc", "malformed sha256"),
    ("foo@sha512:" + "a" * 128, "unsupported digest algorithm"),
    (f"foo@{D}@{D}", "exactly one '@'"),
    ("foo:tag:tag2", "repository can only contain"),
    ("example.com:abc/foo", "invalid port"),
    ("foo:" + "t" * 129, "tag must be between"),
    ("example.com/" + "a" * 256, "repository must be between"),
    ("foo:bad!tag", "tag can only contain"),
    ("user@host.com/foo", "unsupported digest algorithm"),
    ("oci:", "needs a directory"),
    ("oci:dir@sha256:xyz", "malformed digest"),
    ("oci::tag", "needs a directory"),
    ("oci:dir:bad tag", "malformed OCI layout reference name"),
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), VALID)
def test_valid_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_references(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse_reference(text)
    assert caught.value.field == "image"


def test_names_and_identifiers() -> None:
    ref = parse_reference("busybox")
    assert ref.name == "index.docker.io/library/busybox"
    assert str(ref) == "index.docker.io/library/busybox:latest"
    pinned = ref.with_digest(D)
    assert str(pinned) == f"index.docker.io/library/busybox@{D}"
    assert pinned.identifier == D
    assert pinned.tag == "latest"
    assert str(pinned.with_tag("x")) == "index.docker.io/library/busybox:x"
    with pytest.raises(InputError):
        ref.with_digest("sha256:nothex")
    assert parse_reference("foo", default_tag=None).tag is None
    with pytest.raises(InputError, match="no tag or digest"):
        _ = parse_reference("foo", default_tag=None).identifier


@pytest.mark.parametrize(
    ("text", "directory", "tag", "digest"),
    [
        (f"oci:/tmp/layout@{D}", "/tmp/layout", None, D),
        ("oci:/tmp/layout:latest", "/tmp/layout", "latest", None),
        ("oci:rel/dir:sha256-" + "c" * 64 + ".att", "rel/dir", "sha256-" + "c" * 64 + ".att", None),
        ("oci:layout", "layout", None, None),
        ("oci:layout:example.com/foo:bar", "layout", "example.com/foo:bar", None),
    ],
)
def test_layout_references(text: str, directory: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert ref.layout
    assert (ref.repository, ref.tag, ref.digest) == (directory, tag, digest)
    assert ref.name == f"oci:{directory}"
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("registry.localhost:80", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("10.0.0.1:5000", False),
        ("quay.io", False),
        ("localhost.evil.com", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


_component = st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)*", fullmatch=True).filter(
    lambda s: len(s) <= 30
)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}", fullmatch=True)
_host = st.sampled_from(["quay.io", "localhost:5000", "127.0.0.1:8080", "r.example.com"])


@given(_host, st.lists(_component, min_size=1, max_size=4), _tag)
def test_round_trip_of_generated_references(host: str, parts: list[str], tag: str) -> None:
    text = f"{host}/{'/'.join(parts)}:{tag}"
    ref = parse_reference(text)
    assert ref == Reference(host, "/".join(parts), tag=tag)
    assert str(ref) == text


@given(st.text(max_size=80))
def test_parser_raises_only_input_errors(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InputError:
        return
    assert parse_reference(str(ref)) == ref
