"""Source URL parsing: the go-getter forms we accept, the ones we refuse, and Hypothesis
showing only InputError escapes and that a pinned URL parses back to the same source."""

from __future__ import annotations

import string
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.oci import is_loopback
from konflux_supply.policy import _git
from konflux_supply.policy.sources import SourceUrl, is_git_policy, parse_source_url

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("url", "kind", "location", "subdir", "ref"),
    [
        ("policy", "path", "policy", None, None),
        ("./policy/release", "path", "./policy/release", None, None),
        ("/abs/dir", "path", "/abs/dir", None, None),
        ("file::acceptance/examples/data", "path", "acceptance/examples/data", None, None),
        ("file:///abs/dir", "path", "/abs/dir", None, None),
        (
            "git::https://github.com/org/repo.git//policy/lib?ref=main",
            "git",
            "https://github.com/org/repo.git",
            "policy/lib",
            "main",
        ),
        (
            "git::https://host.example/org/repo",
            "git",
            "https://host.example/org/repo.git",
            None,
            None,
        ),
        (
            "git::host.example/org/repo.git?ref=" + SHA,
            "git",
            "https://host.example/org/repo.git",
            None,
            SHA,
        ),
        (
            "github.com/org/repo//dir?ref=v1.2",
            "git",
            "https://github.com/org/repo.git",
            "dir",
            "v1.2",
        ),
        ("github.com/org/repo/sub/dir", "git", "https://github.com/org/repo.git", "sub/dir", None),
        ("gitlab.com/group/project", "git", "https://gitlab.com/group/project.git", None, None),
        (
            "https://host.example/org/repo.git//p?ref=refs/heads/x",
            "git",
            "https://host.example/org/repo.git",
            "p",
            "refs/heads/x",
        ),
        (
            "git::http://127.0.0.1:8080/r.git?depth=1",
            "git",
            "http://127.0.0.1:8080/r.git",
            None,
            None,
        ),
        ("git::file:///srv/repo.git//policy", "git", "file:///srv/repo.git", "policy", None),
        ("oci::quay.io/org/bundle:tag", "oci", "quay.io/org/bundle:tag", None, None),
        (
            f"oci::quay.io/org/bundle:tag@{DIGEST}",
            "oci",
            f"quay.io/org/bundle:tag@{DIGEST}",
            None,
            None,
        ),
        ("oci://registry.example/b@" + DIGEST, "oci", "registry.example/b@" + DIGEST, None, None),
        ("quay.io/org/bundle:latest", "oci", "quay.io/org/bundle:latest", None, None),
        ("localhost:5000/b:1", "oci", "localhost:5000/b:1", None, None),
    ],
)
def test_accepted_forms(
    url: str, kind: str, location: str, subdir: str | None, ref: str | None
) -> None:
    assert parse_source_url(url) == SourceUrl(url, kind, location, subdir, ref)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "non-empty"),
        ("policy dir", "spaces"),
        ("git::ssh://git@github.com/org/repo.git", "ssh is not supported"),
        ("git@github.com:org/repo.git", "ssh is not supported"),
        ("git://github.com/org/repo.git", "git:// protocol"),
        ("git::http://example.com/repo.git", "loopback"),
        ("git::https://user:token@host.example/r.git", "credentials"),
        ("git::https://host.example/r.git?ref=-upload-pack=x", "malformed git ref"),
        ("git::https://host.example/r.git?ref=a..b", "malformed git ref"),
        ("git::https://host.example/r.git?sshkey=abc", "unsupported parameter"),
        ("git::https://host.example/r.git?ref=a&ref=b", "given twice"),
        ("git::https://host.example/r.git//../../etc", "inside the repository"),
        ("git::file://relative/repo", "absolute path"),
        ("https://host.example/policy.tar.gz", "archive sources are not supported"),
        ("http::host.example/x", "unsupported source type"),
        ("s3::bucket/x", "unsupported source type"),
        ("ftp://host/x", "unsupported source URL scheme"),
        ("bitbucket.org/org/repo", "bitbucket"),
        ("oci::Not/Valid", "repository can only contain"),
        ("oci::quay.io/org/b@sha256:abc", "digest"),
    ],
)
def test_refused_forms(url: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as raised:
        parse_source_url(url)
    assert raised.value.field == "url"


@settings(max_examples=500)
@given(st.text(max_size=120))
def test_only_input_errors_escape(text: str) -> None:
    try:
        parsed = parse_source_url(text)
    except InputError:
        return
    assert parsed.url == text
    assert parsed.kind in ("path", "git", "oci")


_PREFIXES = st.sampled_from(
    [
        "",
        "git::",
        "oci::",
        "file::",
        "git::https://",
        "git::http://",
        "git::file://",
        "https://",
        "oci://",
        "github.com/",
        "gitlab.com/",
        "quay.io/",
        "localhost:5000/",
        "git@",
        "s3::",
    ]
)
_URLISH = st.text(string.ascii_letters + string.digits + "/:@?&=.%-_~#[]+ \\\x00", max_size=60)


@settings(max_examples=1000)
@given(_PREFIXES, _URLISH)
def test_only_input_errors_escape_for_url_like_text(prefix: str, tail: str) -> None:
    outcome: SourceUrl | InputError
    try:
        outcome = parse_source_url(prefix + tail)
    except InputError as error:
        outcome = error
    if isinstance(outcome, InputError):
        assert outcome.field == "url"
        return
    assert outcome.kind in ("path", "git", "oci")
    if outcome.kind == "git":
        assert outcome.location.startswith(("https://", "http://", "file:///")), outcome
        if outcome.location.startswith("http://"):
            assert is_loopback(urlsplit(outcome.location).netloc), outcome


_SEGMENT = st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12).filter(
    lambda s: s[0] not in "-_"
)
_HOSTS = st.sampled_from(["github.com", "git.example.com", "127.0.0.1:9418", "h.example:8443"])


