"""Session fixtures: real local registries (Debian ``docker-registry``), a referrers-capable
fake, and a fault-injecting proxy. Reusable by every area's integration tests.

* ``registry`` — distribution 2.8, plain HTTP on a free loopback port.
* ``tls_registry`` — the same over TLS with htpasswd basic auth; the CA is made here.
* ``referrers_registry`` — :class:`FakeRegistry` with the OCI 1.1 referrers API.
* ``bearer_registry`` — :class:`FakeRegistry` behind bearer tokens (``/token`` + basic creds).
* ``fault_proxy`` — a :class:`FaultProxy` in front of ``registry``, rules cleared per test.
* ``git_server`` — ``git http-backend`` (smart HTTP) on loopback; ``create_repo(name, files)``.
* ``tls_git_server`` — the same over HTTPS; its CA file is ``tls_git_server.ca_file``.

Each service object has ``host`` (``127.0.0.1:PORT``), ``options`` (a ready
:class:`~konflux_supply.oci.RegistryOptions`) and ``ref(repository)`` → ``host/repository``.
A missing service binary fails the test with how to install it; it does not skip.

The real cosign, crane and OPA (``cosign_binaries``, ``crane_binary``, ``opa_binary``,
``opa_server``) come from ``tests/integration/_tools.py``.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from konflux_supply.oci import Credentials, RegistryOptions, RetryPolicy
from tests.integration._tools import (  # noqa: F401  (fixtures re-exported)
    cosign_binaries,
    crane_binary,
    opa_binary,
    opa_server,
)
from tests.integration.fake_registry import FakeRegistry
from tests.integration.fault_proxy import FaultProxy
from tests.integration.git_server import GitServer

INSTALL_HINT = (
    "install it with: apt-get install -y docker-registry skopeo apache2-utils "
    "(or run `make system-deps`)"
)
#: Fast retries for tests: faults are injected on purpose, no need to wait seconds.
FAST_RETRY = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_retry_after=5, timeout=10)


def require_binary(name: str) -> str:
    """The path of a service binary, or fail the test saying how to install it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; {INSTALL_HINT}", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RegistryService:
    """A running registry: where it is and how to talk to it."""

    host: str
    options: RegistryOptions
    data_dir: Path | None = None
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    fake: FakeRegistry | None = field(default=None, repr=False)

    def ref(self, repository: str) -> str:
        return f"{self.host}/{repository}"

    @property
    def url(self) -> str:
        scheme = "https" if self.ca_file else "http"
        return f"{scheme}://{self.host}"


def _start_distribution(
    workdir: Path, *, tls: tuple[Path, Path] | None, htpasswd: Path | None
) -> tuple[subprocess.Popen[bytes], str]:
    binary = require_binary("docker-registry")
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _ in range(5):
        port = free_port()
        lines = [
            "version: 0.1",
            "log: {level: error, accesslog: {disabled: true}}",
            "storage:",
            f"  filesystem: {{rootdirectory: {data}}}",
            "  delete: {enabled: true}",
            "http:",
            f"  addr: 127.0.0.1:{port}",
            "  secret: not-a-real-secret-for-tests",
        ]
        if tls:
            lines.append(f"  tls: {{certificate: {tls[0]}, key: {tls[1]}}}")
        if htpasswd:
            lines += ["auth:", f"  htpasswd: {{realm: konflux-test, path: {htpasswd}}}"]
        config = workdir / "config.yml"
        config.write_text("\n".join(lines) + "\n")
        log = (workdir / "registry.log").open("wb")
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return process, f"127.0.0.1:{port}"
            except OSError:
                time.sleep(0.02)
        process.terminate()
        process.wait(timeout=10)
        last_error = (workdir / "registry.log").read_text(errors="replace")[-2000:]
    pytest.fail(f"docker-registry did not start: {last_error}", pytrace=False)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def make_ca_and_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "konflux-test-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = (
        directory / "ca.crt",
        directory / "server.crt",
        directory / "server.key",
    )
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryService]:
    """Debian docker-registry (distribution 2.8) over plain HTTP on loopback."""
    workdir = tmp_path_factory.mktemp("registry-plain")
    process, host = _start_distribution(workdir, tls=None, htpasswd=None)
    options = RegistryOptions(allow_http=True, retry=FAST_RETRY)
    try:
        yield RegistryService(host, options, data_dir=workdir / "data", process=process)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryService]:
    """docker-registry over TLS (CA made here) with htpasswd basic auth."""
    workdir = tmp_path_factory.mktemp("registry-tls")
    htpasswd_bin = require_binary("htpasswd")
    ca, cert, key = make_ca_and_server_cert(workdir)
    username, password = "konflux", "s3cret-pw"
    hashed = subprocess.run(
        [htpasswd_bin, "-Bbn", username, password], check=True, capture_output=True
    ).stdout
    htpasswd = workdir / "htpasswd"
    htpasswd.write_bytes(hashed.strip() + b"\n")
    process, host = _start_distribution(workdir, tls=(cert, key), htpasswd=htpasswd)
    options = RegistryOptions(
        ca_file=str(ca),
        credentials={host: Credentials(username, password)},
        retry=FAST_RETRY,
    )
    try:
        yield RegistryService(
            host,
            options,
            data_dir=workdir / "data",
            ca_file=ca,
            username=username,
            password=password,
            process=process,
        )
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def referrers_registry() -> Iterator[RegistryService]:
    """Our in-memory registry with the OCI 1.1 referrers API (plain HTTP, no auth)."""
    fake = FakeRegistry(referrers=True).start()
    try:
        yield RegistryService(
            fake.host, RegistryOptions(allow_http=True, retry=FAST_RETRY), fake=fake
        )
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def bearer_registry() -> Iterator[RegistryService]:
    """Our in-memory registry behind bearer tokens (token service takes basic creds)."""
    fake = FakeRegistry(auth="bearer", referrers=True, page_size=2).start()
    options = RegistryOptions(
        allow_http=True,
        retry=FAST_RETRY,
        credentials={fake.host: Credentials(fake.username, fake.password)},
    )
    try:
        yield RegistryService(
            fake.host, options, username=fake.username, password=fake.password, fake=fake
        )
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def _fault_proxy_session(registry: RegistryService) -> Iterator[FaultProxy]:
    proxy = FaultProxy(registry.host).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def fault_proxy(_fault_proxy_session: FaultProxy) -> Iterator[FaultProxy]:
    """The fault proxy in front of ``registry``, with no rules at the start of each test."""
    _fault_proxy_session.plan.clear()
    yield _fault_proxy_session
    _fault_proxy_session.plan.clear()


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """A git smart-HTTP server on a free loopback port (``http://127.0.0.1:PORT/<name>.git``);
    repositories are made per test with unique names through ``create_repo``."""
    require_binary("git")
    server = GitServer(tmp_path_factory.mktemp("git-server")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """``git_server`` over HTTPS (URLs as Conforma's acceptance tests: ``git::https://…``);
    trust ``ca_file`` (``SourceCache(git_ca_file=...)``)."""
    require_binary("git")
    workdir = tmp_path_factory.mktemp("git-server-tls")
    ca, cert, key = make_ca_and_server_cert(workdir)
    server = GitServer(workdir / "repos", tls=(cert, key))
    server.root.mkdir()
    server.ca_file = ca
    server.start()
    try:
        yield server
    finally:
        server.stop()
