"""Docker config credentials, options validation, WWW-Authenticate parsing."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.oci import Credentials, DockerConfig, Limits, RegistryOptions, RetryPolicy
from konflux_supply.oci._auth import parse_challenges


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_docker_config_lookup(tmp_path: Path) -> None:
    config = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": _auth("hub", "p1")},
            "quay.io": {"auth": _auth("quay", "p2:with:colons")},
            "quay.io/team": {"auth": _auth("team", "p3")},
            "http://localhost:5000": {"username": "local", "password": "p4"},
            "ghcr.io": {"identitytoken": "tok"},
            "empty.io": {},
        }
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    docker = DockerConfig.from_file(path)
    assert docker("index.docker.io") == Credentials("hub", "p1")
    assert docker("docker.io") == Credentials("hub", "p1")
    assert docker("quay.io") == Credentials("quay", "p2:with:colons")
    assert docker("quay.io", "team/app") == Credentials("team", "p3")
    assert docker("quay.io", "teammate/app") == Credentials("quay", "p2:with:colons")
    assert docker("localhost:5000") == Credentials("local", "p4")
    assert docker("ghcr.io") == Credentials(identity_token="tok")
    assert docker("empty.io") is None
    assert docker("other.io") is None
    options = RegistryOptions(credentials=docker)
    assert options.credentials_for("quay.io") == Credentials("quay", "p2:with:colons")
    assert "p2" not in repr(docker("quay.io"))


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"auths": []}, "auths"),
        ({"auths": {"a.io": "x"}}, "auths.a.io"),
        ({"auths": {"a.io": {"auth": "!!!"}}}, "auths.a.io.auth"),
        ({"auths": {"a.io": {"auth": base64.b64encode(b"nocolon").decode()}}}, "auths.a.io.auth"),
        ({"credHelpers": []}, "credHelpers"),
        ({"credsStore": 5}, "credsStore"),
    ],
)
def test_malformed_docker_config(document: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as caught:
        DockerConfig(document, source="cfg.json")
    assert caught.value.field == field
    assert caught.value.source == "cfg.json"


def test_docker_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        DockerConfig.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        DockerConfig.from_file(bad)


def test_credential_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = tmp_path / "docker-credential-fake"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        'if [ "$server" = "token.io" ]; then\n'
        '  echo \'{"Username":"<token>","Secret":"rt"}\'; exit 0; fi\n'
        'if [ "$server" = "none.io" ]; then\n'
        '  echo "credentials not found in native keychain"; exit 1; fi\n'
        'echo "{\\"Username\\":\\"u-$server\\",\\"Secret\\":\\"s\\"}"\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    docker = DockerConfig({"credHelpers": {"quay.io": "fake"}, "credsStore": "fake"})
    assert docker("quay.io") == Credentials("u-quay.io", "s")
    assert docker("token.io") == Credentials(identity_token="rt")
    assert docker("none.io") is None
    assert docker("index.docker.io") == Credentials("u-https://index.docker.io/v1/", "s")
    missing = DockerConfig({"credsStore": "absent"})
    with pytest.raises(InputError, match="not on PATH"):
        missing("quay.io")


@pytest.mark.parametrize(
    ("kwargs", "cls"),
    [
        ({"max_layers": 0}, Limits),
        ({"max_signatures": -1}, Limits),
        ({"max_attachment_bytes": 1.5}, Limits),
        ({"attempts": 0}, RetryPolicy),
        ({"backoff": -1}, RetryPolicy),
        ({"timeout": 0}, RetryPolicy),
    ],
)
def test_invalid_tunables(kwargs: dict[str, object], cls: type) -> None:
    with pytest.raises(InputError):
        cls(**kwargs)


def test_limits_default_to_cosign() -> None:
    limits = Limits()
    assert limits.max_attachment_bytes == 128 * 1024 * 1024
    assert limits.max_signatures == 100
    assert limits.max_layers == 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/busybox:pull"',
            [
                (
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:library/busybox:pull",
                    },
                )
            ],
        ),
        ('Basic realm="konflux-test"', [("basic", {"realm": "konflux-test"})]),
        (
            'basic realm=x, Bearer realm="y"',
            [("basic", {"realm": "x"}), ("bearer", {"realm": "y"})],
        ),
        ('Bearer realm="a \\"q\\" b"', [("bearer", {"realm": 'a "q" b'})]),
        ("", []),
    ],
)
def test_challenges(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, c.params) for c in parse_challenges(header)] == expected


@given(st.text(max_size=120))
def test_challenge_parser_never_crashes(header: str) -> None:
    for challenge in parse_challenges(header):
        assert challenge.scheme == challenge.scheme.lower()
