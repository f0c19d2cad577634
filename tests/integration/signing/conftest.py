"""Real local services for the signing backends, started and stopped by the tests.

* SoftHSM2 tokens in a temporary directory (``softhsm2-util``; keys made with opensc's
  ``pkcs11-tool``, an independent PKCS#11 client);
* ``moto_server`` on a free loopback port, patched for ``MessageType=DIGEST``
  (``_moto_digest.py``), and a stock one to show why the patch exists;
* fakes of Vault transit, Cloud KMS, Azure Key Vault and the Kubernetes API (``_fakes.py``).

A missing service binary fails the test with the command that installs it (it does not skip).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import _fakes

HERE = Path(__file__).resolve().parent
PIN = "1234"
SO_PIN = "5678"

pytestmark = pytest.mark.integration


def _require(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(
            f"{binary} is not installed; install it with: sudo apt-get install -y {package} "
            "(or run `make system-deps`)",
            pytrace=False,
        )
    return path


def _softhsm_module() -> str:
    for candidate in (
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ):
        if Path(candidate).exists():
            return candidate
    pytest.fail(
        "libsofthsm2.so not found; install it with: sudo apt-get install -y softhsm2",
        pytrace=False,
    )


@dataclass(frozen=True)
class SoftHsm:
    module: str
    conf: Path
    root: Path
    tool: str

    def uri(self, query: str = "", **path: str) -> str:
        attrs = ";".join(f"{k.replace('_', '-')}={v}" for k, v in path.items())
        return f"pkcs11:{attrs}?module-path={self.module}" + (f"&{query}" if query else "")

    def read_public_key(self, key_id: str) -> bytes:
        """The public key as opensc's pkcs11-tool reports it (DER SPKI).

        ``--read-object`` exports RSA and P-256 keys; this opensc cannot build a P-384
        EVP_PKEY, so for EC keys the ``EC_POINT`` printed by ``--list-objects`` is used.
        """
        base = [self.tool, "--module", self.module, "--token-label", "konflux"]
        out = self.root / f"pub-{key_id}.der"
        done = subprocess.run(
            [*base, "--read-object", "--type", "pubkey", "--id", key_id, "-o", str(out)],
            capture_output=True,
            env=os.environ.copy(),
        )
        if done.returncode == 0:
            return out.read_bytes()
        listing = subprocess.run(
            [*base, "--list-objects", "--type", "pubkey"],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ.copy(),
        ).stdout
        for block in listing.split("Public Key Object")[1:]:
            if re.search(rf"ID:\s+{key_id}\b", block):
                point = bytes.fromhex(re.search(r"EC_POINT:\s+([0-9a-f]+)", block).group(1))  # type: ignore[union-attr]
                curve = ec.SECP384R1() if "384 bits" in block else ec.SECP256R1()
                # EC_POINT is a DER OCTET STRING: 2-byte header, then the uncompressed point
                key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point[2:])
                return key.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
        raise AssertionError(f"pkcs11-tool does not list public key {key_id}")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    util = _require("softhsm2-util", "softhsm2")
    tool = _require("pkcs11-tool", "opensc")
    module = _softhsm_module()
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    # SoftHSM reads this when the module is initialised in this process (first use).
    os.environ["SOFTHSM2_CONF"] = str(conf)
    env = os.environ.copy()

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, env=env)

    for label in ("konflux", "other"):
        run(util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN)
    for key_type, label, key_id in (
        ("EC:prime256v1", "p256", "01"),
        ("EC:secp384r1", "p384", "02"),
        ("rsa:2048", "rsa2048", "03"),
    ):
        run(
            tool, "--module", module, "--token-label", "konflux", "--login", "--pin", PIN,
            "--keypairgen", "--key-type", key_type, "--label", label, "--id", key_id,
        )  # fmt: skip
    run(
        tool, "--module", module, "--token-label", "other", "--login", "--pin", PIN,
        "--keypairgen", "--key-type", "EC:prime256v1", "--label", "p256", "--id", "01",
    )  # fmt: skip
    try:
        yield SoftHsm(module, conf, root, tool)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_moto(command: list[str]) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start ({command})", pytrace=False)
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _moto_binary() -> str:
    binary = Path(sys.executable).parent / "moto_server"
    if not binary.exists():
        pytest.fail(
            'moto_server is not installed; install it with: pip install "moto[server]" '
            "(part of konflux-supply[dev]; `make setup`)",
            pytrace=False,
        )
    return str(binary)


@pytest.fixture(scope="session")
def moto_digest() -> Iterator[str]:
    """A moto_server that implements MessageType=DIGEST like AWS."""
    _moto_binary()
    yield from _start_moto([sys.executable, str(HERE / "_moto_digest.py")])


@pytest.fixture(scope="session")
def moto_stock() -> Iterator[str]:
    """moto_server as installed (no DIGEST support)."""
    yield from _start_moto([_moto_binary()])


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_vault() -> Iterator[_fakes.FakeVault]:
    service = _fakes.FakeVault().start()
    yield service  # type: ignore[misc]
    service.stop()


@pytest.fixture
def fake_gcp() -> Iterator[_fakes.FakeGcpKms]:
    service = _fakes.FakeGcpKms().start()
    yield service  # type: ignore[misc]
    service.stop()


@pytest.fixture
def fake_azure() -> Iterator[_fakes.FakeAzureKeyVault]:
    service = _fakes.FakeAzureKeyVault().start()
    yield service  # type: ignore[misc]
    service.stop()


@pytest.fixture
def fake_kubernetes() -> Iterator[_fakes.FakeKubernetes]:
    service = _fakes.FakeKubernetes().start()
    yield service  # type: ignore[misc]
    service.stop()
