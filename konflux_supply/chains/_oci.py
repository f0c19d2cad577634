"""The ``oci`` storage backend: look before writing, then store through :mod:`publish`.

Before anything is signed or pushed, the image's ``.sig``/``.att`` image (or its Sigstore
bundle referrers, in ``sigstore-bundle`` mode) is read; when it already holds our payload with
a signature that verifies under our key, that signature is reused and nothing is written. A
re-run is therefore idempotent and a retry pushes only what is missing.
"""

from __future__ import annotations

import base64
import binascii
import datetime

from konflux_supply import publish
from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.models.canonical import dumps_compact
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope
from konflux_supply.oci import (
    Kind,
    Reference,
    Registry,
    parse_reference,
    read_attachments,
    read_bundles,
)
from konflux_supply.oci.cosign import BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION, SIMPLE_SIGNING
from konflux_supply.signing import Signer, Verifier, dsse

__all__ = ["COSIGN_SIGN_PREDICATE", "OciStore", "describe", "image_reference"]

COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


def image_reference(name: str, digest: str) -> Reference:
    """``name@digest`` as a reference, or :class:`InputError` (Chains' ``name.NewDigest``)."""
    if not digest.startswith("sha256:"):
        raise InputError(f"{name} has no sha256 digest", field="subject.digest")
    ref = parse_reference(f"{name}@{digest}")
    if ref.layout:
        raise InputError(f"{name} is not a registry image name", field="subject.name")
    return ref


def _verifies(verifier: Verifier, signature: bytes, data: bytes) -> bool:
    try:
        verifier.verify(signature, data)
    except (VerificationError, InputError):
        return False
    return True


def _envelope_holds(envelope: Envelope, payload: bytes, verifier: Verifier) -> bool:
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE or envelope.payload_bytes != payload:
        return False
    try:
        dsse.verify(envelope, [verifier], payload_type=IN_TOTO_PAYLOAD_TYPE)
    except (VerificationError, InputError):
        return False
    return True


class OciStore:
    """Chains' ``oci`` backend for one configuration: where attachments go and how."""

    def __init__(
        self,
        options: publish.PublishOptions,
        *,
        bundles: bool = False,
        now: datetime.datetime | None = None,
    ) -> None:
        self.options = options
        self.bundles = bundles
        self.now = now

    # -- reading what is there -------------------------------------------------------------

    def signature_layers(
        self, registry: Registry, image: Reference, payload: bytes, verifier: Verifier
    ) -> list[tuple[bytes, str | None]]:
        """The ``.sig`` layers holding ``payload`` with a signature by our key: each
        signature, with the layer's Rekor bundle annotation (``None`` when absent)."""
        found = read_attachments(
            registry, image, Kind.SIGNATURE, repository=self.options.repository
        )
        out: list[tuple[bytes, str | None]] = []
        for layer in found.layers:
            if layer.descriptor.media_type != SIMPLE_SIGNING or layer.data != payload:
                continue
            encoded = layer.annotations.get(SIGNATURE_ANNOTATION, "")
            try:
                signature = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                continue
            if signature and _verifies(verifier, signature, payload):
                out.append((signature, layer.annotations.get(BUNDLE_ANNOTATION)))
        return out

    def find_signature(
        self, registry: Registry, image: Reference, payload: bytes, verifier: Verifier
    ) -> tuple[bool, bytes | None]:
        """Whether ``image`` already holds its signature by our key, and (``.sig`` mode) that
        signature over ``payload``, to be reused for the other backends."""
        if self.bundles:
            statement = self._sign_statement(image)
            return self._find_bundle(registry, image, statement, verifier) is not None, None
        layers = self.signature_layers(registry, image, payload, verifier)
        return (True, layers[0][0]) if layers else (False, None)

    def envelope_layers(
        self, registry: Registry, image: Reference, payload: bytes, verifier: Verifier
    ) -> list[tuple[Envelope, str | None]]:
        """The ``.att`` layers holding a DSSE envelope of ``payload`` by our key, each with
        the layer's Rekor bundle annotation (``None`` when absent)."""
        found = read_attachments(
            registry, image, Kind.ATTESTATION, repository=self.options.repository
        )
        out: list[tuple[Envelope, str | None]] = []
        for layer in found.layers:
            if layer.data is None:
                continue
            try:
                envelope = dsse.parse(layer.data)
            except InputError:
                continue
            if _envelope_holds(envelope, payload, verifier):
                out.append((envelope, layer.annotations.get(BUNDLE_ANNOTATION)))
        return out

    def find_envelope(
        self, registry: Registry, image: Reference, payload: bytes, verifier: Verifier
    ) -> Envelope | None:
        """A DSSE envelope of ``payload`` by our key already stored for ``image``."""
        if self.bundles:
            return self._find_bundle(registry, image, payload, verifier)
        layers = self.envelope_layers(registry, image, payload, verifier)
        return layers[0][0] if layers else None

    def _find_bundle(
        self, registry: Registry, image: Reference, payload: bytes, verifier: Verifier
    ) -> Envelope | None:
        for item in read_bundles(registry, image):
            content = (item.bundle or {}).get("dsseEnvelope")
            if not isinstance(content, dict):
                continue
            try:
                envelope = dsse.parse(content)
            except InputError:
                continue
            if _envelope_holds(envelope, payload, verifier):
                return envelope
        return None

    # -- writing ---------------------------------------------------------------------------

    def store_signature(
        self,
        registry: Registry,
        image: Reference,
        payload: bytes,
        signature: bytes,
        signer: Signer,
        *,
        bundle: str | None = None,
    ) -> str:
        """Store an image signature (``bundle``: its Rekor bundle annotation); returns where
        it went."""
        if self.bundles:
            statement = self._sign_statement(image)
            envelope = dsse.sign(statement, signer, IN_TOTO_PAYLOAD_TYPE)
            return self._push_bundle(registry, image, envelope, signer)
        published = publish.attach_signature(
            registry,
            image,
            payload,
            signature,
            options=self.options,
            certificate=b"",
            chain=b"",
            bundle=bundle,
        )
        return published.location

    def store_envelope(
        self,
        registry: Registry,
        image: Reference,
        envelope: Envelope,
        signer: Signer,
        *,
        bundle: str | None = None,
    ) -> str:
        """Store a signed statement about ``image`` (``bundle``: its Rekor bundle annotation);
        returns where it went."""
        if self.bundles:
            return self._push_bundle(registry, image, envelope, signer)
        published = publish.attest_statement(
            registry, image, envelope, options=self.options, bundle=bundle
        )
        return published.location

    def _push_bundle(
        self, registry: Registry, image: Reference, envelope: Envelope, signer: Signer
    ) -> str:
        published = publish.attach_bundle(
            registry, image, envelope, signer, options=self.options, now=self.now
        )
        return published.location

    def _sign_statement(self, image: Reference) -> bytes:
        """cosign v3's image-signature statement: a ``sign/v1`` predicate about the digest.

        Chains' ``sigstore-bundle`` mode wraps the simple-signing payload in a DSSE whose
        signature is not over the PAE (reference/chains.md §3.5); we write what cosign v3 and
        our verifier read instead.
        """
        algorithm, hexpart = (image.digest or "").split(":", 1)
        return dumps_compact(
            {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": image.name, "digest": {algorithm: hexpart}}],
                "predicateType": COSIGN_SIGN_PREDICATE,
                "predicate": {},
            }
        )


def describe(error: KonfluxSupplyError) -> str:
    """One line for a status: the error's kind and summary."""
    return f"{error.kind}: {error.summary()}"
