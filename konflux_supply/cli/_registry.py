"""Registry flags shared by every command that talks to a registry (DESIGN.md contracts).

``--registry-username/--registry-password`` (any registry), a docker ``config.json``
(``REGISTRY_AUTH_FILE``, else ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``,
else podman's ``$XDG_RUNTIME_DIR/containers/auth.json``), ``--registry-cacert``,
``--allow-http-registry`` (loopback registries),
``--allow-http-registry-anywhere`` (forced) and ``--allow-insecure-registry``. The command
receives a ready :class:`~konflux_supply.oci.RegistryOptions` as ``registry_options``.

Writers also get an :class:`~konflux_supply.oci.AppendPolicy` (``--settle``): a host file lock
(``KONFLUX_SUPPLY_LOCK_DIR``, default a per-user directory under the temp dir) plus a settle
interval for writers on other hosts.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from konflux_supply.oci import AppendPolicy, DockerConfig, Reference, RegistryOptions

__all__ = ["append_policy", "registry_options", "repository_override", "writer_options"]


def _docker_config() -> DockerConfig | None:
    from konflux_supply.oci import DockerConfig

    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return DockerConfig.from_file(explicit)
    candidates = []
    if os.environ.get("DOCKER_CONFIG"):
        candidates.append(Path(os.environ["DOCKER_CONFIG"]) / "config.json")
    else:
        candidates.append(Path.home() / ".docker" / "config.json")
        if os.environ.get("XDG_RUNTIME_DIR"):
            candidates.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    for path in candidates:
        if path.is_file():
            return DockerConfig.from_file(path)
    return None


def _proxies() -> dict[str, str] | None:
    import urllib.request

    found = urllib.request.getproxies()
    out = {key: value for key, value in found.items() if key in ("http", "https")}
    if out and found.get("no"):
        out["no_proxy"] = found["no"]
    return out or None


class _SameForEveryHost:
    """``--registry-username/--registry-password``: the same credentials for every host."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def __call__(self, host: str) -> Any:
        return self.credentials


def build_options(
    username: str | None,
    password: str | None,
    cacert: str | None,
    allow_http: str | None,
    insecure: bool,
    retries: int = 5,
) -> RegistryOptions:
    """RegistryOptions from the flags and the environment."""
    from konflux_supply.errors import InputError
    from konflux_supply.oci import Credentials, RegistryOptions, RetryPolicy

    if (username is None) != (password is None):
        raise InputError(
            "--registry-username and --registry-password go together", field="--registry-password"
        )
    credentials: Any
    if username is not None:
        # One login for every registry (as cosign); picklable, for the ec.* builtins' workers.
        credentials = _SameForEveryHost(Credentials(username, password or ""))
    else:
        credentials = _docker_config()
    if cacert is not None and not Path(cacert).is_file():
        raise InputError("CA bundle file not found", field="--registry-cacert", source=cacert)
    return RegistryOptions(
        credentials=credentials,
        ca_file=cacert,
        insecure_skip_tls_verify=insecure,
        allow_http=allow_http is not None,
        allow_http_any=allow_http == "any",
        proxies=_proxies(),
        retry=RetryPolicy(attempts=retries),
    )


def registry_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the registry flags; the command gets ``registry_options: RegistryOptions``."""

    @click.option(
        "--registry-username",
        envvar="KONFLUX_SUPPLY_REGISTRY_USERNAME",
        metavar="USER",
        help="Username for every registry (else docker config.json / REGISTRY_AUTH_FILE).",
    )
    @click.option(
        "--registry-password",
        envvar="KONFLUX_SUPPLY_REGISTRY_PASSWORD",
        metavar="PASSWORD",
        help="Password or token (env KONFLUX_SUPPLY_REGISTRY_PASSWORD keeps it off argv).",
    )
    @click.option(
        "--registry-cacert",
        metavar="FILE",
        help="PEM CA bundle to trust for registries (passed on every request).",
    )
    @click.option(
        "--allow-http-registry",
        is_flag=True,
        help="Allow plain HTTP to loopback registries (localhost, 127.0.0.0/8, ::1).",
    )
    @click.option(
        "--allow-http-registry-anywhere",
        is_flag=True,
        help="Allow plain HTTP to any registry (credentials and content travel in clear).",
    )
    @click.option(
        "--registry-retries",
        type=click.IntRange(min=1),
        default=5,
        show_default=True,
        metavar="N",
        help="Attempts per request on 429/5xx/resets (backoff with jitter, Retry-After honoured).",
    )
    @click.option(
        "--allow-insecure-registry",
        is_flag=True,
        help="Do not verify registry TLS certificates.",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        registry_username: str | None,
        registry_password: str | None,
        registry_cacert: str | None,
        allow_http_registry: bool,
        allow_http_registry_anywhere: bool,
        allow_insecure_registry: bool,
        registry_retries: int,
        **kwargs: Any,
    ) -> Any:
        kwargs["registry_options"] = build_options(
            registry_username,
            registry_password,
            registry_cacert,
            "any" if allow_http_registry_anywhere else "loopback" if allow_http_registry else None,
            allow_insecure_registry,
            registry_retries,
        )
        return command(*args, **kwargs)

    return wrapper


def writer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--settle``; the command gets ``append_policy: AppendPolicy``."""

    @click.option(
        "--settle",
        type=click.FloatRange(min=0),
        default=1.0,
        show_default=True,
        metavar="SECONDS",
        help="Keep re-checking until the new signature survived this long (writers on other "
        "hosts); 0 when every writer shares this host's lock.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, settle: float, **kwargs: Any) -> Any:
        kwargs["append_policy"] = append_policy(settle)
        return command(*args, **kwargs)

    return wrapper


def append_policy(settle: float) -> AppendPolicy:
    """A host file lock (``KONFLUX_SUPPLY_LOCK_DIR``) plus ``settle``."""
    from konflux_supply.oci import AppendPolicy, HostFileLock

    explicit = os.environ.get("KONFLUX_SUPPLY_LOCK_DIR")
    directory = explicit or os.path.join(
        tempfile.gettempdir(), f"konflux-supply-locks-{os.getuid()}"
    )
    # The default name is predictable: it must be ours alone (a shared one is a choice).
    return AppendPolicy(lock=HostFileLock(directory, private=not explicit), settle=settle)


def repository_override() -> Reference | None:
    """cosign's ``COSIGN_REPOSITORY``: where signatures and attestations are stored."""
    value = os.environ.get("COSIGN_REPOSITORY")
    if not value:
        return None
    from konflux_supply.oci import parse_reference

    return parse_reference(value, default_tag=None)
