"""Image verification on in-memory registries: what passes, what fails, and how."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import signing
from konflux_supply.errors import KonfluxSupplyError, RegistryError, VerificationError
from konflux_supply.models.oci import Descriptor
from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Layer,
    Limits,
    Reference,
    SizeLimitExceeded,
    ThreadLocks,
    append_layer,
    read_attachments,
    triangulate,
)
from konflux_supply.oci.cosign import (
    DSSE_ENVELOPE,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    build_signature_image,
)
from konflux_supply.oci.referrers import SIGSTORE_BUNDLE_V03, push_referrer
from konflux_supply.publish import (
    PublishOptions,
    attest_image,
    attestation_layer,
    image_statement,
    sign_image,
    signature_layer,
)
from konflux_supply.signing.bundle import UNSAFE_IGNORE_TLOG, dsse_bundle
from konflux_supply.verify import (
    COSIGN_SIGN_PREDICATE,
    AllOf,
    Annotations,
    Keys,
    PredicateType,
    VerifyOptions,
    verify_attestations,
    verify_image,
    verify_signatures,
)
from tests.unit.oci.memory import MemoryRegistry

POLICY = AppendPolicy(lock=ThreadLocks())
KEY = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
OTHER = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
PUB = signing.verifier_from_pem(KEY.public_key_pem())
OTHER_PUB = signing.verifier_from_pem(OTHER.public_key_pem())


def new_image(registry: MemoryRegistry, name: str) -> Reference:
    layer = Layer("application/vnd.oci.image.layer.v1.tar", name.encode())
    registry.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    registry.put_blob("", config)
    registry.put_manifest("", name, manifest)
    return Reference("registry.example", "team/app", tag=name, digest=manifest.digest)


def test_sign_then_verify_with_annotations() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "a")
    sign_image(
        registry,
        image,
        KEY,
        options=PublishOptions(policy=POLICY),
        annotations={"env": "prod", "n": "1"},
    )
    verified = verify_signatures(registry, image, AllOf(Keys([PUB]), Annotations({"env": "prod"})))
    assert verified.digest == image.digest
    (signature,) = verified.signatures
    assert signature.claims.docker_reference == "registry.example/team/app"
    assert signature.claims.optional == {"env": "prod", "n": "1"}
    assert json.loads(verified.cosign_output()) == [
        {
            "critical": {
                "identity": {"docker-reference": "registry.example/team/app"},
                "image": {"docker-manifest-digest": image.digest},
                "type": "cosign container image signature",
            },
            "optional": {"env": "prod", "n": "1"},
        }
    ]
    with pytest.raises(VerificationError, match="annotation env=dev"):
        verify_signatures(registry, image, AllOf(Keys([PUB]), Annotations({"env": "dev"})))


def test_tags_resolve_once_to_the_digest() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "tagged")
    sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY))
    by_tag = Reference("registry.example", "team/app", tag="tagged")
    assert verify_signatures(registry, by_tag, [PUB]).reference.digest == image.digest


def test_re_signing_with_the_same_key_adds_nothing() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "dedupe")
    first = sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY))
    again = sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY))
    assert first.written
    assert not again.written
    sign_image(registry, image, OTHER, options=PublishOptions(policy=POLICY))
    read = read_attachments(registry, image, Kind.SIGNATURE)
    assert len(read.layers) == 2
    assert len(verify_signatures(registry, image, [PUB, OTHER_PUB]).signatures) == 2


def _tamper(registry: MemoryRegistry, image: Reference, layer: Layer) -> None:
    append_layer(registry, image, Kind.SIGNATURE, layer, policy=POLICY)


def _copied_from_other_image(registry: MemoryRegistry, image: Reference) -> Layer:
    other = new_image(registry, "other")
    return signature_layer(other, KEY)


NEGATIVE: list[tuple[str, Callable[[MemoryRegistry, Reference], Layer | None], str]] = [
    ("unsigned", lambda r, i: None, "no signatures found"),
    ("copied from image A", _copied_from_other_image, "the payload is for sha256:"),
    ("wrong key", lambda r, i: signature_layer(i, OTHER), "does not verify"),
    (
        "not base64",
        lambda r, i: Layer(
            SIMPLE_SIGNING, signature_layer(i, KEY).data, {SIGNATURE_ANNOTATION: "%%"}
        ),
        "not base64",
    ),
    (
        "no annotation",
        lambda r, i: Layer(SIMPLE_SIGNING, signature_layer(i, KEY).data, {}),
        "no dev.cosignproject.cosign/signature",
    ),
    (
        "empty signature",
        lambda r, i: Layer(
            SIMPLE_SIGNING, signature_layer(i, KEY).data, {SIGNATURE_ANNOTATION: ""}
        ),
        "empty",
    ),
    (
        "signed payload swapped",
        lambda r, i: Layer(
            SIMPLE_SIGNING,
            signature_layer(i, KEY).data.replace(b"null", b'{"x":"y"}'),
            dict(signature_layer(i, KEY).annotations),
        ),
        "does not verify",
    ),
    (
        "not simple signing",
        lambda r, i: Layer(
            SIMPLE_SIGNING,
            b'{"hello":1}',
            {SIGNATURE_ANNOTATION: base64.b64encode(KEY.sign(b'{"hello":1}')).decode()},
        ),
        "not a simple-signing payload",
    ),
    (
        "wrong media type",
        lambda r, i: Layer("application/octet-stream", b"x", {SIGNATURE_ANNOTATION: "eA=="}),
        "is not a signature",
    ),
]


@pytest.mark.parametrize(("case", "make", "message"), NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_signatures_that_must_not_pass(
    case: str, make: Callable[[MemoryRegistry, Reference], Layer | None], message: str
) -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "victim")
    layer = make(registry, image)
    if layer is not None:
        _tamper(registry, image, layer)
    with pytest.raises(VerificationError, match=message) as caught:
        verify_signatures(registry, image, [PUB])
    assert caught.value.exit_code == 1


class Unreadable(MemoryRegistry):
    """Blobs cannot be fetched (the registry keeps failing)."""

    def __init__(self, broken: set[str]) -> None:
        super().__init__()
        self.broken = broken

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        if descriptor.digest in self.broken:
            raise RegistryError("GET blob: HTTP 503 (gave up after 5 attempts)")
        return super().get_blob(repository, descriptor, limit=limit)


def test_registry_errors_are_never_unsigned() -> None:
    good = signature_layer(
        Reference("registry.example", "team/app", digest="sha256:" + "0" * 64), KEY
    )
    registry = Unreadable(set())
    image = new_image(registry, "flaky")
    sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY))
    read = read_attachments(registry, image, Kind.SIGNATURE)
    registry.broken = {read.layers[0].descriptor.digest}
    with pytest.raises(RegistryError, match="could not verify signatures") as caught:
        verify_signatures(registry, image, [PUB])
    assert caught.value.exit_code == 3
    # A wrongly signed layer beside an unreadable one is still "no answer", not "no".
    _tamper(registry, image, good)
    with pytest.raises(RegistryError):
        verify_signatures(registry, image, [PUB])
    # One readable valid signature is enough, as in cosign.
    registry.broken = set()
    assert len(verify_signatures(registry, image, [PUB]).signatures) == 1


def test_tag_read_failure_propagates() -> None:
    class Down(MemoryRegistry):
        def get_manifest(self, repository: str, reference: str):  # type: ignore[no-untyped-def]
            if reference.endswith(".sig"):
                raise RegistryError("GET manifest: HTTP 500 (gave up after 5 attempts)")
            return super().get_manifest(repository, reference)

    registry = Down()
    image = new_image(registry, "down")
    with pytest.raises(RegistryError, match="HTTP 500"):
        verify_signatures(registry, image, [PUB])


def test_too_many_signatures() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "many")
    for n in range(4):
        sign_image(
            registry, image, KEY, options=PublishOptions(policy=POLICY), annotations={"n": str(n)}
        )
    registry.limits = Limits(max_signatures=3)
    with pytest.raises(SizeLimitExceeded, match="more than the limit of 3"):
        verify_signatures(registry, image, [PUB])


def test_attest_then_verify_attestation_by_type() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "att")
    attest_image(registry, image, KEY, b"hello", "custom", options=PublishOptions(policy=POLICY))
    attest_image(
        registry,
        image,
        KEY,
        b'{"buildType":"x"}',
        "slsaprovenance",
        options=PublishOptions(policy=POLICY),
    )
    custom = verify_attestations(registry, image, AllOf(Keys([PUB]), PredicateType("custom")))
    assert [a.predicate_type for a in custom.attestations] == [
        "https://cosign.sigstore.dev/attestation/v1"
    ]
    assert custom.attestations[0].statement_json()["predicate"]["Data"] == "hello"
    slsa = verify_attestations(registry, image, AllOf(Keys([PUB]), PredicateType("slsaprovenance")))
    assert slsa.attestations[0].predicate_type == "https://slsa.dev/provenance/v0.2"
    assert len(verify_attestations(registry, image, [PUB]).attestations) == 2
    with pytest.raises(
        VerificationError, match="none of the attestations matched the predicate type: openvex"
    ):
        verify_attestations(registry, image, AllOf(Keys([PUB]), PredicateType("openvex")))
    layer = read_attachments(registry, image, Kind.ATTESTATION).layers[0]
    assert layer.annotations == {
        SIGNATURE_ANNOTATION: "",
        "predicateType": "https://cosign.sigstore.dev/attestation/v1",
    }


def test_chains_layers_without_predicate_type_annotation_are_read() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "chains")
    statement = image_statement(image, b'{"builder":{"id":"x"}}', "slsaprovenance")
    envelope = signing.dsse.sign(statement, KEY, keyid=None)
    append_layer(
        registry,
        image,
        Kind.ATTESTATION,
        Layer(DSSE_ENVELOPE, envelope.to_json(), {SIGNATURE_ANNOTATION: ""}),
        policy=POLICY,
    )
    verified = verify_attestations(
        registry, image, AllOf(Keys([PUB]), PredicateType("slsaprovenance"))
    )
    assert verified.attestations[0].envelope == envelope.to_json()


def _att(
    image: Reference,
    statement: bytes,
    signer: signing.Signer = KEY,
    payload_type: str = "application/vnd.in-toto+json",
) -> Layer:
    return attestation_layer(signing.dsse.sign(statement, signer, payload_type), "x")


def _statement(subjects: object) -> bytes:
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": subjects,
            "predicateType": "https://cosign.sigstore.dev/attestation/v1",
            "predicate": {},
        }
    ).encode()


ATT_NEGATIVE: list[tuple[str, Callable[[MemoryRegistry, Reference], Layer], str]] = [
    ("other image", lambda r, i: _att(i, image_statement(new_image(r, "b"), b"x")), "no subject"),
    ("wrong key", lambda r, i: _att(i, image_statement(i, b"x"), OTHER), "none of the 1 signature"),
    (
        "payload type",
        lambda r, i: _att(i, image_statement(i, b"x"), payload_type="text/plain"),
        "payloadType",
    ),
    ("null subject", lambda r, i: _att(i, _statement([None])), "no subject"),
    ("empty digest", lambda r, i: _att(i, _statement([{"name": "x", "digest": {}}])), "no subject"),
    ("no subjects", lambda r, i: _att(i, _statement([])), "no subjects"),
    ("not json", lambda r, i: _att(i, b"\xff\xfe"), "not JSON"),
    ("not an envelope", lambda r, i: Layer(DSSE_ENVELOPE, b"[]", {}), "not a DSSE envelope"),
]


@pytest.mark.parametrize(
    ("case", "make", "message"), ATT_NEGATIVE, ids=[n[0] for n in ATT_NEGATIVE]
)
def test_attestations_that_must_not_pass(
    case: str, make: Callable[[MemoryRegistry, Reference], Layer], message: str
) -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "victim")
    append_layer(registry, image, Kind.ATTESTATION, make(registry, image), policy=POLICY)
    with pytest.raises(VerificationError, match=message):
        verify_attestations(registry, image, [PUB])


def test_verify_image_needs_both() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "both")
    sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY))
    with pytest.raises(VerificationError, match="no attestations found"):
        verify_image(registry, image, [PUB])
    attest_image(registry, image, KEY, b"x", options=PublishOptions(policy=POLICY))
    verified = verify_image(registry, image, [PUB])
    assert len(verified.signatures) == 1
    assert len(verified.attestations) == 1


def _bundle(
    registry: MemoryRegistry,
    image: Reference,
    predicate_type: str,
    annotations: dict[str, str] | None = None,
) -> None:
    hexpart = (image.digest or "").split(":")[1]
    subject: dict[str, object] = {"digest": {"sha256": hexpart}}
    if annotations:
        subject["annotations"] = annotations
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [subject],
            "predicateType": predicate_type,
            "predicate": {},
        }
    ).encode()
    envelope = signing.dsse.sign(statement, KEY)
    data = dsse_bundle(envelope, KEY)
    registry.put_blob("", data)
    manifest = registry.get_manifest("", image.digest or "")
    assert manifest is not None
    referrer, config = build_signature_image(
        [Layer(SIGSTORE_BUNDLE_V03, data).descriptor()],
        config_media_type="application/vnd.oci.empty.v1+json",
        subject=Descriptor(
            media_type=manifest.media_type, size=len(manifest.data), digest=manifest.digest
        ),
        artifact_type=SIGSTORE_BUNDLE_V03,
    )
    registry.put_blob("", config)
    push_referrer(registry, image, referrer, policy=POLICY)


def test_sigstore_bundle_referrers() -> None:
    registry = MemoryRegistry(referrers_api=True)
    image = new_image(registry, "bundled")
    _bundle(registry, image, COSIGN_SIGN_PREDICATE, {"env": "prod"})
    _bundle(registry, image, "https://slsa.dev/provenance/v1")
    options = VerifyOptions(bundles=True)
    with pytest.raises(VerificationError, match="no signatures found"):
        verify_signatures(registry, image, [PUB])  # bundles are opt-in
    verified = verify_signatures(
        registry,
        image,
        AllOf(Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG), Annotations({"env": "prod"})),
        options=options,
    )
    assert [s.source for s in verified.signatures] == ["bundle"]
    attested = verify_attestations(
        registry,
        image,
        AllOf(Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG), PredicateType("slsaprovenance1")),
        options=options,
    )
    assert attested.attestations[0].source == "bundle"
    # The bundle's DSSE envelope (with its signature), not the bare statement.
    envelope = json.loads(attested.attestations[0].envelope)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert [bool(s["sig"]) for s in envelope["signatures"]] == [True]
    with pytest.raises(VerificationError):
        verify_signatures(
            registry, image, Keys([OTHER_PUB], transparency_log=UNSAFE_IGNORE_TLOG), options=options
        )


def test_referrer_images_are_verified_too() -> None:
    registry = MemoryRegistry(referrers_api=True)
    image = new_image(registry, "refsig")
    sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY, referrers=True))
    assert registry.get_manifest("", triangulate(image, Kind.SIGNATURE).tag or "") is None
    verified = verify_signatures(registry, image, [PUB], options=VerifyOptions(referrers=True))
    assert [s.source for s in verified.signatures] == ["referrer"]


def test_no_keys_is_bad_input() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "nokeys")
    with pytest.raises(KonfluxSupplyError) as caught:
        verify_signatures(registry, image, [])
    assert caught.value.exit_code == 2
