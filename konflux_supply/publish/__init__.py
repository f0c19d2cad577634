"""The write side, twin of :mod:`konflux_supply.verify`: sign, attest, attach, store.

::

    from konflux_supply import oci, publish, signing

    registry, ref = oci.open_registry("registry.example/team/app:v1")
    signer = signing.load_signer("cosign.key", secrets=lambda what: password)
    options = publish.PublishOptions()                         # .sig/.att tags, lossless appends
    publish.sign_image(registry, ref, signer, options=options)                 # cosign sign
    publish.attest_image(registry, ref, signer, predicate, "slsaprovenance", options=options)
    publish.attest_statement(registry, ref, statement_bytes, signer, options=options)  # Chains
    publish.attach_sbom(registry, ref, document, options=options)              # cosign attach sbom
    publish.attest_sbom(registry, ref, document, signer, options=options)      # SBOM attestation

Each returns :class:`Published` (where it went, whether it was new). :class:`RekorClient`
logs a signature or an envelope in a Rekor v1 transparency log and returns the verified entry
(``entry.cosign_bundle()`` is the ``bundle=`` annotation of ``attach_signature`` /
``attest_statement``). Nothing else in the
library joins :mod:`~konflux_supply.signing` and :mod:`~konflux_supply.oci` for writing.
"""

from __future__ import annotations

from konflux_supply.publish._rekor import (
    DEFAULT_REKOR_URL,
    RekorClient,
    check_rekor_trust,
    check_rekor_url,
)
from konflux_supply.publish._store import Published
from konflux_supply.publish.bundle import BUNDLE_ARTIFACT_TYPE, attach_bundle
from konflux_supply.publish.image import (
    attach_signature,
    attest_image,
    attest_statement,
    attestation_layer,
    image_statement,
    sign_image,
    signature_layer,
)
from konflux_supply.publish.options import PublishOptions
from konflux_supply.publish.sbom import attach_sbom, attest_sbom

__all__ = [
    "BUNDLE_ARTIFACT_TYPE",
    "DEFAULT_REKOR_URL",
    "PublishOptions",
    "Published",
    "RekorClient",
    "attach_bundle",
    "attach_sbom",
    "attach_signature",
    "attest_image",
    "attest_sbom",
    "attest_statement",
    "attestation_layer",
    "check_rekor_trust",
    "check_rekor_url",
    "image_statement",
    "sign_image",
    "signature_layer",
]
