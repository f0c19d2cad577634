"""What sign_run logs and stores with ``transparency.enabled`` verifies with the real cosign
2.5 (``verify`` and ``verify-attestation``), its Rekor bundles checked offline against our fake
log's key (``SIGSTORE_REKOR_PUBLIC_KEY``) and refused under another log's key."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from konflux_supply import chains, oci
from konflux_supply.publish import RekorClient
from tests.integration.conftest import RegistryService
from tests.integration.fake_rekor import FakeRekor
from tests.unit.chains._helpers import key_signer, push_image, task_run

pytestmark = pytest.mark.integration


def _cosign(
    binary: Path, home: Path, rekor_key: Path, rekor: FakeRekor, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COSIGN_", "SIGSTORE_", "TUF_"))
        and key.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
    }
    env.update(
        HOME=str(home),
        DOCKER_CONFIG=str(home / "docker"),
        TUF_ROOT=str(home / "tuf"),
        SIGSTORE_REKOR_PUBLIC_KEY=str(rekor_key),
        HTTPS_PROXY="http://127.0.0.1:9",  # no internet
        NO_PROXY="127.0.0.1,localhost",
    )
    return subprocess.run(
        [str(binary), *args, "--rekor-url", rekor.url, "--allow-http-registry"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cosign_verifies_the_logged_signature(
    registry: RegistryService,
    rekor: FakeRekor,
    rekor_client: RekorClient,
    cosign_binaries: dict[str, Path],
    tmp_path: Path,
) -> None:
    client, _ = oci.open_registry(registry.ref("tlog/cosign"), options=registry.options)
    name = registry.ref("tlog/cosign")
    digest = push_image(client, name)
    run = task_run(image=name, digest=digest, name="cosign", uid="uid-tlog-cosign")
    config = chains.Config.from_data(
        {
            "artifacts.taskrun.storage": "oci",
            "artifacts.oci.storage": "oci",
            "transparency.enabled": "true",
            "transparency.url": rekor.url,
            "transparency.public-key": rekor.public_pem.decode(),
        }
    )
    signer = key_signer()
    outcome = chains.sign_run(
        run, config, registry=client, signer=signer, transparency=rekor_client
    )
    assert outcome.signed, outcome.status_map()
    key = tmp_path / "cosign.pub"
    key.write_bytes(signer.public_key_pem())
    rekor_key = tmp_path / "rekor.pub"
    rekor_key.write_bytes(rekor.public_pem)
    cosign = cosign_binaries["2.5"]
    image = f"{name}@{digest}"
    done = _cosign(cosign, tmp_path / "home", rekor_key, rekor, "verify", "--key", str(key), image)
    assert done.returncode == 0, done.stderr
    assert "The cosign claims were validated" in done.stderr
    assert "Existence of the claims in the transparency log was verified offline" in done.stderr
    # another log's key: cosign refuses the bundle
    other = tmp_path / "other.pub"
    other.write_bytes(FakeRekor().public_pem)
    refused = _cosign(cosign, tmp_path / "home", other, rekor, "verify", "--key", str(key), image)
    assert refused.returncode != 0, refused.stderr
    assert "rekor log public key not found" in refused.stderr
    attested = _cosign(
        cosign,
        tmp_path / "home",
        rekor_key,
        rekor,
        "verify-attestation",
        "--key",
        str(key),
        "--type",
        "slsaprovenance",
        image,
    )
    assert attested.returncode == 0, attested.stderr
    assert "verified offline" in attested.stderr
    refused = _cosign(
        cosign,
        tmp_path / "home",
        other,
        rekor,
        "verify-attestation",
        "--key",
        str(key),
        "--type",
        "slsaprovenance",
        image,
    )
    assert refused.returncode != 0, refused.stderr
