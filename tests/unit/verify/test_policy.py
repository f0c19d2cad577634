"""Trust policies: what is an error at construction, and that each part binds verification."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import signing
from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.oci import (
    Layer,
    Limits,
    Reference,
    SizeLimitExceeded,
)
from konflux_supply.oci._layout import LayoutRegistry
from konflux_supply.oci.cosign import build_signature_image
from konflux_supply.oci.options import RegistryOptions
from konflux_supply.publish import PublishOptions, attest_image, sign_image
from konflux_supply.signing.bundle import TrustedRoot
from konflux_supply.verify import (
    UNSAFE_IGNORE_TLOG,
    AllOf,
    Annotations,
    Identity,
    Keys,
    PredicateType,
    VerifyOptions,
    verify_attestations,
    verify_image,
    verify_signatures,
)
from konflux_supply.verify.policy import trust_of
from tests.unit.oci.memory import MemoryRegistry

KEY = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
PUB = signing.verifier_from_pem(KEY.public_key_pem())
LOG_KEY = ec.generate_private_key(ec.SECP256R1()).public_key()


def _root() -> TrustedRoot:
    from cryptography.hazmat.primitives import serialization

    der = LOG_KEY.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    doc = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            {
                "baseUrl": "https://log.example",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": base64.b64encode(der).decode(),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": base64.b64encode(b"\x01" * 32).decode()},
            }
        ],
    }
    return TrustedRoot.from_json(json.dumps(doc).encode())


def _image(registry: MemoryRegistry, name: str = "a") -> Reference:
    layer = Layer("application/vnd.oci.image.layer.v1.tar", name.encode())
    registry.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    registry.put_blob("", config)
    registry.put_manifest("", name, manifest)
    return Reference("registry.example", "team/app", tag=name, digest=manifest.digest)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: AllOf(), "policy"),
        (lambda: Keys([]), "key"),
        (lambda: Keys([PUB], transparency_log="yes"), "transparency_log"),  # type: ignore[arg-type]
        (lambda: Identity(_root(), issuer="https://issuer"), "subject"),
        (lambda: Identity(_root(), subject="a", subject_regexp="a", issuer="i"), "subject"),
        (lambda: Identity(_root(), subject="a"), "issuer"),
        (lambda: Identity(_root(), subject="", issuer="i"), "subject"),
        (lambda: Identity(_root(), subject_regexp="(", issuer="i"), "subject_regexp"),
        (lambda: Identity(None, subject="a", issuer="i"), "trusted_root"),  # type: ignore[arg-type]
        (lambda: Annotations({"a": 1}), "annotations"),  # type: ignore[dict-item]
        (lambda: PredicateType(""), "type"),
    ],
)
def test_a_malformed_policy_is_bad_input(make: object, field: str) -> None:
    with pytest.raises(InputError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.field == field


@pytest.mark.parametrize(
    "policy",
    [
        AllOf(Annotations({"a": "b"})),
        AllOf(Keys([PUB]), Keys([PUB])),
        AllOf(Keys([PUB]), PredicateType("custom"), PredicateType("slsaprovenance")),
        AllOf(Keys([PUB]), Annotations({"a": "b"}), Annotations({"a": "c"})),
        "cosign.pub",
    ],
)
def test_a_policy_must_say_whose_signatures_count_once(policy: object) -> None:
    with pytest.raises(InputError):
        trust_of(policy)  # type: ignore[arg-type]


def test_nested_all_of_flattens_and_a_key_list_is_keys() -> None:
    trust = trust_of(AllOf(AllOf(Keys([PUB]), Annotations({"a": "b"})), PredicateType("spdx")))
    assert isinstance(trust.signer, Keys)
    assert trust.annotations == {"a": "b"}
    assert trust.predicate_type is not None
    assert trust.predicate_type.uri == "https://spdx.dev/Document"
    listed = trust_of([PUB]).signer
    assert isinstance(listed, Keys)
    assert listed.verifiers == (PUB,)


def test_one_policy_binds_signatures_and_attestations() -> None:
    registry = MemoryRegistry()
    image = _image(registry)
    sign_image(registry, image, KEY, annotations={"env": "prod"})
    attest_image(registry, image, KEY, b'{"buildType":"x"}', "slsaprovenance")
    policy = AllOf(Keys([PUB]), Annotations({"env": "prod"}), PredicateType("slsaprovenance"))
    verified = verify_image(registry, image, policy)
    assert len(verified.signatures) == 1
    assert [a.predicate_type for a in verified.attestations] == ["https://slsa.dev/provenance/v0.2"]
    with pytest.raises(VerificationError, match="annotation env=dev"):
        verify_image(registry, image, AllOf(Keys([PUB]), Annotations({"env": "dev"})))
    with pytest.raises(VerificationError, match="predicate type"):
        verify_attestations(registry, image, AllOf(Keys([PUB]), PredicateType("cyclonedx")))


def test_reading_bundles_without_a_log_choice_is_bad_input_before_any_read() -> None:
    registry = MemoryRegistry(referrers_api=True)
    image = _image(registry)
    sign_image(registry, image, KEY)
    with pytest.raises(KonfluxSupplyError) as caught:
        verify_signatures(registry, image, [PUB], options=VerifyOptions(bundles=True))
    assert caught.value.exit_code == 2
    keys = Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG)
    assert verify_signatures(registry, image, keys, options=VerifyOptions(bundles=True))


def test_keyless_trust_refuses_a_key_signed_layer() -> None:
    """An Identity policy never lets a key-based ``.sig`` layer through (fail closed)."""
    registry = MemoryRegistry()
    image = _image(registry)
    sign_image(registry, image, KEY)
    identity = Identity(_root(), subject_regexp="^.*$", issuer_regexp="^.*$")
    with pytest.raises(VerificationError, match="keyless trust"):
        verify_signatures(registry, image, identity)


def test_the_registry_owns_the_limits(tmp_path: object) -> None:
    """One owner: caps set on RegistryOptions reach verification (no second knob)."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "layout"
    caps = RegistryOptions(limits=Limits(max_signatures=1))
    writer = LayoutRegistry(path)
    subject = Reference("", str(path), digest=None, layout=True)
    layer = Layer("application/vnd.oci.image.layer.v1.tar", b"x")
    writer.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    writer.put_blob("", config)
    writer.put_manifest("", "v1", manifest)
    subject = subject.with_digest(manifest.digest)
    for n in range(2):
        sign_image(writer, subject, KEY, annotations={"n": str(n)}, identity="r.example/a")
    assert len(verify_signatures(writer, subject, [PUB]).signatures) == 2
    with pytest.raises(SizeLimitExceeded, match="more than the limit of 1"):
        verify_signatures(LayoutRegistry(path, caps), subject, [PUB])
    assert PublishOptions().referrers is False
