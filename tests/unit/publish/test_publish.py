"""The write side: a statement made elsewhere is stored in one call, checked first."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import signing
from konflux_supply.errors import InputError
from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Layer,
    Reference,
    ThreadLocks,
    read_attachments,
)
from konflux_supply.oci.cosign import build_signature_image
from konflux_supply.publish import PublishOptions, attest_statement
from konflux_supply.verify import AllOf, Keys, PredicateType, verify_attestations
from tests.unit.oci.memory import MemoryRegistry

KEY = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
PUB = signing.verifier_from_pem(KEY.public_key_pem())
OPTIONS = PublishOptions(policy=AppendPolicy(lock=ThreadLocks()))
PROVENANCE = "https://slsa.dev/provenance/v1"


def _image(registry: MemoryRegistry, name: str) -> Reference:
    layer = Layer("application/vnd.oci.image.layer.v1.tar", name.encode())
    registry.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    registry.put_blob("", config)
    registry.put_manifest("", name, manifest)
    return Reference("registry.example", "team/app", tag=name, digest=manifest.digest)


def _statement(image: Reference, predicate_type: str = PROVENANCE) -> bytes:
    hexpart = (image.digest or "").split(":")[1]
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": image.name, "digest": {"sha256": hexpart}}],
            "predicateType": predicate_type,
            "predicate": {"buildDefinition": {}},
        }
    ).encode()


@pytest.mark.parametrize("signed", [False, True])
def test_a_statement_or_envelope_is_stored_and_verifies(signed: bool) -> None:
    registry = MemoryRegistry()
    image = _image(registry, "a")
    statement = _statement(image)
    what = signing.dsse.sign(statement, KEY) if signed else statement
    published = attest_statement(registry, image, what, None if signed else KEY, options=OPTIONS)
    assert published.location.endswith(".att")
    assert published.written
    layer = read_attachments(registry, image, Kind.ATTESTATION).layers[0]
    assert layer.annotations["predicateType"] == PROVENANCE
    policy = AllOf(Keys([PUB]), PredicateType(PROVENANCE))
    verified = verify_attestations(registry, image, policy)
    assert verified.attestations[0].statement == statement


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda other, image: _statement(other), "no subject of the statement"),
        (lambda other, image: b"[1]", "not a JSON object"),
        (lambda other, image: b"{", "not JSON"),
        (lambda other, image: _statement(image).replace(b'"predicateType"', b'"x"'), "predicate"),
        (
            lambda other, image: signing.dsse.sign(_statement(image), KEY, "text/plain"),
            "payloadType",
        ),
        (lambda other, image: "text", "bytes or an Envelope"),
    ],
)
def test_a_wrong_statement_is_refused_before_anything_is_written(
    make: object, message: str
) -> None:
    registry = MemoryRegistry()
    image = _image(registry, "a")
    other = _image(registry, "b")
    before = dict(registry.manifests)
    with pytest.raises(InputError, match=message):
        attest_statement(registry, image, make(other, image), KEY)  # type: ignore[operator]
    assert registry.manifests == before


def test_an_unsigned_statement_needs_a_signer() -> None:
    registry = MemoryRegistry()
    image = _image(registry, "a")
    with pytest.raises(InputError, match="needs a signer"):
        attest_statement(registry, image, _statement(image))


@pytest.mark.parametrize("what", ["sign", "attest", "statement", "sbom"])
def test_a_digest_the_registry_does_not_hold_is_refused_and_nothing_is_written(
    what: str,
) -> None:
    from konflux_supply.publish import attach_sbom, attest_image, sign_image
    from konflux_supply.sbom import parse

    registry = MemoryRegistry()
    ghost = Reference("registry.example", "ghost/app", digest="sha256:" + "0" * 64)
    document = parse(b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}')
    calls = {
        "sign": lambda: sign_image(registry, ghost, KEY, options=OPTIONS),
        "attest": lambda: attest_image(
            registry, ghost, KEY, b"{}", "slsaprovenance", options=OPTIONS
        ),
        "statement": lambda: attest_statement(
            registry, ghost, _statement(ghost), KEY, options=OPTIONS
        ),
        "sbom": lambda: attach_sbom(registry, ghost, document, options=OPTIONS),
    }
    with pytest.raises(InputError, match="image not found"):
        calls[what]()
    assert registry.list_tags("") == []


def test_verifying_a_digest_the_registry_does_not_hold_is_not_a_pass() -> None:
    registry = MemoryRegistry()
    ghost = Reference("registry.example", "ghost/app", digest="sha256:" + "0" * 64)
    with pytest.raises(InputError, match="image not found"):
        verify_attestations(registry, ghost, AllOf(Keys([PUB]), PredicateType(PROVENANCE)))
