"""Store an SBOM for an image: attached as cosign's ``.sbom``, or attested (signed predicate).

The document is a parsed :class:`konflux_supply.sbom.Sbom`, so a malformed, oversized or
mislabelled SBOM never reaches a registry (ADR 0045); its exact bytes are what is stored.
"""

from __future__ import annotations

import datetime

from konflux_supply.errors import InputError
from konflux_supply.oci import Kind, Layer, Reference, Registry
from konflux_supply.publish._store import Published, resolved, store
from konflux_supply.publish.image import attest_image
from konflux_supply.publish.options import PublishOptions
from konflux_supply.sbom import Sbom, SbomFormat
from konflux_supply.signing import Signer

__all__ = ["attach_sbom", "attest_sbom"]


def _stored_bytes(document: Sbom) -> bytes:
    if document.format is SbomFormat.SPDX_TAG_VALUE and document.raw is None:
        raise InputError("an SPDX tag-value document can only be stored as the text it was read")
    return document.to_bytes()


def attach_sbom(
    registry: Registry,
    subject: Reference,
    document: Sbom,
    *,
    options: PublishOptions | None = None,
) -> Published:
    """``cosign attach sbom``: store the document's exact bytes as the image's ``.sbom``
    (replacing any previous one), with the media type of its format; a tag is resolved once.
    With ``options.referrers`` it becomes an OCI 1.1 referrer instead."""
    opts = options or PublishOptions()
    layer = Layer(document.media_type, _stored_bytes(document))
    pinned = resolved(registry, subject, require=opts.require_image)
    return store(registry, pinned, Kind.SBOM, layer, opts)


def attest_sbom(
    registry: Registry,
    subject: Reference,
    document: Sbom,
    signer: Signer,
    *,
    options: PublishOptions | None = None,
    now: datetime.datetime | None = None,
) -> Published:
    """``cosign attest --type cyclonedx|spdxjson|spdx``: sign an in-toto statement whose
    predicate is the document and store it in the image's ``.att`` (or as a referrer)."""
    return attest_image(
        registry,
        subject,
        signer,
        _stored_bytes(document),
        document.format.cosign_type,
        options=options,
        now=now,
    )