@given(
    host=_HOSTS,
    repo=st.lists(_SEGMENT, min_size=2, max_size=3),
    subdir=st.none() | st.lists(_SEGMENT, min_size=1, max_size=3),
    ref=st.none() | _SEGMENT | st.just(SHA),
    scheme=st.sampled_from(["git::https://", "git::", "https://"]),
)
def test_git_urls_parse_and_pins_round_trip(
    host: str, repo: list[str], subdir: list[str] | None, ref: str | None, scheme: str
) -> None:
    path = "/".join(repo) + ".git"
    url = f"{scheme}{host}/{path}"
    if subdir:
        url += "//" + "/".join(subdir)
    if ref:
        url += f"?ref={ref}"
    parsed = parse_source_url(url)
    assert parsed.kind == "git"
    assert parsed.location == f"https://{host}/{path}"
    assert parsed.subdir == ("/".join(subdir) if subdir else None)
    assert parsed.ref == ref
    pinned = _git.parse_git_url(url, url.removeprefix("git::")).pinned(SHA)
    assert pinned.startswith(f"git::{host}/")  # https:// dropped, as Conforma prints it
    again = parse_source_url(pinned)
    assert (again.location, again.subdir, again.ref) == (parsed.location, parsed.subdir, SHA)


def test_plain_http_and_file_pins_keep_their_scheme() -> None:
    http = _git.parse_git_url("u", "http://127.0.0.1:1/r.git//p").pinned(SHA)
    assert http == f"git::http://127.0.0.1:1/r.git//p?ref={SHA}"
    assert parse_source_url(http).location == "http://127.0.0.1:1/r.git"
    local = _git.parse_git_url("u", "file:///srv/r.git").pinned(SHA)
    assert local == f"git::file:///srv/r.git?ref={SHA}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("git::https://git.example/team/config.git", True),
        ("git::https://git.example/team/config.git//default?ref=main", True),
        ("https://git.example/team/config.git", True),
        ("github.com/team/config", True),
        ("gitlab.com/team/config//release", True),
        ("policy.yaml", False),  # a file name, even when missing: not a repository
        ('{"sources": []}', False),
        ("sources:\n  - policy: [github.com/x/y]\n", False),
        ("namespace/name", False),
        ("oci::quay.io/team/policy:latest", False),
        ("", False),
    ],
)
def test_which_policy_arguments_name_a_git_repository(value: str, expected: bool) -> None:
    assert is_git_policy(value) is expected


def test_an_existing_file_is_never_a_repository(tmp_path: Path) -> None:
    odd = tmp_path / "github.com" / "team" / "config"
    odd.parent.mkdir(parents=True)
    odd.write_text("sources: []\n")
    assert not is_git_policy(str(odd))
