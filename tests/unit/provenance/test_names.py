"""Image references and digests parsed as go-containerregistry / Chains parse them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.provenance._names import BadName, parse_digest, parse_image_digest

HEX = "a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333"
DIGEST = f"sha256:{HEX}"


@pytest.mark.parametrize(
    ("ref", "repository"),
    [
        ("gcr.io/my/image", "gcr.io/my/image"),
        ("busybox", "index.docker.io/library/busybox"),
        ("busybox:1.36", "index.docker.io/library/busybox"),
        ("library/busybox", "index.docker.io/library/busybox"),
        ("docker.io/busybox", "index.docker.io/library/busybox"),
        ("docker.io/team/app", "index.docker.io/team/app"),
        ("index.docker.io/team/app:v1", "index.docker.io/team/app"),
        ("localhost/app", "localhost/app"),
        ("localhost:5000/app:dev", "localhost:5000/app"),
        ("registry:5000/team/app", "registry:5000/team/app"),
        ("10.0.0.1:5000/a/b", "10.0.0.1:5000/a/b"),
        ("[::1]:5000/app", "[::1]:5000/app"),
        ("Registry.Example.com/team/app", "Registry.Example.com/team/app"),
        ("quay.io/org/app:sha256-abc.sbom", "quay.io/org/app"),
        ("quay.io/a/b/c/d", "quay.io/a/b/c/d"),
        ("team/app_1.x-y", "index.docker.io/team/app_1.x-y"),
    ],
)
def test_repository_name(ref: str, repository: str) -> None:
    assert parse_image_digest(f"{ref}@{DIGEST}") == (repository, DIGEST)


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        (f"gcr.io/my/image{DIGEST}", "exactly one '@'"),
        (f"a@b@{DIGEST}", "exactly one '@'"),
        ("gcr.io/my/image@sha512:" + "a" * 128, "unsupported digest algorithm"),
        ("gcr.io/my/image@sha256:" + HEX.upper(), "64 lowercase hex"),
        ("gcr.io/my/image@sha256:" + HEX[:-1], "64 lowercase hex"),
        (f"gcr.io/My/image@{DIGEST}", "can only contain"),
        (f"@{DIGEST}", "must be specified"),
        (f"a@{DIGEST}", "between 2 and 255"),
        (f"gcr.io/{'a' * 256}@{DIGEST}", "between 2 and 255"),
        (f"gcr.io:x/app@{DIGEST}", "RFC 3986"),
        (f"gcr%41.io/app@{DIGEST}", "RFC 3986"),
        (f"gcr.io?/app@{DIGEST}", "RFC 3986"),
        (f"[::1/app@{DIGEST}", "RFC 3986"),
        (f"gcr.io/app:@{DIGEST}", "can only contain"),
        (f"gcr.io/app:bad!tag@{DIGEST}", "can only contain"),
        (f" gcr.io/app@{DIGEST}", "RFC 3986"),
        (f" app/x@{DIGEST}", "can only contain"),
    ],
)
def test_rejected_references(ref: str, reason: str) -> None:
    with pytest.raises(BadName, match=reason.replace("?", r"\?").replace("[", r"\[")):
        parse_image_digest(ref)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (DIGEST, ("sha256", HEX)),
        (f" SHA256 : {HEX} ", ("sha256", HEX)),
        ("sha384:" + "b" * 96, ("sha384", "b" * 96)),
        ("sha512:" + "c" * 128, ("sha512", "c" * 128)),
        (
            "sha1:4015b57a143aec5156fd1444a017a32137a3fd0f",
            ("sha1", "4015b57a143aec5156fd1444a017a32137a3fd0f"),
        ),
    ],
)
def test_parse_digest(value: str, parsed: tuple[str, str]) -> None:
    assert parse_digest(value) == parsed


@pytest.mark.parametrize(
    "value",
    [
        "",
        HEX,
        f"sha256:{HEX}:x",
        "md5:0cc175b9c0f1b6a831c399e269772661",
        "sha256:" + HEX.upper(),
        "sha256:abc",
        "sha1:xyz",
        "sha1:" + "a" * 64,
        "sha256:\x1c" + HEX,  # Python's strip() would remove \x1c, Go's TrimSpace does not
    ],
)
def test_parse_digest_rejects(value: str) -> None:
    with pytest.raises(BadName):
        parse_digest(value)


@given(st.text(max_size=80))
def test_parse_image_digest_is_total(text: str) -> None:
    try:
        repository, digest = parse_image_digest(text)
    except BadName as error:
        reason = str(error)
        repository, digest = "", "sha256:"
    else:
        reason = "parsed"
    assert reason
    assert digest.startswith("sha256:")
    assert "@" not in repository


@given(st.text(alphabet="abc./:-_@0123456789", max_size=40))
def test_parsed_names_are_stable(text: str) -> None:
    """Parsing a normalised name gives it back (Repository.Name() is idempotent)."""
    try:
        repository, digest = parse_image_digest(f"{text}@{DIGEST}")
    except BadName:
        return
    assert parse_image_digest(f"{repository}@{digest}") == (repository, digest)


@given(st.text(max_size=60))
def test_parse_digest_is_total(text: str) -> None:
    try:
        parse_digest(text)
    except BadName as error:
        reason = str(error)
    else:
        reason = "parsed"
    assert reason
