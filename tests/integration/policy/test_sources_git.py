"""Git sources against a real git smart-HTTP server on loopback (``git_server`` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from konflux_supply.errors import InputError, PolicyError
from konflux_supply.policy.sources import SourceCache, load_data, read_source_modules
from tests.integration.git_server import GitRepo, GitServer

MAIN_REGO = 'package main\n\nimport rego.v1\n\ndeny contains "always" if false\n'
LIB_REGO = "package lib\n\nimport rego.v1\n\nanswer := 42\n"


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[SourceCache]:
    with SourceCache(tmp_path / "cache", allow_http=True, timeout=60) as made:
        yield made


def _repo(git_server: GitServer, request: pytest.FixtureRequest, files: dict[str, str]) -> GitRepo:
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    return git_server.create_repo(name, files)


def test_default_branch_is_pinned_to_its_commit(
    git_server: GitServer, cache: SourceCache, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"policy/main.rego": MAIN_REGO, "README.md": "x"})
    head = repo.commit({"policy/lib/lib.rego": LIB_REGO})
    url = f"git::{repo.url}//policy"
    fetched = cache.fetch(url)
    assert fetched.url == url
    host_path = repo.url.removeprefix("http://")
    assert fetched.pinned_url == f"git::http://{host_path}//policy?ref={head}"
    assert sorted(p.relative_to(fetched.path).as_posix() for p in fetched.path.rglob("*.rego")) == [
        "lib/lib.rego",
        "main.rego",
    ]
    assert read_source_modules([fetched]) == [
        (f"{url}#lib/lib.rego", LIB_REGO),
        (f"{url}#main.rego", MAIN_REGO),
    ]


def test_branch_tag_and_commit_refs(
    git_server: GitServer, cache: SourceCache, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"main.rego": MAIN_REGO})
    first = repo.commit({"v.rego": "package v\n\nversion := 1\n"})
    repo.tag("v1", first)
    repo.tag("v1-annotated", first, annotated=True)
    second = repo.commit({"v.rego": "package v\n\nversion := 2\n"}, branch="feature")
    cases = {"main": first, "v1": first, "v1-annotated": first, "feature": second, first: first}
    for ref, commit in cases.items():
        fetched = cache.fetch(f"git::{repo.url}?ref={ref}")
        assert fetched.pinned_url.endswith(f"?ref={commit}"), ref
        expected = "1" if commit == first else "2"
        assert (fetched.path / "v.rego").read_text().endswith(f"version := {expected}\n")


def test_missing_ref_directory_repository_and_commit_are_input_errors(
    git_server: GitServer, cache: SourceCache, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"policy/main.rego": MAIN_REGO})
    with pytest.raises(InputError, match="git ref 'no-such-branch' does not exist"):
        cache.fetch(f"git::{repo.url}?ref=no-such-branch")
    with pytest.raises(InputError, match="directory 'nowhere' does not exist"):
        cache.fetch(f"git::{repo.url}//nowhere")
    with pytest.raises(InputError, match="repository not found"):
        cache.fetch(f"git::http://{git_server.host}/absent.git")
    with pytest.raises(InputError, match=f"commit {'1' * 40} does not exist"):
        cache.fetch(f"git::{repo.url}?ref={'1' * 40}")
    with pytest.raises(InputError, match="neither a branch nor a tag"):
        cache.fetch(f"git::{repo.url}?ref=abc1234")


def test_unreachable_server_is_a_policy_error_never_empty(cache: SourceCache) -> None:
    from tests.integration.conftest import free_port

    with pytest.raises(PolicyError, match="git ls-remote failed"):
        cache.fetch(f"git::http://127.0.0.1:{free_port()}/gone.git")


def test_plain_http_needs_permission(
    git_server: GitServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"main.rego": MAIN_REGO})
    before = git_server.requests
    with SourceCache(tmp_path / "strict") as strict, pytest.raises(InputError, match="plain http"):
        strict.fetch(f"git::{repo.url}")
    assert git_server.requests == before


def test_second_fetch_asks_the_server_nothing(
    git_server: GitServer, cache: SourceCache, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"policy/main.rego": MAIN_REGO})
    url = f"git::{repo.url}//policy?ref=main"
    first = cache.fetch(url)
    served = git_server.requests_for[repo.name]
    assert served > 0
    again = cache.fetch(url)
    by_pin = cache.fetch(first.pinned_url)  # the pinned URL is a cache key too
    assert git_server.requests_for[repo.name] == served
    assert again.path == first.path == by_pin.path
    assert by_pin.pinned_url == first.pinned_url
    # Another name for the same commit: one ls-remote, no second download.
    repo.tag("same", first.pinned_url.rsplit("=", 1)[1])
    tagged = cache.fetch(f"git::{repo.url}//policy?ref=same")
    assert tagged.path == first.path


def test_concurrent_fetches_of_one_url_fetch_once(
    git_server: GitServer, cache: SourceCache, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"main.rego": MAIN_REGO})
    url = f"git::{repo.url}"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.fetch(url).path)) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert len(results) == 6
    single = git_server.requests_for[repo.name]
    with SourceCache(cache.directory.parent / "other", allow_http=True) as other:
        other.fetch(url)
    assert git_server.requests_for[repo.name] == 2 * single


def test_errors_are_cached_for_the_run(
    git_server: GitServer, cache: SourceCache, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"main.rego": MAIN_REGO})
    url = f"git::{repo.url}?ref=later"
    with pytest.raises(InputError):
        cache.fetch(url)
    served = git_server.requests_for[repo.name]
    repo.commit({"x.rego": "package x\n"}, branch="later")
    with pytest.raises(InputError):
        cache.fetch(url)  # same answer for every component of one run
    assert git_server.requests_for[repo.name] == served


def test_data_from_git_merges_at_the_root(
    git_server: GitServer, cache: SourceCache, request: pytest.FixtureRequest
) -> None:
    repo = _repo(
        git_server,
        request,
        {
            "data/rule_data.yml": "rule_data:\n  allowed: [a]\n",
            "data/deep/nested/tasks.json": '{"trusted_tasks": {"t": []}}',
            "data/README.md": "not data",
        },
    )
    fetched = cache.fetch(f"git::{repo.url}//data")
    assert load_data([fetched]) == {"rule_data": {"allowed": ["a"]}, "trusted_tasks": {"t": []}}


def test_file_transport_and_symlink_safety(
    tmp_path: Path, git_server: GitServer, request: pytest.FixtureRequest
) -> None:
    repo = _repo(git_server, request, {"p/main.rego": MAIN_REGO})
    link = repo.work / "p" / "escape.rego"
    link.symlink_to("/etc/passwd")
    repo.commit({})
    with SourceCache(tmp_path / "c") as cache, pytest.raises(InputError, match="cannot unpack"):
        cache.fetch(f"git::file://{repo.bare}//p")


def test_https_server_with_a_private_ca_pins_as_conforma_prints(
    tls_git_server: GitServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    repo = _repo(tls_git_server, request, {"policy/main.rego": MAIN_REGO})
    head = repo.commit({"policy/lib.rego": LIB_REGO})
    url = f"git::{repo.url}//policy"
    assert url.startswith("git::https://127.0.0.1:")
    with SourceCache(tmp_path / "c", git_ca_file=tls_git_server.ca_file) as cache:
        fetched = cache.fetch(url)
        # Conforma's form: https:// dropped, pinned to the commit.
        assert (
            fetched.pinned_url == f"git::{tls_git_server.host}/{repo.name}.git//policy?ref={head}"
        )
        assert cache.fetch(fetched.pinned_url).path == fetched.path
    with SourceCache(tmp_path / "untrusted") as cache, pytest.raises(PolicyError, match="cert"):
        cache.fetch(url)  # an unknown CA is not an answer, and never an empty policy


def test_tree_size_is_capped(
    git_server: GitServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from konflux_supply.policy import _git

    repo = _repo(
        git_server, request, {f"p/{index}.rego": f"package p{index}\n" for index in range(5)}
    )
    monkeypatch.setattr(_git, "MAX_TREE_FILES", 3)
    with (
        SourceCache(tmp_path / "c", allow_http=True) as cache,
        pytest.raises(InputError, match="larger than"),
    ):
        cache.fetch(f"git::{repo.url}//p")
    assert [path.name for path in (tmp_path / "c").iterdir()] == []
