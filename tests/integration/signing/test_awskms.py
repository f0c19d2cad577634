"""awskms:// against moto_server (DIGEST-patched, and stock to show why)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from konflux_supply import signing
from konflux_supply.cli import main
from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing import dsse

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]
DATA = b"release payload " * 50


def _kms(endpoint: str) -> Any:
    import urllib.request

    import boto3

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    return boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def kms(moto_digest: str) -> Any:
    return _kms(moto_digest)


def _config(endpoint: str) -> signing.BackendConfig:
    return signing.BackendConfig(aws_endpoint_url=endpoint, aws_region="us-east-1")


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "RSA_2048"])
def test_sign_with_digest_and_verify_three_ways(kms: Any, moto_digest: str, spec: str) -> None:
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    uri = f"awskms:///{key['KeyId']}"
    signer = signing.load_signer(uri, config=_config(moto_digest))
    signature = signer.sign(DATA)
    # 1. our verifier, from the same reference
    signing.load_verifier(uri, config=_config(moto_digest)).verify(signature, DATA)
    # 2. bare cryptography with the key KMS exports
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    algorithm = key["SigningAlgorithms"][0]
    if isinstance(public, ec.EllipticCurvePublicKey):
        chosen = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[algorithm[-3:]]
        public.verify(signature, DATA, ec.ECDSA(chosen()))
        utils.decode_dss_signature(signature)
    else:
        assert algorithm == "RSASSA_PKCS1_V1_5_SHA_256"  # moto lists algorithms sorted
        public.verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
    # 3. KMS itself, in DIGEST mode
    digest = hashlib.new("sha" + algorithm[-3:], DATA).digest()
    assert kms.verify(
        KeyId=key["KeyId"],
        Message=digest,
        MessageType="DIGEST",
        Signature=signature,
        SigningAlgorithm=algorithm,
    )["SignatureValid"]


def test_alias_and_arn_references(kms: Any, moto_digest: str) -> None:
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.create_alias(AliasName="alias/release", TargetKeyId=key["KeyId"])
    config = _config(moto_digest)
    expected = signing.load_verifier(f"awskms:///{key['KeyId']}", config=config).public_key_pem()
    for uri in (
        "awskms:///alias/release",
        f"awskms:///{key['Arn']}",
        f"awskms:///arn:aws:kms:us-east-1:{key['AWSAccountId']}:alias/release",
    ):
        signer = signing.load_signer(uri, config=config)
        assert signer.public_key_pem() == expected
        envelope = dsse.sign(DATA, signer)
        assert dsse.verify(envelope, [signing.load_verifier(expected)]) == DATA


def test_missing_key_is_an_input_error(kms: Any, moto_digest: str) -> None:
    with pytest.raises(InputError, match="NotFoundException"):
        signing.load_signer("awskms:///alias/nope", config=_config(moto_digest))


def test_stock_moto_digest_signatures_are_caught(moto_stock: str) -> None:
    """moto ignores MessageType=DIGEST; the signer's self-check refuses its answer."""
    kms = _kms(moto_stock)
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    signer = signing.load_signer(f"awskms:///{key['KeyId']}", config=_config(moto_stock))
    with pytest.raises(BackendUnavailable, match="does not verify"):
        signer.sign(DATA)
    # what moto actually signed: sha256 of the digest we sent
    digest = hashlib.sha256(DATA).digest()
    raw = kms.sign(
        KeyId=key["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    public.verify(raw, digest, ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr,call-arg]


def test_unreachable_endpoint_is_backend_unavailable() -> None:
    config = signing.BackendConfig(aws_region="us-east-1", timeout=2)
    # the endpoint in the URI means https://127.0.0.1:1 - nothing listens there
    with pytest.raises(BackendUnavailable):
        signing.load_signer(
            "awskms://127.0.0.1:1/1234abcd-12ab-34cd-56ef-1234567890ab", config=config
        )


def test_cli_public_key_and_sign_blob(
    kms: Any,
    moto_digest: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_digest)  # read by boto3 itself
    (tmp_path / "blob").write_bytes(DATA)
    uri = f"awskms:///{key['KeyId']}"
    assert main(["sign-blob", "--key", uri, str(tmp_path / "blob")]) == 0
    signature = capsys.readouterr().out.strip()
    assert main(["public-key", "--key", uri]) == 0
    (tmp_path / "kms.pub").write_text(capsys.readouterr().out)
    verify = ["verify-blob", "--key", str(tmp_path / "kms.pub"), "--signature", signature]
    assert main([*verify, str(tmp_path / "blob")]) == 0
