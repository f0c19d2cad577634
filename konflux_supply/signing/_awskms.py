"""``awskms://`` keys through boto3 (extra ``awskms``).

Grammar exactly as sigstore's ``kms/aws`` (endpoint optional)::

    awskms://[ENDPOINT]/<key-id uuid>            awskms:///1234abcd-12ab-34cd-56ef-1234567890ab
    awskms://[ENDPOINT]/arn:aws:kms:<region>:<account>:key/<uuid>
    awskms://[ENDPOINT]/alias/<name>             awskms://localhost:4566/alias/release
    awskms://[ENDPOINT]/arn:aws:kms:<region>:<account>:alias/<name>

An endpoint in the URI means ``https://<endpoint>``; :attr:`BackendConfig.aws_endpoint_url`
overrides it (e.g. ``http://127.0.0.1:5555`` for moto_server). Credentials and the default
region come from boto3's usual chain.

As cosign does, the signing algorithm is the **first** of the key's ``SigningAlgorithms`` and
the message is sent as a digest (``MessageType=DIGEST``). moto_server does not implement
DIGEST (it signs ``sha256(digest)``): our signer notices, because every KMS signature is
verified against the key before it is returned (see ``_remote``). The integration tests run
moto_server with a DIGEST patch (docs/adr/0024).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing._keys import KeyVerifier, check_key
from konflux_supply.signing._remote import RemoteSigner

if TYPE_CHECKING:
    from konflux_supply.signing._protocols import BackendConfig, SecretsCallback

SCHEMES = ("awskms",)

_UUID = r"m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}"
_ARN = r"arn:(?:aws|aws-us-gov|aws-cn):kms:[a-z0-9-]+:\d{12}:"
_HOST = r"([^/]*)/"
_PATTERNS = [
    re.compile(r"^awskms://" + _HOST + "(" + _UUID + ")$"),
    re.compile(r"^awskms://" + _HOST + "(" + _ARN + "key/" + _UUID + ")$"),
    re.compile(r"^awskms://" + _HOST + "((alias/.*))$"),
    re.compile(r"^awskms://" + _HOST + "(" + _ARN + "(alias/.*))$"),
]
# cosign's AWS client handles ECDSA and RSA (PKCS#1 v1.5 or PSS) keys only.
_SIGNING_ALGORITHM = re.compile(r"(?:ECDSA|RSASSA_PSS|RSASSA_PKCS1_V1_5)_SHA_(256|384|512)")


@dataclass(frozen=True)
class AwsKmsUri:
    """A parsed ``awskms://`` reference."""

    endpoint: str
    key_id: str
    alias: str

    @classmethod
    def parse(cls, uri: str) -> AwsKmsUri:
        """Parse with sigstore's regular expressions."""
        for pattern in _PATTERNS:
            match = pattern.fullmatch(uri)
            if match:
                groups = match.groups()
                return cls(groups[0], groups[1], groups[2] if len(groups) > 2 else "")
        raise InputError(
            "kms specification should be in the format "
            "awskms://[ENDPOINT]/[ID/ALIAS/ARN] (endpoint optional)",
            field="key",
        )

    @property
    def region(self) -> str | None:
        """The region named in an ARN, if any."""
        if self.key_id.startswith("arn:"):
            return self.key_id.split(":")[3]
        return None


def _client(uri: AwsKmsUri, config: BackendConfig) -> Any:
    injected = config.clients.get("awskms")
    if injected is not None:
        return injected
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise BackendUnavailable.missing_extra("awskms", "boto3") from None
    from botocore.exceptions import NoRegionError

    endpoint = config.aws_endpoint_url or (f"https://{uri.endpoint}" if uri.endpoint else None)
    try:
        return boto3.client(
            "kms",
            region_name=config.aws_region or uri.region,
            endpoint_url=endpoint,
            config=Config(
                connect_timeout=config.timeout,
                read_timeout=config.timeout,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
    except NoRegionError:
        raise InputError(
            f"AWS KMS key {uri.key_id} needs a region: the URI names none",
            field="key",
            hint="use a key ARN, or set AWS_REGION (or AWS_DEFAULT_REGION)",
        ) from None


def _call(describe: str, method: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = method(**kwargs)
        return result
    except Exception as error:  # botocore raises many unrelated exception types
        code = ""
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
        if code in ("NotFoundException", "ValidationException", "InvalidKeyUsageException"):
            raise InputError(f"{describe}: {code}: {error}", field="key") from None
        raise BackendUnavailable(f"{describe}: {type(error).__name__}: {error}") from None


def _key(uri: str, config: BackendConfig) -> tuple[Any, AwsKmsUri, Any, list[str]]:
    parsed = AwsKmsUri.parse(uri)
    client = _client(parsed, config)
    answer = _call(
        f"AWS KMS GetPublicKey {parsed.key_id}", client.get_public_key, KeyId=parsed.key_id
    )
    if answer.get("KeyUsage", "SIGN_VERIFY") != "SIGN_VERIFY":
        raise InputError(f"AWS KMS key {parsed.key_id} is not a SIGN_VERIFY key", field="key")
    try:
        public = serialization.load_der_public_key(bytes(answer["PublicKey"]))
    except (KeyError, ValueError, TypeError, UnsupportedAlgorithm):
        raise BackendUnavailable("AWS KMS returned a malformed public key") from None
    check_key(public, source=uri)
    algorithms = [str(a) for a in answer.get("SigningAlgorithms") or []]
    return client, parsed, public, algorithms


def signer_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> RemoteSigner:
    """A signer for an ``awskms://`` reference (one GetPublicKey now, one Sign per call)."""
    client, parsed, public, algorithms = _key(uri, config)
    if not algorithms:
        raise InputError(f"AWS KMS key {parsed.key_id} has no signing algorithms", field="key")
    algorithm = algorithms[0]
    match = _SIGNING_ALGORITHM.fullmatch(algorithm)
    hash_name = match.group(1) if match else ""
    if not hash_name:
        raise InputError(f"unsupported AWS KMS signing algorithm {algorithm}", field="key")

    def sign_digest(value: bytes, data: bytes) -> bytes:
        answer = _call(
            f"AWS KMS Sign {parsed.key_id}",
            client.sign,
            KeyId=parsed.key_id,
            Message=value,
            MessageType="DIGEST",
            SigningAlgorithm=algorithm,
        )
        return bytes(answer.get("Signature") or b"")

    return RemoteSigner(
        public,
        hash_name="sha" + hash_name,
        describe=f"AWS KMS key {parsed.key_id}",
        sign_digest=sign_digest,
        algorithm=algorithm,
    )


def verifier_from_uri(
    uri: str, *, secrets: SecretsCallback | None, config: BackendConfig
) -> KeyVerifier:
    """A verifier with the KMS key's public key (verification is local)."""
    _, _, public, _ = _key(uri, config)
    return KeyVerifier(public, source=uri)
