"""Image verification: signatures and attestations, cosign-compatible, fail-closed.

::

    from konflux_supply import oci, signing, verify

    registry, ref = oci.open_registry("registry.example/team/app:v1")
    image = verify.verify_signatures(registry, ref, [signing.load_verifier("cosign.pub")])
    image.reference.digest          # the digest that was verified (the tag resolved once)
    image.signatures[0].claims      # the verified simple-signing payload

``verify_*`` returns only verified data or raises: ``VerificationError`` for a definite
"no", ``RegistryError`` when the registry could not answer (never read as "unsigned").
"""

from __future__ import annotations

from konflux_supply.verify.image import (
    COSIGN_SIGN_PREDICATE,
    VerifiedAttestation,
    VerifiedImage,
    VerifiedSignature,
    VerifyOptions,
    verify_attestations,
    verify_image,
    verify_signatures,
)

__all__ = [
    "COSIGN_SIGN_PREDICATE",
    "VerifiedAttestation",
    "VerifiedImage",
    "VerifiedSignature",
    "VerifyOptions",
    "verify_attestations",
    "verify_image",
    "verify_signatures",
]
