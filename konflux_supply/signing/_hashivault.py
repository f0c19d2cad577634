"""``hashivault://`` / ``openbao://`` transit keys through hvac (extra ``hashivault``).

Grammar exactly as sigstore's ``kms/hashivault``: ``hashivault://<key>`` where the key name is
``\\w`` or ``\\w[\\w.-]*\\w`` (ASCII). The Vault address is :attr:`BackendConfig.vault_address`
(the CLI: ``VAULT_ADDR``/``BAO_ADDR``), the transit mount :attr:`BackendConfig.vault_transit_path`
(``TRANSIT_SECRET_ENGINE_PATH``, default ``transit``), the token ``secrets(SECRET_VAULT_TOKEN)``
(``VAULT_TOKEN``/``BAO_TOKEN``).

Requests (Vault's documented transit API, through hvac):

* ``GET /v1/<mount>/keys/<key>`` — ``data.keys[<latest_version>].public_key`` (PEM; base64 raw
  bytes for ``ed25519``), ``data.type``;
* ``POST /v1/<mount>/sign/<key>`` with ``input`` (base64 digest), ``hash_algorithm``
  (``sha2-256``/``-384``/``-512`` by key type), ``prehashed: true``, ``signature_algorithm:
  pkcs1v15``, ``marshaling_algorithm: asn1`` and the ``key_version`` whose public key we hold;
  ``ed25519`` keys sign the message itself (pure Ed25519). The answer ``vault:vN:<b64>`` is
  stripped of its prefix and checked against the public key.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing._keys import KeyVerifier, algorithm_name, check_key, load_public_key
from konflux_supply.signing._remote import RemoteSigner

if TYPE_CHECKING:
    from konflux_supply.signing._protocols import BackendConfig, SecretsCallback

SCHEMES = ("hashivault", "openbao")

_REFERENCE = re.compile(r"^(?:hashivault|openbao)://(?P<path>\w(([\w\-.]+)?\w)?)$", re.ASCII)
_PREFIX = re.compile(r"^vault:v[0-9]+:")
_CURVE_HASH = {"secp256r1": "sha256", "secp384r1": "sha384", "secp521r1": "sha512"}


def parse(uri: str) -> str:
    """The transit key name of a ``hashivault://`` / ``openbao://`` reference."""
    match = _REFERENCE.fullmatch(uri)
    if match is None:
        raise InputError(
            "kms specification should be in the format hashivault://<key>", field="key"
        )
    return match.group("path")


def _client(config: BackendConfig, secrets: SecretsCallback | None) -> Any:
    from konflux_supply import signing

    injected = config.clients.get("hashivault")
    if injected is not None:
        return injected
    try:
        import hvac
    except ImportError:
        raise BackendUnavailable.missing_extra("hashivault", "hvac") from None
    if not config.vault_address:
        raise InputError("VAULT_ADDR or BAO_ADDR is not set", field="vault_address")
    if secrets is None:
        raise BackendUnavailable("no Vault token", hint="set VAULT_TOKEN (or BAO_TOKEN)")
    token = secrets(signing.SECRET_VAULT_TOKEN).decode("utf-8")
    if not token:
        raise BackendUnavailable("no Vault token", hint="set VAULT_TOKEN (or BAO_TOKEN)")
    return hvac.Client(
        url=config.vault_address,
        token=token,
        namespace=config.vault_namespace,
        timeout=config.timeout,
    )


def _call(describe: str, method: Any, **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except Exception as error:  # hvac wraps HTTP errors; requests raises its own
        name = type(error).__name__
        if name == "InvalidPath":
            raise InputError(f"{describe}: no such transit key", field="key") from None
        if name == "InvalidRequest":
            raise InputError(f"{describe}: {error}", field="key") from None
        raise BackendUnavailable(f"{describe}: {name}: {error}") from None


def _fetch(
    uri: str, config: BackendConfig, secrets: SecretsCallback | None
) -> tuple[Any, str, Any, int]:
    name = parse(uri)
    client = _client(config, secrets)
    mount = config.vault_transit_path or "transit"
    answer = _call(
        f"Vault transit key {name}", client.secrets.transit.read_key, name=name, mount_point=mount
    )
    try:
        data = answer["data"]
        version = int(data["latest_version"])
        entry = data["keys"][str(version)]
        text = entry["public_key"] if isinstance(entry, dict) else None
    except (KeyError, TypeError, ValueError):
        raise BackendUnavailable("failed to read transit key keys: corrupted response") from None
    if not isinstance(text, str) or not text:
        raise InputError(f"Vault transit key {name} is not an asymmetric signing key", field="key")
    if data.get("type") == "ed25519":
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            raise BackendUnavailable("transit: the ed25519 public key is not base64") from None
        if len(raw) != 32:
            raise BackendUnavailable(
                f"decoded ed25519 public key length is {len(raw)}, should be 32"
            )
        public: Any = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        check_key(public)
    else:
        public = load_public_key(text.encode("utf-8"), source=uri)
    return client, name, public, version


def signer_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> RemoteSigner:
    """A signer for a transit key (the latest version at load time is pinned)."""
    client, name, public, version = _fetch(uri, config, secrets)
    mount = config.vault_transit_path or "transit"
    if isinstance(public, ec.EllipticCurvePublicKey):
        hash_name = _CURVE_HASH[public.curve.name]
    elif isinstance(public, rsa.RSAPublicKey):
        hash_name = "sha256"
    else:
        hash_name = "sha512"  # unused: ed25519 signs the message itself
    pure = isinstance(public, ed25519.Ed25519PublicKey)

    def sign_digest(value: bytes, data: bytes) -> bytes:
        if pure:
            params: dict[str, Any] = {"hash_input": base64.b64encode(data).decode("ascii")}
        else:
            params = {
                "hash_input": base64.b64encode(value).decode("ascii"),
                "hash_algorithm": "sha2-" + hash_name[3:],
                "prehashed": True,
                "signature_algorithm": "pkcs1v15",
                "marshaling_algorithm": "asn1",
            }
        answer = _call(
            f"Vault transit sign {name}",
            client.secrets.transit.sign_data,
            name=name,
            key_version=version,
            mount_point=mount,
            **params,
        )
        try:
            text = answer["data"]["signature"]
        except (KeyError, TypeError):
            raise BackendUnavailable("transit: response corrupted in-transit") from None
        if not isinstance(text, str):
            raise BackendUnavailable("transit: received non-string data")
        try:
            return base64.b64decode(_PREFIX.sub("", text), validate=True)
        except ValueError:
            raise BackendUnavailable("transit: the signature is not base64") from None

    return RemoteSigner(
        public,
        hash_name=hash_name,
        describe=f"Vault transit key {name} v{version}",
        sign_digest=sign_digest,
        algorithm="ed25519" if pure else algorithm_name(public),
    )


def verifier_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> KeyVerifier:
    """A verifier with the transit key's latest public key (verification is local)."""
    _, _, public, _ = _fetch(uri, config, secrets)
    return KeyVerifier(public, source=uri)
