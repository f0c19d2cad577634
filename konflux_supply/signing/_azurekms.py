"""``azurekms://`` keys through the Key Vault REST API (extra ``azurekms``: azure-identity).

Grammar exactly as sigstore's ``kms/azure``: ``azurekms://<vault host>/<key>[/<version>]``
(``^azurekms://([^/]+)/([^/]+)(/[a-z0-9]*)?$``); the vault URL is ``https://<vault host>/``,
or :attr:`BackendConfig.azure_vault_url` when set.

Requests (api-version 7.4): ``GET /keys/<key>[/<version>]`` → the JSON Web Key (``kty``
``EC``/``EC-HSM`` with ``crv`` and ``x``/``y``, or ``RSA``/``RSA-HSM`` with ``n``/``e``);
``POST /keys/<key>/<version>/sign`` with ``{"alg": "ES256", "value": <b64url digest>}``. As
sigstore: ES256/384/512 by curve, RS256/384/512 by RSA size 2048/3072/4096. EC signatures come
back as JWS ``r||s`` and are converted to DER. The bearer token comes from
``BackendConfig.tokens["azurekms"]`` or azure-identity's ``DefaultAzureCredential``.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing._http import JsonApi
from konflux_supply.signing._keys import KeyVerifier, check_key
from konflux_supply.signing._remote import RemoteSigner, raw_to_der

if TYPE_CHECKING:
    from konflux_supply.signing._protocols import BackendConfig, SecretsCallback

SCHEMES = ("azurekms",)
API_VERSION = "7.4"

_REFERENCE = re.compile(r"^azurekms://([^/]+)/([^/]+)(/[a-z0-9]*)?$")
_CURVES: dict[str, tuple[type[ec.EllipticCurve], str, str, str]] = {
    "P-256": (ec.SECP256R1, "ES256", "sha256", "secp256r1"),
    "P-384": (ec.SECP384R1, "ES384", "sha384", "secp384r1"),
    "P-521": (ec.SECP521R1, "ES512", "sha512", "secp521r1"),
}
_RSA = {2048: ("RS256", "sha256"), 3072: ("RS384", "sha384"), 4096: ("RS512", "sha512")}


def parse(uri: str) -> tuple[str, str, str]:
    """(vault host, key name, version or "") of an ``azurekms://`` reference."""
    match = _REFERENCE.fullmatch(uri)
    if match is None:
        raise InputError(
            "kms specification should be in the format azurekms://[VAULT_NAME][VAULT_URL]/"
            "[KEY_NAME]/[KEY_VERSION (optional)]",
            field="key",
        )
    host, name, version = match.groups()
    return host, name, (version or "").lstrip("/")


def _b64url(text: Any) -> bytes:
    if not isinstance(text, str):
        raise BackendUnavailable("Azure Key Vault returned a malformed key")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise BackendUnavailable("Azure Key Vault returned malformed base64url") from None


def _token(config: BackendConfig) -> Callable[[], str]:
    injected = config.tokens.get("azurekms")
    if injected is not None:
        return injected
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise BackendUnavailable.missing_extra("azurekms", "azure-identity") from None
    credential = DefaultAzureCredential()

    def token() -> str:
        # azure-identity logs every credential it tried (a dozen lines) and then raises the
        # same text: neither reaches the user; one line in our words does.
        logger = logging.getLogger("azure.identity")
        level = logger.level
        logger.setLevel(logging.CRITICAL)  # its child loggers inherit the level
        try:
            return str(credential.get_token("https://vault.azure.net/.default").token)
        except Exception as error:  # azure-identity raises its own types
            first = (str(error).splitlines() or [type(error).__name__])[0]
            raise BackendUnavailable(
                f"Azure Key Vault: no credentials ({first.rstrip('.')})",
                hint="set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, "
                "or log in with `az login`",
            ) from None
        finally:
            logger.setLevel(level)

    return token


def _jwk_public_key(jwk: dict[str, Any]) -> Any:
    kty = str(jwk.get("kty", "")).removesuffix("-HSM")
    if kty == "EC":
        curve = _CURVES.get(str(jwk.get("crv")))
        if curve is None:
            raise InputError(f"unsupported Azure key curve {jwk.get('crv')!r}", field="key")
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_b64url(jwk.get("x")), "big"),
            int.from_bytes(_b64url(jwk.get("y")), "big"),
            curve[0](),
        )
        try:
            return numbers.public_key()
        except ValueError:
            raise BackendUnavailable("Azure Key Vault returned an invalid EC point") from None
    if kty == "RSA":
        try:
            return rsa.RSAPublicNumbers(
                int.from_bytes(_b64url(jwk.get("e")), "big"),
                int.from_bytes(_b64url(jwk.get("n")), "big"),
            ).public_key()
        except ValueError:
            raise BackendUnavailable("Azure Key Vault returned an invalid RSA key") from None
    raise InputError(f"unsupported Azure key type {jwk.get('kty')!r}", field="key")


def _fetch(uri: str, config: BackendConfig) -> tuple[JsonApi, str, str, Any]:
    host, name, version = parse(uri)
    base = config.azure_vault_url or f"https://{host}/"
    api = JsonApi(base, _token(config), timeout=config.timeout, name="Azure Key Vault")
    path = f"/keys/{name}/{version}" if version else f"/keys/{name}"
    answer = api.call("GET", path, params={"api-version": API_VERSION})
    jwk = answer.get("key")
    if not isinstance(jwk, dict):
        raise BackendUnavailable("Azure Key Vault returned no key")
    public = _jwk_public_key(jwk)
    check_key(public, source=uri)
    kid = str(jwk.get("kid", ""))
    resolved = version or kid.rstrip("/").rsplit("/", 1)[-1]
    if not re.fullmatch(r"[A-Za-z0-9]+", resolved or ""):
        raise BackendUnavailable("Azure Key Vault returned no usable key version (kid)")
    return api, name, resolved, public


def signer_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> RemoteSigner:
    """A signer for a Key Vault key (the version is pinned at load time)."""
    api, name, version, public = _fetch(uri, config)
    if isinstance(public, ec.EllipticCurvePublicKey):
        _, alg, hash_name, _ = next(c for c in _CURVES.values() if c[3] == public.curve.name)
    else:
        alg, hash_name = _RSA[((public.key_size + 7) // 8) * 8]
    is_ec = isinstance(public, ec.EllipticCurvePublicKey)

    def sign_digest(value: bytes, data: bytes) -> bytes:
        body = {"alg": alg, "value": base64.urlsafe_b64encode(value).decode("ascii").rstrip("=")}
        answer = api.call(
            "POST", f"/keys/{name}/{version}/sign", params={"api-version": API_VERSION}, body=body
        )
        raw = _b64url(answer.get("value"))
        return raw_to_der(raw) if is_ec else raw

    return RemoteSigner(
        public,
        hash_name=hash_name,
        describe=f"Azure Key Vault key {name}/{version}",
        sign_digest=sign_digest,
        algorithm=alg,
    )


def verifier_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> KeyVerifier:
    """A verifier with the key's public key (verification is local)."""
    _, _, _, public = _fetch(uri, config)
    return KeyVerifier(public, source=uri)
