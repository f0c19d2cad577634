"""Backend URI grammars (as sigstore's regexes), dispatch, missing extras, in-process fakes."""

from __future__ import annotations

import base64
import importlib
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import signing
from konflux_supply.errors import BackendUnavailable, InputError
from konflux_supply.signing import (
    _awskms,
    _azurekms,
    _backends,
    _gcpkms,
    _hashivault,
    _k8s,
    _pkcs11,
)

UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"awskms:///{UUID}", ("", UUID, "")),
        (f"awskms://localhost:4566/{UUID}", ("localhost:4566", UUID, "")),
        (f"awskms:///mrk-{UUID.replace('-', '')}", ("", f"mrk-{UUID.replace('-', '')}", "")),
        (
            f"awskms:///arn:aws:kms:us-east-2:111122223333:key/{UUID}",
            ("", f"arn:aws:kms:us-east-2:111122223333:key/{UUID}", ""),
        ),
        ("awskms:///alias/ExampleAlias", ("", "alias/ExampleAlias", "alias/ExampleAlias")),
        (
            "awskms://localhost:4566/arn:aws-cn:kms:cn-north-1:111122223333:alias/a",
            ("localhost:4566", "arn:aws-cn:kms:cn-north-1:111122223333:alias/a", "alias/a"),
        ),
    ],
)
def test_awskms_grammar(uri: str, expected: tuple[str, str, str]) -> None:
    parsed = _awskms.AwsKmsUri.parse(uri)
    assert (parsed.endpoint, parsed.key_id, parsed.alias) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "awskms://",
        "awskms:///",
        "awskms:///not-a-uuid",
        "awskms:///arn:aws:kms:us-east-2:1111:key/" + UUID,
        "awskms://host/extra/" + UUID,
        "awskms:///arn:aws:s3:us-east-2:111122223333:key/" + UUID,
    ],
)
def test_awskms_grammar_rejects(uri: str) -> None:
    with pytest.raises(InputError, match="awskms://"):
        _awskms.AwsKmsUri.parse(uri)


def test_gcpkms_grammar() -> None:
    base = "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"
    assert _gcpkms.parse(base) == ("projects/p/locations/l/keyRings/r/cryptoKeys/k", None)
    assert _gcpkms.parse(base + "/cryptoKeyVersions/3")[1] == "3"
    assert _gcpkms.parse(base + "/versions/4")[1] == "4"
    for bad in (base + "/", base + "/cryptoKeyVersions/", "gcpkms://projects/p/keyRings/r"):
        with pytest.raises(InputError, match="gcpkms://projects"):
            _gcpkms.parse(bad)


def test_azurekms_grammar() -> None:
    assert _azurekms.parse("azurekms://v.vault.azure.net/key") == ("v.vault.azure.net", "key", "")
    assert _azurekms.parse("azurekms://v.vault.azure.net/key/abc123")[2] == "abc123"
    for bad in ("azurekms://v.vault.azure.net", "azurekms://v/key/ABC", "azurekms://v/k/v/x"):
        with pytest.raises(InputError, match="azurekms://"):
            _azurekms.parse(bad)


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("hashivault://k", "k"),
        ("hashivault://my-key.v2", "my-key.v2"),
        ("openbao://release_1", "release_1"),
    ],
)
def test_hashivault_grammar(uri: str, name: str) -> None:
    assert _hashivault.parse(uri) == name


@pytest.mark.parametrize(
    "uri",
    ["hashivault://", "hashivault://-k", "hashivault://k-", "hashivault://a/b", "hashivault://é"],
)
def test_hashivault_grammar_rejects(uri: str) -> None:
    with pytest.raises(InputError, match="hashivault://<key>"):
        _hashivault.parse(uri)


