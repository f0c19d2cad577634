"""``gcpkms://`` keys through the Cloud KMS REST API (extra ``gcpkms``: google-auth).

Grammar exactly as sigstore's ``kms/gcp``::

    gcpkms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>[/(cryptoKeyVersions|versions)/<v>]

Requests (``https://cloudkms.googleapis.com/v1/…``, :attr:`BackendConfig.gcp_endpoint`):
``GET <key>`` (purpose must be ``ASYMMETRIC_SIGN``); without a version, ``GET
<key>/cryptoKeyVersions?filter=state=ENABLED&orderBy=name desc`` and the first one (as
cosign); ``GET <version>/publicKey`` (``pem``, ``algorithm``, ``pemCrc32c``); ``POST
<version>:asymmetricSign`` with ``{"digest": {"sha256": <b64>}, "digestCrc32c": "<n>"}``. CRC32C
integrity is checked both ways, as Google recommends. The bearer token comes from
``BackendConfig.tokens["gcpkms"]`` or google-auth's application default credentials.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing._http import JsonApi
from konflux_supply.signing._keys import KeyVerifier, load_public_key
from konflux_supply.signing._remote import RemoteSigner

if TYPE_CHECKING:
    from konflux_supply.signing._protocols import BackendConfig, SecretsCallback

SCHEMES = ("gcpkms",)

_REFERENCE = re.compile(
    r"^gcpkms://projects/([^/]+)/locations/([^/]+)/keyRings/([^/]+)/cryptoKeys/([^/]+)"
    r"(?:/(?:cryptoKeyVersions|versions)/([^/]+))?$"
)
# Cloud KMS algorithm -> hash; the set sigstore's GCP client accepts.
ALGORITHMS = {
    "EC_SIGN_P256_SHA256": "sha256",
    "EC_SIGN_P384_SHA384": "sha384",
    "RSA_SIGN_PKCS1_2048_SHA256": "sha256",
    "RSA_SIGN_PKCS1_3072_SHA256": "sha256",
    "RSA_SIGN_PKCS1_4096_SHA256": "sha256",
    "RSA_SIGN_PKCS1_4096_SHA512": "sha512",
    "RSA_SIGN_PSS_2048_SHA256": "sha256",
    "RSA_SIGN_PSS_3072_SHA256": "sha256",
    "RSA_SIGN_PSS_4096_SHA256": "sha256",
    "RSA_SIGN_PSS_4096_SHA512": "sha512",
}
_SCOPE = "https://www.googleapis.com/auth/cloudkms"


def parse(uri: str) -> tuple[str, str | None]:
    """(crypto key resource name, version or None) of a ``gcpkms://`` reference."""
    match = _REFERENCE.fullmatch(uri)
    if match is None:
        raise InputError(
            "kms specification should be in the format gcpkms://projects/[PROJECT_ID]/"
            "locations/[LOCATION]/keyRings/[KEY_RING]/cryptoKeys/[KEY]/cryptoKeyVersions/[VERSION]",
            field="key",
        )
    project, location, ring, key, version = match.groups()
    name = f"projects/{project}/locations/{location}/keyRings/{ring}/cryptoKeys/{key}"
    return name, version


_CRC_TABLE: list[int] = []


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as Cloud KMS uses for request/response integrity."""
    if not _CRC_TABLE:
        for byte in range(256):
            crc = byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
            _CRC_TABLE.append(crc)
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _token(config: BackendConfig) -> Callable[[], str]:
    injected = config.tokens.get("gcpkms")
    if injected is not None:
        return injected
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        raise BackendUnavailable.missing_extra("gcpkms", "google-auth") from None
    try:
        credentials, _ = google.auth.default(scopes=[_SCOPE])
    except Exception as error:  # DefaultCredentialsError and friends
        raise BackendUnavailable(f"GCP credentials: {error}") from None

    def token() -> str:
        if not credentials.valid:
            credentials.refresh(  # type: ignore[no-untyped-call,unused-ignore]
                google.auth.transport.requests.Request()
            )
        return str(credentials.token)

    return token


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _fetch(uri: str, config: BackendConfig) -> tuple[JsonApi, str, Any, str]:
    name, version = parse(uri)
    api = JsonApi(config.gcp_endpoint, _token(config), timeout=config.timeout, name="GCP KMS")
    key = api.call("GET", f"/v1/{name}")
    if key.get("purpose") != "ASYMMETRIC_SIGN":
        raise InputError("specified key cannot be used to sign", field="key")
    if version is not None:
        version_name = f"{name}/cryptoKeyVersions/{version}"
    else:
        listing = api.call(
            "GET",
            f"/v1/{name}/cryptoKeyVersions",
            params={"filter": "state=ENABLED", "orderBy": "name desc"},
        )
        versions = listing.get("cryptoKeyVersions") or []
        if not isinstance(versions, list):
            raise BackendUnavailable("GCP KMS returned a malformed key version list")
        if not versions or not isinstance(versions[0], dict) or "name" not in versions[0]:
            raise InputError("unable to find an enabled key version in GCP KMS", field="key")
        version_name = str(versions[0]["name"])
    answer = api.call("GET", f"/v1/{version_name}/publicKey")
    pem = answer.get("pem")
    if not isinstance(pem, str):
        raise BackendUnavailable("GCP KMS returned no public key PEM")
    expected = _int(answer.get("pemCrc32c"))
    if expected is not None and expected != crc32c(pem.encode("utf-8")):
        raise BackendUnavailable("GCP KMS public key failed its CRC32C integrity check")
    algorithm = str(answer.get("algorithm"))
    if algorithm not in ALGORITHMS:
        raise InputError(f"unknown algorithm specified by KMS: {algorithm}", field="key")
    public = load_public_key(pem.encode("utf-8"), source=uri)
    return api, version_name, public, algorithm


def signer_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> RemoteSigner:
    """A signer for a Cloud KMS key version (the version is resolved once, at load time)."""
    api, version_name, public, algorithm = _fetch(uri, config)
    hash_name = ALGORITHMS[algorithm]

    def sign_digest(value: bytes, data: bytes) -> bytes:
        body = {
            "digest": {hash_name: base64.b64encode(value).decode("ascii")},
            "digestCrc32c": str(crc32c(value)),
        }
        answer = api.call("POST", f"/v1/{version_name}:asymmetricSign", body=body)
        if answer.get("verifiedDigestCrc32c") is not True:
            raise BackendUnavailable("GCP KMS did not verify the digest's CRC32C")
        try:
            signature = base64.b64decode(str(answer.get("signature")), validate=True)
        except ValueError:
            raise BackendUnavailable("GCP KMS returned a malformed signature") from None
        expected = _int(answer.get("signatureCrc32c"))
        if expected is None or expected != crc32c(signature):
            raise BackendUnavailable("GCP KMS signature failed its CRC32C integrity check")
        return signature

    return RemoteSigner(
        public,
        hash_name=hash_name,
        describe=f"GCP KMS key {version_name}",
        sign_digest=sign_digest,
        algorithm=algorithm,
    )


def verifier_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> KeyVerifier:
    """A verifier with the key version's public key (verification is local)."""
    _, _, public, _ = _fetch(uri, config)
    return KeyVerifier(public, source=uri)
