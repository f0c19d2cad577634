"""publish.attach_signature (cosign attach signature) and publish.attach_bundle."""

from __future__ import annotations

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
    read_bundles,
)
from konflux_supply.oci.cosign import build_signature_image
from konflux_supply.publish import PublishOptions, attach_bundle, attach_signature
from konflux_supply.signing import dsse
from konflux_supply.verify import UNSAFE_IGNORE_TLOG, Keys, VerifyOptions, verify_signatures
from tests.unit.oci.memory import MemoryRegistry

KEY = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
OPTIONS = PublishOptions(policy=AppendPolicy(lock=ThreadLocks()))


def _image(registry: MemoryRegistry) -> Reference:
    layer = Layer("application/vnd.oci.image.layer.v1.tar", b"app")
    registry.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    registry.put_blob("", config)
    registry.put_manifest("", "v1", manifest)
    return Reference("registry.example", "team/app", tag="v1", digest=manifest.digest)


def test_attach_signature_stores_what_was_signed_elsewhere() -> None:
    registry = MemoryRegistry()
    image = _image(registry)
    payload = signing.simple_signing.payload(image.name, image.digest or "")
    signature = KEY.sign(payload)
    first = attach_signature(registry, image, payload, signature, options=OPTIONS, certificate=b"")
    again = attach_signature(registry, image, payload, signature, options=OPTIONS, certificate=b"")
    assert first.written
    assert not again.written
    [layer] = read_attachments(registry, image, Kind.SIGNATURE).layers
    assert layer.annotations["dev.sigstore.cosign/certificate"] == ""
    verified = verify_signatures(
        registry, image, Keys([signing.verifier_from_pem(KEY.public_key_pem())])
    )
    assert verified.signatures[0].payload == payload


@pytest.mark.parametrize(
    ("case", "field"),
    [("other image", "payload"), ("no signature", "signature"), ("not a payload", "critical")],
)
def test_attach_signature_refuses_bad_input(case: str, field: str) -> None:
    registry = MemoryRegistry()
    image = _image(registry)
    payload = signing.simple_signing.payload(image.name, image.digest or "")
    signature = b"sig"
    if case == "other image":
        payload = signing.simple_signing.payload(image.name, "sha256:" + "0" * 64)
    elif case == "no signature":
        signature = b""
    else:
        payload = b"{}"
    with pytest.raises(InputError) as caught:
        attach_signature(registry, image, payload, signature, options=OPTIONS)
    assert caught.value.field == field
    assert read_attachments(registry, image, Kind.SIGNATURE).manifest is None


def test_attach_bundle_writes_a_referrer_that_verifies() -> None:
    registry = MemoryRegistry()
    image = _image(registry)
    statement = (
        b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example/team/app",'
        b'"digest":{"sha256":"' + (image.digest or "")[7:].encode() + b'"}}],'
        b'"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}'
    )
    envelope = dsse.sign(statement, KEY)
    published = attach_bundle(registry, image, envelope, KEY, options=OPTIONS)
    assert published.written
    [found] = read_bundles(registry, image)
    assert found.predicate_type == "https://sigstore.dev/cosign/sign/v1"
    policy = Keys(
        [signing.verifier_from_pem(KEY.public_key_pem())], transparency_log=UNSAFE_IGNORE_TLOG
    )
    assert verify_signatures(
        registry, image, policy, options=VerifyOptions(bundles=True)
    ).signatures