def test_pkcs11_grammar() -> None:
    uri = _pkcs11.Pkcs11Uri.parse(
        "pkcs11:token=my%20token;slot-id=0;object=key;id=%01%02"
        "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234"
    )
    assert uri == _pkcs11.Pkcs11Uri(
        module_path="/usr/lib/softhsm/libsofthsm2.so",
        token="my token",
        slot_id=0,
        object="key",
        id=b"\x01\x02",
        pin="1234",
    )
    amp = _pkcs11.Pkcs11Uri.parse("pkcs11:token=t&id=%aa?pin-value=1;module-path=/m.so")
    assert (amp.id, amp.pin, amp.module_path) == (b"\xaa", "1", "/m.so")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("pkcs11:object=k", "one of token and slot-id"),
        ("pkcs11:token=t", "one of object and id"),
        ("pkcs11:slot-id=x;object=k", "not a valid number"),
    ],
)
def test_pkcs11_grammar_rejects(uri: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        _pkcs11.Pkcs11Uri.parse(uri)


def test_k8s_grammar() -> None:
    assert _k8s.parse("k8s://tekton-chains/signing-secrets") == ("tekton-chains", "signing-secrets")
    for bad in ("k8s://ns", "k8s://NS/x", "k8s://ns/x/y", "k8s:///x"):
        with pytest.raises(InputError, match="k8s://<namespace>/<secret>"):
            _k8s.parse(bad)


def test_registry_matches_backend_schemes() -> None:
    signing.registered_schemes()
    for scheme, target in list(_backends._BACKENDS.items()):
        module = importlib.import_module(target) if isinstance(target, str) else target
        assert scheme in module.SCHEMES


@pytest.mark.parametrize(
    ("uri", "module", "extra"),
    [
        (f"awskms:///{UUID}", "boto3", "awskms"),
        ("hashivault://k", "hvac", "hashivault"),
        ("pkcs11:token=t;object=k?module-path=/x.so", "pkcs11", "pkcs11"),
        ("k8s://ns/name", "kubernetes", "kubernetes"),
        ("gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "google", "gcpkms"),
        ("azurekms://v.vault.azure.net/k", "azure", "azurekms"),
    ],
)
def test_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, uri: str, module: str, extra: str
) -> None:
    # Hide the package and any of its submodules another test already imported.
    for name in [m for m in sys.modules if m == module or m.startswith(f"{module}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)
    config = signing.BackendConfig(vault_address="http://127.0.0.1:1")
    with pytest.raises(BackendUnavailable) as info:
        signing.load_signer(uri, secrets=lambda w: b"x", config=config)
    assert f"konflux-supply[{extra}]" in (info.value.hint or "")


class FakeKms:
    """boto3-shaped KMS client in process: records calls; ``rehash`` mimics moto's DIGEST bug."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, *, rehash: bool = False) -> None:
        self.key = key
        self.rehash = rehash
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_public_key(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("get_public_key", kwargs))
        if kwargs["KeyId"] == "alias/missing":
            error = Exception("not found")
            error.response = {"Error": {"Code": "NotFoundException"}}  # type: ignore[attr-defined]
            raise error
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {"PublicKey": der, "KeyUsage": "SIGN_VERIFY", "SigningAlgorithms": ["ECDSA_SHA_256"]}

    def sign(self, **kwargs: Any) -> dict[str, Any]:
        from cryptography.hazmat.primitives.asymmetric import utils

        self.calls.append(("sign", kwargs))
        message = kwargs["Message"]
        if self.rehash:
            signature = self.key.sign(message, ec.ECDSA(hashes.SHA256()))
        else:
            signature = self.key.sign(message, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return {"Signature": signature}


def test_awskms_sends_digest_and_catches_a_wrong_answer() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    fake = FakeKms(key)
    config = signing.BackendConfig(clients={"awskms": fake})
    signer = signing.load_signer("awskms:///alias/release", config=config)
    signature = signer.sign(b"data")
    key.public_key().verify(signature, b"data", ec.ECDSA(hashes.SHA256()))
    name, call = fake.calls[-1]
    assert name == "sign"
    assert call["MessageType"] == "DIGEST"
    assert call["SigningAlgorithm"] == "ECDSA_SHA_256"
    assert call["KeyId"] == "alias/release"
    fake.rehash = True
    with pytest.raises(BackendUnavailable, match="does not verify"):
        signer.sign(b"data")
    with pytest.raises(InputError, match="NotFoundException"):
        signing.load_signer("awskms:///alias/missing", config=config)


def test_k8s_with_an_in_process_api() -> None:
    pair = signing.generate_key_pair(b"pw", scrypt=signing.LEGACY_SCRYPT)

    class Api:
        def read_namespaced_secret(self, name: str, namespace: str) -> Any:
            if name == "denied":
                error = Exception("forbidden")
                error.status = 403  # type: ignore[attr-defined]
                raise error
            data = {
                "cosign.key": base64.b64encode(pair.private_pem).decode(),
                "cosign.pub": base64.b64encode(pair.public_pem).decode(),
                "cosign.password": base64.b64encode(b"pw").decode(),
            }
            return SimpleNamespace(data=data)

    config = signing.BackendConfig(clients={"k8s": Api()})
    signature = signing.load_signer("k8s://ns/keys", config=config).sign(b"x")
    signing.load_verifier("k8s://ns/keys", config=config).verify(signature, b"x")
    with pytest.raises(BackendUnavailable, match="HTTP 403"):
        signing.load_signer("k8s://ns/denied", config=config)


def test_crc32c_known_answer() -> None:
    # RFC 3720 B.4 test vector: 32 bytes of zeros
    assert _gcpkms.crc32c(bytes(32)) == 0x8A9136AA
    assert _gcpkms.crc32c(b"123456789") == 0xE3069283


def test_pkcs11_pin_never_appears_in_errors_or_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = "pkcs11:token=t;object=k?module-path=/m.so&pin-value=s3cr3t-PIN"
    assert "s3cr3t" not in repr(_pkcs11.Pkcs11Uri.parse(uri))

    class FakeSession:
        def close(self) -> None:
            pass

    class FakeToken:
        pkcs11 = type("pkcs11", (), {"ObjectClass": type("OC", (), {"PRIVATE_KEY": 3})})

        def __init__(self, parsed: Any, **_: Any) -> None:
            self.uri = parsed
            self.session = FakeSession()

        def find(self, _: Any) -> object:
            return object()

    weak = ec.generate_private_key(ec.SECP224R1()).public_key()  # a key cosign refuses
    monkeypatch.setattr(_pkcs11, "_Token", FakeToken)
    monkeypatch.setattr(_pkcs11, "_public_key", lambda _: weak)
    for load in (signing.load_signer, signing.load_verifier):
        with pytest.raises(InputError, match="P-224") as info:
            load(uri)
        assert "s3cr3t" not in info.value.summary()
        assert "pin-value" in info.value.summary()  # the reference is still recognisable


def _vault_answer(data: dict[str, Any]) -> Any:
    transit = SimpleNamespace(read_key=lambda **_: {"data": data})
    return {"hashivault": SimpleNamespace(secrets=SimpleNamespace(transit=transit))}


def _rest_answers(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any]) -> None:
    from konflux_supply.signing import _http

    def call(self: Any, method: str, path: str, **_: Any) -> Any:
        for suffix, answer in answers.items():
            if path.endswith(suffix):
                return answer
        raise AssertionError(path)

    monkeypatch.setattr(_http.JsonApi, "call", call)


_GCP = "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"
_GCP_KEY = "/cryptoKeys/k"
_VAULT_ED = {"type": "ed25519", "latest_version": 1, "keys": {"1": {"public_key": "!!not b64"}}}
_AZ_RSA = {"key": {"kty": "RSA", "n": "AQ", "e": "AA", "kid": "https://v/keys/k/abc"}}


@pytest.mark.parametrize(
    ("uri", "clients", "answers"),
    [
        ("hashivault://k", _vault_answer(_VAULT_ED), {}),
        ("azurekms://v.vault.azure.net/k", {}, {"/keys/k": _AZ_RSA}),
        (
            _GCP,
            {},
            {
                "/cryptoKeyVersions": {"cryptoKeyVersions": {"a": 1}},
                _GCP_KEY: {"purpose": "ASYMMETRIC_SIGN"},
            },
        ),
        (
            _GCP,
            {},
            {
                "/cryptoKeyVersions": {"cryptoKeyVersions": 5},
                _GCP_KEY: {"purpose": "ASYMMETRIC_SIGN"},
            },
        ),
    ],
    ids=[
        "vault-ed25519-not-base64",
        "azure-rsa-invalid-numbers",
        "gcp-versions-object",
        "gcp-versions-number",
    ],
)
def test_malformed_backend_answers_are_typed(
    monkeypatch: pytest.MonkeyPatch, uri: str, clients: dict[str, Any], answers: dict[str, Any]
) -> None:
    _rest_answers(monkeypatch, answers)
    config = signing.BackendConfig(
        clients=clients, tokens={"gcpkms": lambda: "t", "azurekms": lambda: "t"}
    )
    with pytest.raises((BackendUnavailable, InputError)):
        signing.load_verifier(uri, secrets=lambda _: b"token", config=config)


def test_a_connection_dropped_mid_body_is_backend_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import requests
    import urllib3

    from konflux_supply.signing import _http

    class Raw:
        def read(self, *_: Any, **__: Any) -> bytes:
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")

    monkeypatch.setattr(
        requests.Session, "request", lambda *_, **__: SimpleNamespace(raw=Raw(), status_code=200)
    )
    api = _http.JsonApi("https://kms.example", lambda: "t", timeout=1, name="KMS")
    with pytest.raises(BackendUnavailable, match="ProtocolError"):
        api.call("GET", "/v1/x")


@pytest.mark.parametrize(
    ("parse", "uri"),
    [
        (_awskms.AwsKmsUri.parse, "awskms:///alias/release"),
        (_awskms.AwsKmsUri.parse, f"awskms:///{UUID}"),
        (_hashivault.parse, "hashivault://k"),
        (_k8s.parse, "k8s://ns/keys"),
    ],
    ids=["awskms-alias", "awskms-uuid", "hashivault", "k8s"],
)
def test_uri_grammars_anchor_at_the_very_end_like_go(parse: Any, uri: str) -> None:
    # Python's "$" also matches before a final newline; Go's does not. (gcpkms/azurekms use
    # [^/]+, which matches a newline in both languages.)
    parse(uri)
    with pytest.raises(InputError):
        parse(uri + "\n")


@pytest.mark.parametrize(
    "public_key",
    [b"not der", serialization.load_der_public_key, None],
    ids=["garbage", "unknown-algorithm", "missing"],
)
def test_awskms_malformed_public_key_is_backend_unavailable(public_key: Any) -> None:
    if callable(public_key):  # an SPKI whose algorithm OID cryptography does not know
        der = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        public_key = der.replace(
            bytes.fromhex("06072a8648ce3d0201"), bytes.fromhex("06072a8648ce3d0209")
        )

    class Kms:
        def get_public_key(self, **_: Any) -> dict[str, Any]:
            return {"PublicKey": public_key, "SigningAlgorithms": ["ECDSA_SHA_256"]}

    config = signing.BackendConfig(clients={"awskms": Kms()})
    with pytest.raises((BackendUnavailable, InputError)):
        signing.load_verifier("awskms:///alias/release", config=config)


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-east-2"}, "us-east-2"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, "eu-west-1"),
        ({}, None),
    ],
)
def test_the_cli_honours_aws_region_as_the_sdks_do(
    env: dict[str, str], region: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from konflux_supply.cli._keys import backend_config

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert backend_config().aws_region == region
