"""Tunables for registry access: frozen dataclasses passed in by the caller.

Nothing here reads the environment: the CLI builds these from flags and environment variables
(``DOCKER_CONFIG``, ``REGISTRY_AUTH_FILE``); libraries and controllers pass their own.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from konflux_supply.errors import InputError

__all__ = [
    "MIB",
    "CredentialSource",
    "Credentials",
    "DockerConfig",
    "Limits",
    "RegistryOptions",
    "RetryPolicy",
]

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Size and count caps on what is read from a registry (defaults as cosign).

    * ``max_attachment_bytes`` — one signature/attestation/SBOM/bundle layer
      (cosign ``COSIGN_MAX_ATTACHMENT_SIZE``, 128 MiB).
    * ``max_signatures`` — signatures or attestations considered per image (cosign: 100).
    * ``max_layers`` — layers in a ``.sig``/``.att`` manifest (cosign ``maxLayers``: 1,000).
    * ``max_manifest_bytes`` — one manifest or index document.
    * ``max_referrers`` — descriptors in a referrers listing.
    """

    max_attachment_bytes: int = 128 * MIB
    max_signatures: int = 100
    max_layers: int = 1000
    max_manifest_bytes: int = 32 * MIB
    max_referrers: int = 1000

    def __post_init__(self) -> None:
        for name in (
            "max_attachment_bytes",
            "max_signatures",
            "max_layers",
            "max_manifest_bytes",
            "max_referrers",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"must be a positive integer, got {value!r}", field=name)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures: 429, 5xx, connection resets, truncated or corrupt bodies.

    Delays grow as ``backoff * 2**n`` (capped by ``max_backoff``) with full jitter; a
    ``Retry-After`` header is honoured up to ``max_retry_after`` seconds (a longer one ends
    the retries with an error naming it). ``timeout`` is the connect/read timeout per request.

    ``deadline`` bounds everything (cosign's ``--timeout``): a :func:`time.monotonic` instant
    after which no request starts and no retry waits; each request's timeout is cut to what
    is left. ``on_retry`` is told, before each retry, which request failed and why (the CLI
    prints it on stderr; a registry that never answers is not silent).
    """

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    timeout: float = 60.0
    deadline: float | None = None
    on_retry: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def remaining(self, now: float) -> float | None:
        """Seconds left before :attr:`deadline` (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - now

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InputError("must be at least 1", field="attempts")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise InputError("delays must not be negative", field="backoff")
        if self.timeout <= 0:
            raise InputError("must be positive", field="timeout")


@dataclass(frozen=True)
class Credentials:
    """Registry credentials: a username and password, or an OAuth2 identity (refresh) token."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token)


#: Looks up credentials for a registry host (``host[:port]``); ``None`` means anonymous.
CredentialSource = Callable[[str], "Credentials | None"]


def _host_of(key: str) -> str:
    """Normalise a docker config ``auths`` key (``https://host/v1/``, ``host``) to ``host``."""
    text = key.strip()
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.rstrip("/")
    host, _, path = text.partition("/")
    if path in ("v1", "v2"):  # docker's legacy "https://index.docker.io/v1/" form
        return host
    return text


_DOCKER_HUB_ALIASES = ("index.docker.io", "docker.io", "registry-1.docker.io")


class DockerConfig:
    """Credentials from a docker ``config.json`` or containers ``auth.json``.

    Supports ``auths`` entries (``auth`` = base64 ``user:password``, ``username``/``password``,
    ``identitytoken``), repository-scoped keys (``host/namespace``, longest match wins), and
    ``credHelpers``/``credsStore`` through ``docker-credential-<name> get``. Call it with a
    host (and optionally a repository) to get :class:`Credentials` or ``None``.
    """

    def __init__(self, document: Mapping[str, object], *, source: str = "config.json") -> None:
        self._source = source
        auths = document.get("auths")
        helpers = document.get("credHelpers")
        auths = {} if auths is None else auths
        helpers = {} if helpers is None else helpers
        store = document.get("credsStore")
        if not isinstance(auths, dict):
            raise InputError("must be an object", field="auths", source=source)
        if not isinstance(helpers, dict):
            raise InputError("must be an object", field="credHelpers", source=source)
        if store is not None and not isinstance(store, str):
            raise InputError("must be a string", field="credsStore", source=source)
        self._auths: dict[str, Credentials] = {}
        for key, entry in auths.items():
            creds = self._decode(key, entry)
            if creds is not None:
                self._auths[_host_of(key)] = creds
        self._helpers = {_host_of(k): str(v) for k, v in helpers.items()}
        self._store = store

    @classmethod
    def from_file(cls, path: str | Path) -> DockerConfig:
        """Load a config file; :class:`InputError` naming the file if it cannot be read."""
        try:
            raw = Path(path).read_bytes()
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror}", source=str(path)) from None
        try:
            document = json.loads(raw)
        except RecursionError:
            raise InputError("not JSON: nested too deeply", source=str(path)) from None
        except ValueError as error:
            raise InputError(f"not JSON: {error}", source=str(path)) from None
        if not isinstance(document, dict):
            raise InputError("not a JSON object", source=str(path))
        return cls(document, source=str(path))

    def _decode(self, key: str, entry: object) -> Credentials | None:
        where = f"auths.{key}"
        if not isinstance(entry, dict):
            raise InputError("must be an object", field=where, source=self._source)
        token = entry.get("identitytoken")
        username = entry.get("username") or ""
        password = entry.get("password") or ""
        encoded = entry.get("auth")
        if encoded:
            try:
                decoded = base64.b64decode(str(encoded), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise InputError(
                    "not base64 of 'user:password'", field=f"{where}.auth", source=self._source
                ) from None
            username, sep, password = decoded.partition(":")
            if not sep:
                raise InputError(
                    "not base64 of 'user:password'", field=f"{where}.auth", source=self._source
                )
        creds = Credentials(str(username), str(password), str(token) if token else None)
        return None if creds.empty else creds

    def __call__(self, host: str, repository: str | None = None) -> Credentials | None:
        candidates = [host]
        if host in _DOCKER_HUB_ALIASES:
            candidates = list(_DOCKER_HUB_ALIASES)
        best: tuple[int, Credentials] | None = None
        for key, creds in self._auths.items():
            for candidate in candidates:
                target = f"{candidate}/{repository}" if repository else candidate
                matches = key == candidate or (
                    key.startswith(candidate + "/") and (target + "/").startswith(key + "/")
                )
                if matches and (best is None or len(key) > best[0]):
                    best = (len(key), creds)
        if best is not None:
            return best[1]
        helper = next((self._helpers[c] for c in candidates if c in self._helpers), self._store)
        if helper:
            server = "https://index.docker.io/v1/" if host in _DOCKER_HUB_ALIASES else host
            return _run_helper(helper, server)
        return None


def _run_helper(helper: str, server: str) -> Credentials | None:
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise InputError(
            f"credential helper docker-credential-{helper} is not on PATH", field="credHelpers"
        )
    try:
        done = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InputError(f"credential helper {helper} failed: {error}") from None
    if done.returncode != 0:
        message = done.stdout.decode(errors="replace").strip()
        if "credentials not found" in message.lower():
            return None
        raise InputError(f"credential helper {helper} failed: {message[:200]}")
    try:
        answer = json.loads(done.stdout)
        username, secret = str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InputError(f"credential helper {helper} returned malformed output") from None
    if username == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(username, secret)


@dataclass(frozen=True)
class RegistryOptions:
    """How to talk to registries.

    * ``credentials`` — a callable ``host -> Credentials | None`` (e.g. :class:`DockerConfig`)
      or a mapping host → credentials.
    * ``ca_file`` — a PEM bundle to trust instead of the default one; passed as ``verify=`` on
      every request, so ``REQUESTS_CA_BUNDLE`` in the environment cannot override it.
    * ``insecure_skip_tls_verify`` — do not verify TLS certificates (``--allow-insecure-registry``).
    * ``allow_http`` — plain HTTP is allowed for loopback registries; ``allow_http_any`` also
      for others. Without them, only HTTPS is used.
    * ``limits``, ``retry`` — see :class:`Limits` and :class:`RetryPolicy`.
    * ``chunk_size`` — blobs larger than this are uploaded in chunks of this size.
    * ``pool_size`` — connections kept per registry.
    * ``proxies`` — requests-style proxy map (only the CLI fills it, from the environment).
    """

    credentials: CredentialSource | Mapping[str, Credentials] | None = None
    ca_file: str | None = None
    insecure_skip_tls_verify: bool = False
    allow_http: bool = False
    allow_http_any: bool = False
    limits: Limits = field(default_factory=Limits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    chunk_size: int = 16 * MIB
    pool_size: int = 16
    proxies: Mapping[str, str] | None = None
    user_agent: str = "konflux-supply"

    def credentials_for(self, host: str) -> Credentials | None:
        """The credentials to use for ``host`` (``None`` = anonymous)."""
        source = self.credentials
        if source is None:
            return None
        if isinstance(source, Mapping):
            found = source.get(host)
            if found is None and host in _DOCKER_HUB_ALIASES:
                found = next((source[a] for a in _DOCKER_HUB_ALIASES if a in source), None)
            return found
        return source(host)
