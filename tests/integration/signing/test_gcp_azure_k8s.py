"""gcpkms:// and azurekms:// (REST, loopback fakes); k8s:// (kubernetes client, fake API)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from konflux_supply import signing
from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing import dsse
from konflux_supply.signing._gcpkms import crc32c

from ._fakes import FakeAzureKeyVault, FakeGcpKms, FakeKubernetes, p256, rsa2048

pytestmark = pytest.mark.integration
DATA = b"statement bytes"
KEY = "projects/p1/locations/global/keyRings/ring/cryptoKeys/release"


def _gcp(fake: FakeGcpKms) -> signing.BackendConfig:
    return signing.BackendConfig(gcp_endpoint=fake.url, tokens={"gcpkms": lambda: fake.token})


def test_gcp_sign_with_explicit_version(fake_gcp: FakeGcpKms) -> None:
    key = p256()
    fake_gcp.keys[KEY] = {"purpose": "ASYMMETRIC_SIGN", "versions": {"1": key}}
    signer = signing.load_signer(f"gcpkms://{KEY}/cryptoKeyVersions/1", config=_gcp(fake_gcp))
    signature = signer.sign(DATA)
    key.public_key().verify(signature, DATA, ec.ECDSA(hashes.SHA256()))
    get_key, get_public, sign = fake_gcp.requests[-3:]
    assert (get_key.method, get_key.path) == ("GET", f"/v1/{KEY}")
    assert get_public.path == f"/v1/{KEY}/cryptoKeyVersions/1/publicKey"
    assert (sign.method, sign.path) == ("POST", f"/v1/{KEY}/cryptoKeyVersions/1:asymmetricSign")
    digest = hashlib.sha256(DATA).digest()
    assert sign.body == {
        "digest": {"sha256": base64.b64encode(digest).decode()},
        "digestCrc32c": str(crc32c(digest)),
    }
    assert sign.headers["authorization"] == f"Bearer {fake_gcp.token}"


def test_gcp_latest_enabled_version_and_versions_alias(fake_gcp: FakeGcpKms) -> None:
    old, new = p256(), rsa2048()
    fake_gcp.keys[KEY] = {"purpose": "ASYMMETRIC_SIGN", "versions": {"1": old, "2": new}}
    signer = signing.load_signer(f"gcpkms://{KEY}", config=_gcp(fake_gcp))
    listing = fake_gcp.requests[1]
    assert listing.path == f"/v1/{KEY}/cryptoKeyVersions"
    assert listing.query == {"filter": ["state=ENABLED"], "orderBy": ["name desc"]}
    signature = signer.sign(DATA)
    new.public_key().verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())
    verifier = signing.load_verifier(f"gcpkms://{KEY}/versions/1", config=_gcp(fake_gcp))
    assert verifier.public_key_pem() == signing.public_key_pem(old)


def test_gcp_failures(fake_gcp: FakeGcpKms) -> None:
    fake_gcp.keys[KEY] = {"purpose": "ENCRYPT_DECRYPT", "versions": {"1": p256()}}
    with pytest.raises(InputError, match="cannot be used to sign"):
        signing.load_signer(f"gcpkms://{KEY}", config=_gcp(fake_gcp))
    fake_gcp.keys[KEY]["purpose"] = "ASYMMETRIC_SIGN"
    with pytest.raises(InputError, match="HTTP 404"):
        signing.load_signer(f"gcpkms://{KEY}/cryptoKeyVersions/9", config=_gcp(fake_gcp))
    fake_gcp.corrupt_crc = True
    signer = signing.load_signer(f"gcpkms://{KEY}/versions/1", config=_gcp(fake_gcp))
    with pytest.raises(BackendUnavailable, match="CRC32C"):
        signer.sign(DATA)
    bad = signing.BackendConfig(gcp_endpoint=fake_gcp.url, tokens={"gcpkms": lambda: "wrong"})
    with pytest.raises(BackendUnavailable, match="HTTP 401"):
        signing.load_signer(f"gcpkms://{KEY}", config=bad)


def _azure(fake: FakeAzureKeyVault) -> signing.BackendConfig:
    return signing.BackendConfig(azure_vault_url=fake.url, tokens={"azurekms": lambda: fake.token})


@pytest.mark.parametrize(
    ("curve", "alg"), [(ec.SECP256R1, "ES256"), (ec.SECP384R1, "ES384"), (ec.SECP521R1, "ES512")]
)
def test_azure_ec_keys(fake_azure: FakeAzureKeyVault, curve: Any, alg: str) -> None:
    key = ec.generate_private_key(curve())
    fake_azure.keys["release"] = {"0a1b2c": p256(), "9f8e7d": key}
    signer = signing.load_signer(
        "azurekms://fake.vault.azure.net/release", config=_azure(fake_azure)
    )
    signature = signer.sign(DATA)  # JWS r||s from the vault, DER from us
    hash_type = {"ES256": hashes.SHA256, "ES384": hashes.SHA384, "ES512": hashes.SHA512}[alg]
    key.public_key().verify(signature, DATA, ec.ECDSA(hash_type()))
    get, sign = fake_azure.requests[-2:]
    assert (get.method, get.path, get.query) == ("GET", "/keys/release", {"api-version": ["7.4"]})
    assert (sign.method, sign.path) == ("POST", "/keys/release/9f8e7d/sign")
    assert sign.body["alg"] == alg
    value = sign.body["value"]
    assert "=" not in value
    assert (
        base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        == hashlib.new(hash_type.name, DATA).digest()
    )


def test_azure_rsa_pinned_version_and_errors(fake_azure: FakeAzureKeyVault) -> None:
    key = rsa2048()
    fake_azure.keys["rsa"] = {"v1": key}
    signer = signing.load_signer(
        "azurekms://fake.vault.azure.net/rsa/v1", config=_azure(fake_azure)
    )
    key.public_key().verify(signer.sign(DATA), DATA, padding.PKCS1v15(), hashes.SHA256())
    assert fake_azure.requests[-1].body["alg"] == "RS256"
    with pytest.raises(InputError, match="HTTP 404"):
        signing.load_signer("azurekms://fake.vault.azure.net/nope", config=_azure(fake_azure))
    bad = signing.BackendConfig(azure_vault_url=fake_azure.url, tokens={"azurekms": lambda: "x"})
    with pytest.raises(BackendUnavailable, match="HTTP 401"):
        signing.load_verifier("azurekms://fake.vault.azure.net/rsa", config=bad)


def _core_api(fake: FakeKubernetes) -> Any:
    import kubernetes

    configuration = kubernetes.client.Configuration()
    configuration.host = fake.url
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))


def test_k8s_secret_keys(fake_kubernetes: FakeKubernetes) -> None:
    pair = signing.generate_key_pair(b"in-secret", scrypt=signing.LEGACY_SCRYPT)
    fake_kubernetes.secrets[("tekton-chains", "signing-secrets")] = {
        "cosign.key": pair.private_pem,
        "cosign.pub": pair.public_pem,
        "cosign.password": b"in-secret",
    }
    config = signing.BackendConfig(clients={"k8s": _core_api(fake_kubernetes)})
    uri = "k8s://tekton-chains/signing-secrets"
    envelope = dsse.sign(DATA, signing.load_signer(uri, config=config))
    assert dsse.verify(envelope, [signing.load_verifier(uri, config=config)]) == DATA
    assert (
        fake_kubernetes.requests[-1].path
        == "/api/v1/namespaces/tekton-chains/secrets/signing-secrets"
    )
    with pytest.raises(InputError, match="not found"):
        signing.load_signer("k8s://tekton-chains/missing", config=config)
    # without cosign.password in the Secret, the secrets callback is asked
    fake_kubernetes.secrets[("ns", "nopw")] = {"cosign.key": pair.private_pem}
    signing.load_signer("k8s://ns/nopw", secrets=lambda w: b"in-secret", config=config)
    with pytest.raises(InputError, match=r"has no cosign\.pub"):
        signing.load_verifier("k8s://ns/nopw", config=config)
