"""``k8s://<namespace>/<secret>`` key references (extra ``kubernetes``).

As cosign (``pkg/signature/keys.go``): the Secret holds ``cosign.key`` (encrypted key file),
``cosign.pub`` and ``cosign.password``. A signer decrypts ``cosign.key`` with
``cosign.password`` (or, if the Secret has none, ``secrets(SECRET_PASSWORD)``); a verifier
reads ``cosign.pub``. The API client is ``BackendConfig.clients["k8s"]`` (a ``CoreV1Api``) or
one built from the kubeconfig / in-cluster configuration.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

from konflux_supply.errors import BackendUnavailable, InputError

if TYPE_CHECKING:
    from konflux_supply.signing._keys import KeySigner, KeyVerifier
    from konflux_supply.signing._protocols import BackendConfig, SecretsCallback

SCHEMES = ("k8s",)

# DNS-1123 label (namespace) and subdomain (secret name).
_REFERENCE = re.compile(
    r"^k8s://(?P<ns>[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/"
    r"(?P<name>[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$"
)


def parse(uri: str) -> tuple[str, str]:
    """(namespace, secret name) of a ``k8s://`` reference."""
    match = _REFERENCE.fullmatch(uri)
    if match is None:
        raise InputError(
            "kubernetes specification should be in the format k8s://<namespace>/<secret>",
            field="key",
        )
    return match.group("ns"), match.group("name")


def _api(config: BackendConfig) -> Any:
    injected = config.clients.get("k8s")
    if injected is not None:
        return injected
    try:
        import kubernetes
    except ImportError:
        raise BackendUnavailable.missing_extra("kubernetes", "kubernetes") from None
    try:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        try:
            kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
        except (kubernetes.config.ConfigException, OSError) as error:
            raise BackendUnavailable(f"no Kubernetes configuration: {error}") from None
    return kubernetes.client.CoreV1Api()


def read_secret(uri: str, config: BackendConfig) -> dict[str, bytes]:
    """The decoded data of the Secret a ``k8s://`` reference names."""
    namespace, name = parse(uri)
    api = _api(config)
    try:
        secret = api.read_namespaced_secret(name, namespace)
    except Exception as error:  # kubernetes.client.ApiException, urllib3 errors
        status = getattr(error, "status", None)
        if status == 404:
            raise InputError(f"secret {namespace}/{name} not found", field="key") from None
        raise BackendUnavailable(
            f"reading secret {namespace}/{name}: {type(error).__name__}"
            + (f" (HTTP {status})" if status else "")
        ) from None
    data = getattr(secret, "data", None) or {}
    out: dict[str, bytes] = {}
    for key, value in data.items():
        try:
            out[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise BackendUnavailable(f"secret {namespace}/{name}: {key} is not base64") from None
    return out


def signer_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> KeySigner:
    """A signer from the Secret's ``cosign.key`` and ``cosign.password``."""
    from konflux_supply import signing

    data = read_secret(uri, config)
    if "cosign.key" not in data:
        raise InputError(f"{uri} has no cosign.key", field="key")
    password = data.get("cosign.password")
    if password is not None:
        return signing.signer_from_pem(data["cosign.key"], secrets=lambda _: password, source=uri)
    return signing.signer_from_pem(data["cosign.key"], secrets=secrets, source=uri)


def verifier_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> KeyVerifier:
    """A verifier from the Secret's ``cosign.pub``."""
    from konflux_supply import signing

    data = read_secret(uri, config)
    if "cosign.pub" not in data:
        raise InputError(f"{uri} has no cosign.pub", field="key")
    return signing.verifier_from_pem(data["cosign.pub"], source=uri)
