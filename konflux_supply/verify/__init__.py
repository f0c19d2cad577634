"""Image verification: signatures and attestations, cosign-compatible, fail-closed.

::

    from konflux_supply import oci, signing, verify

    registry, ref = oci.open_registry("registry.example/team/app:v1")
    policy = verify.AllOf(
        verify.Keys([signing.load_verifier("cosign.pub")]),
        verify.PredicateType("slsaprovenance"),
    )
    image = verify.verify_image(registry, ref, policy)
    image.reference.digest          # the digest that was verified (the tag resolved once)
    image.signatures[0].claims      # the verified simple-signing payload

Trust is a policy object (:mod:`.policy`); :class:`VerifyOptions` says only where to look.
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
from konflux_supply.verify.policy import (
    UNSAFE_IGNORE_TLOG,
    AllOf,
    Annotations,
    Identity,
    Keys,
    Policy,
    PredicateType,
    TrustedRoot,
    UnsafeIgnoreTlog,
)

__all__ = [
    "COSIGN_SIGN_PREDICATE",
    "UNSAFE_IGNORE_TLOG",
    "AllOf",
    "Annotations",
    "Identity",
    "Keys",
    "Policy",
    "PredicateType",
    "TrustedRoot",
    "UnsafeIgnoreTlog",
    "VerifiedAttestation",
    "VerifiedImage",
    "VerifiedSignature",
    "VerifyOptions",
    "verify_attestations",
    "verify_image",
    "verify_signatures",
]
