"""Runners for the interop suite: cosign and crane offline, our CLI's result, assertions."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "pw"
#: An offline trusted root with no services.
EMPTY_TRUSTED_ROOT = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}
#: cosign's flags for a plain-HTTP loopback registry.
COSIGN_REGISTRY = ("--allow-insecure-registry", "--allow-http-registry")
#: ours for the same.
OURS_REGISTRY = ("--allow-http-registry",)
OURS_WRITE = ("--allow-http-registry", "--settle", "0")
#: a closed loopback port: a proxy that refuses every connection.
_NO_INTERNET = "http://127.0.0.1:9"


def offline_environment(home: Path) -> dict[str, str]:
    """The environment for cosign and crane: isolated home, no internet, no experimental mode."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COSIGN_", "SIGSTORE_", "TUF_"))
        and key.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        DOCKER_CONFIG=str(home / "docker"),
        TUF_ROOT=str(home / "tuf"),
        COSIGN_PASSWORD=PASSWORD,
        HTTP_PROXY=_NO_INTERNET,
        HTTPS_PROXY=_NO_INTERNET,
        NO_PROXY="127.0.0.1,localhost,::1",
    )
    return env


@dataclass
class Cosign:
    """One cosign binary with the flags that keep it offline."""

    version: str
    path: Path
    env: dict[str, str]
    cwd: Path

    def run(
        self, *args: str, check: bool = True, experimental: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run cosign; ``experimental`` sets ``COSIGN_EXPERIMENTAL=1`` (cosign demands it for
        ``--registry-referrers-mode oci-1-1``)."""
        env = {**self.env, "COSIGN_EXPERIMENTAL": "1"} if experimental else self.env
        done = subprocess.run(
            [str(self.path), *args],
            env=env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"cosign {self.version} {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stderr[-3000:]}",
                pytrace=False,
            )
        return done

    @property
    def v3(self) -> bool:
        return self.version.startswith("3.")

    def write_flags(self, *, bundle: bool = False) -> list[str]:
        """Flags for sign/attest/sign-blob: no tlog; ``bundle`` = the Sigstore bundle format."""
        flags = ["--tlog-upload=false", "-y"]
        if self.v3:
            flags += ["--use-signing-config=false", f"--new-bundle-format={str(bundle).lower()}"]
        elif bundle:
            flags.append("--new-bundle-format")
        return flags

    def verify_flags(self, *, bundle: bool = False) -> list[str]:
        """Flags for verify*: no tlog; ``bundle`` = read Sigstore bundles (referrers).

        cosign 2.5 reads bundles only with a trusted root (else it fetches one over TUF):
        it gets one that lists no service.
        """
        flags = ["--insecure-ignore-tlog"]
        if self.v3:
            flags.append(f"--new-bundle-format={str(bundle).lower()}")
        elif bundle:
            root = self.cwd / "empty_trusted_root.json"
            root.write_text(json.dumps(EMPTY_TRUSTED_ROOT))
            flags += ["--new-bundle-format", "--trusted-root", str(root)]
        return flags


@dataclass
class Crane:
    """crane (go-containerregistry) on loopback registries."""

    path: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [str(self.path), *args, "--insecure"],
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"crane {' '.join(args)} exited {done.returncode}: "
                f"{done.stderr.decode(errors='replace')[-2000:]}",
                pytrace=False,
            )
        return done

    def text(self, *args: str) -> str:
        return self.run(*args).stdout.decode()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def ok(result: Result, what: Sequence[str] | str = "") -> Result:
    """Assert our command succeeded (its stderr in the message)."""
    assert result.code == 0, f"ours {what} exited {result.code}: {result.err}"
    return result
