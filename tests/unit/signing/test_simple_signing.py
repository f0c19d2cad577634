"""Simple-signing payload bytes and docker-reference normalisation."""

from __future__ import annotations

import pytest

from konflux_supply.errors import InputError
from konflux_supply.signing import simple_signing

DIGEST = "sha256:" + "ab" * 32


def test_exact_bytes() -> None:
    assert simple_signing.payload("quay.io/org/app:v1", DIGEST) == (
        b'{"critical":{"identity":{"docker-reference":"quay.io/org/app"},"image":'
        b'{"docker-manifest-digest":"' + DIGEST.encode() + b'"},"type":'
        b'"cosign container image signature"},"optional":null}'
    )


def test_optional_sorted_and_go_escaped() -> None:
    data = simple_signing.payload(
        "r.io/a", DIGEST, {"z": "1", "a": "<&>", "m": {"y": 1, "b": True}}
    )
    assert data.endswith(b'"optional":{"a":"\\u003c\\u0026\\u003e","m":{"b":true,"y":1},"z":"1"}}')
    assert simple_signing.payload("r.io/a", DIGEST, {}).endswith(b'"optional":{}}')


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("ubuntu", "index.docker.io/library/ubuntu"),
        ("ubuntu:22.04", "index.docker.io/library/ubuntu"),
        ("docker.io/ubuntu", "index.docker.io/library/ubuntu"),
        ("index.docker.io/ubuntu", "index.docker.io/library/ubuntu"),
        ("docker.io/org/app", "index.docker.io/org/app"),
        ("org/app", "index.docker.io/org/app"),
        ("localhost/app", "localhost/app"),
        ("localhost:5000/app:tag", "localhost:5000/app"),
        ("127.0.0.1:5000/a/b/c@" + DIGEST, "127.0.0.1:5000/a/b/c"),
        ("[::1]:5000/app", "[::1]:5000/app"),
        ("gcr.io/foo/bar", "gcr.io/foo/bar"),
        ("Registry.Example.COM/app", "Registry.Example.COM/app"),
    ],
)
def test_docker_reference(reference: str, expected: str) -> None:
    assert simple_signing.docker_reference(reference) == expected


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "UPPER/app",
        "app:",
        "app:bad tag",
        "r.io/a b",
        "a@sha256:short",
        "r.io/" + "a" * 256,
        "u@h.io/a",
    ],
)
def test_bad_references(reference: str) -> None:
    with pytest.raises(InputError) as info:
        simple_signing.payload(reference, DIGEST)
    assert info.value.field == "repository"


@pytest.mark.parametrize(
    "digest", ["", "sha256:" + "AB" * 32, "sha256:abc", "md5:" + "a" * 32, "sha256-" + "a" * 64]
)
def test_bad_digests(digest: str) -> None:
    with pytest.raises(InputError) as info:
        simple_signing.payload("r.io/a", digest)
    assert info.value.field == "digest"


def test_reference_digest_must_match() -> None:
    with pytest.raises(InputError, match="differs"):
        simple_signing.payload("r.io/a@sha256:" + "cd" * 32, DIGEST)


def test_float_annotations_are_refused() -> None:
    with pytest.raises(InputError, match="float") as info:
        simple_signing.payload("r.io/a", DIGEST, {"n": {"x": [1.5]}})
    assert info.value.field == "optional.n.x[0]"


def test_parse_round_trip_and_errors() -> None:
    data = simple_signing.payload("r.io/a:1", DIGEST, {"k": "v"})
    parsed = simple_signing.parse(data)
    assert parsed.docker_reference == "r.io/a"
    assert parsed.docker_manifest_digest == DIGEST
    assert parsed.type == simple_signing.SIGNATURE_TYPE
    assert parsed.optional == {"k": "v"}
    assert parsed.raw == data
    for bad, field in [
        (b"[]", "(payload)"),
        (b'{"critical":{}}', "critical.identity"),
        (b'{"critical":{"identity":{},"image":{}}}', "critical.identity.docker-reference"),
        (
            b'{"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":1}}}',
            "critical.image.docker-manifest-digest",
        ),
        (
            b'{"critical":{"identity":{"docker-reference":"a"},"image":'
            b'{"docker-manifest-digest":"d"},"type":"t"},"optional":[]}',
            "optional",
        ),
    ]:
        with pytest.raises(InputError) as info:
            simple_signing.parse(bad)
        assert info.value.field == field
    with pytest.raises(InputError, match="not JSON"):
        simple_signing.parse(b"{")
