"""SBOMs in registries, read back: cosign's ``.sbom`` attachment (or a referrer), and the
SBOM formats an attestation ``--type`` carries.

Storing one (attach or attest) is :mod:`konflux_supply.publish`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from konflux_supply.errors import InputError, VerificationError

from ._common import PREDICATE_CYCLONEDX, PREDICATE_SPDX, SbomFormat
from ._json import ParseLimits
from ._read import Sbom, parse

if TYPE_CHECKING:
    from konflux_supply.models.oci import Descriptor
    from konflux_supply.oci import Reference, Registry

__all__ = [
    "AttachedSbom",
    "predicate",
    "read_attached",
    "read_predicate",
    "sbom_format_for",
]

#: ``cosign attest --type`` names (and predicate-type URIs) that carry an SBOM, and the
#: formats each accepts.
_PREDICATE_FORMATS: dict[str, tuple[SbomFormat, ...]] = {
    "cyclonedx": (SbomFormat.CYCLONEDX_JSON,),
    "spdxjson": (SbomFormat.SPDX_JSON,),
    "spdx": (SbomFormat.SPDX_TAG_VALUE,),
    PREDICATE_CYCLONEDX: (SbomFormat.CYCLONEDX_JSON,),
    PREDICATE_SPDX: (SbomFormat.SPDX_JSON,),
}


def sbom_format_for(predicate_type: str) -> tuple[SbomFormat, ...]:
    """The SBOM formats an attestation ``--type`` carries (empty for non-SBOM types)."""
    return _PREDICATE_FORMATS.get(predicate_type, ())


def read_predicate(
    data: bytes,
    predicate_type: str,
    *,
    source: str | None = None,
    limits: ParseLimits | None = None,
) -> Sbom | None:
    """Parse ``data`` as the SBOM an attestation of ``predicate_type`` carries.

    ``None`` when ``predicate_type`` is not an SBOM type (``custom``, ``slsaprovenance``, …);
    :class:`InputError` (with ``source`` and a JSON path) when the document does not parse,
    or is another format than the type says (``spdx`` is tag-value, ``spdxjson`` JSON).
    """
    formats = sbom_format_for(predicate_type)
    if not formats:
        return None
    document = parse(data, source=source, limits=limits)
    if document.format not in formats:
        wanted = " or ".join(f.value for f in formats)
        raise InputError(
            f"--type {predicate_type} needs {wanted}, but the predicate is {document.format.value}",
            field="type",
            source=source,
            hint=f"use --type {document.format.cosign_type}",
        )
    return document


@dataclass(frozen=True)
class AttachedSbom:
    """An SBOM read back from a registry: the exact bytes (digest-checked), where they were.

    ``image`` is the image the SBOM belongs to (pinned to its digest), ``location`` the
    ``.sbom`` tag or referrer, ``layer`` the descriptor the bytes were checked against.
    The bytes are as stored: cosign's ``.sbom`` attachments carry no signature.
    """

    image: Reference
    location: str
    media_type: str
    data: bytes
    layer: Descriptor

    def document(self, *, limits: ParseLimits | None = None) -> Sbom:
        """Parse the bytes (their media type must agree with the document)."""
        return parse(self.data, source=self.location, limits=limits, media_type=self.media_type)


def _platform_image(registry: Registry, image: Reference, platform: str) -> Reference:
    """The manifest of ``platform`` (``os/arch[/variant]``) in the index ``image``."""
    from konflux_supply import oci

    wanted = platform.split("/")
    if not 2 <= len(wanted) <= 3 or not all(wanted):
        raise InputError(f"{platform!r} is not os/arch[/variant]", field="platform")
    pinned, raw = oci.resolve(registry, image)
    if not raw.is_index:
        raise InputError(
            f"{pinned} is a single image, not an index: --platform does not apply",
            field="platform",
        )
    matches = []
    for entry in raw.index.manifests:
        found = entry.platform or {}
        parts = [found.get("os"), found.get("architecture"), found.get("variant")]
        if parts[: len(wanted)] == wanted:
            matches.append(entry.digest)
    if len(set(matches)) != 1:
        what = "no manifest" if not matches else f"{len(set(matches))} manifests"
        raise InputError(f"{what} for platform {platform} in {pinned}", field="platform")
    return pinned.with_digest(matches[0])


def _one_layer(location: str, layers: Sequence[object]) -> None:
    if len(layers) != 1:
        raise VerificationError(
            f"{location} holds {len(layers)} layers; an attached SBOM is exactly one"
        )


def read_attached(
    registry: Registry,
    image: Reference,
    *,
    repository: Reference | None = None,
    platform: str | None = None,
    referrers: bool = False,
) -> AttachedSbom:
    """``cosign download sbom``: the SBOM attached to ``image`` (a tag is resolved once).

    ``platform`` (``linux/arm64``) picks a platform manifest of an index first. The ``.sbom``
    tag is read (relocated by ``repository``, cosign's ``COSIGN_REPOSITORY``); with
    ``referrers=True`` and no such tag, the image's one cosign SBOM referrer. Raises
    :class:`VerificationError` when there is no SBOM or it is not a single layer, and
    :class:`RegistryError` when the registry cannot answer or the bytes do not match their
    digest.
    """
    from konflux_supply import oci

    caps = registry.limits
    if platform is not None:
        pinned = _platform_image(registry, image, platform)
    else:
        pinned = oci.resolve(registry, image)[0]
    found = oci.read_attachments(
        registry, pinned, oci.Kind.SBOM, repository=repository, fetch=False
    )
    if found.exists:
        location = str(found.tag)
        _one_layer(location, found.layers)
        descriptor = found.layers[0].descriptor
        data = registry.get_blob(found.tag.repository, descriptor, limit=caps.max_attachment_bytes)
        return AttachedSbom(pinned, location, descriptor.media_type, data, descriptor)
    elif referrers:
        images = oci.read_referrer_images(registry, pinned, oci.Kind.SBOM)
        if len(images) > 1:
            listed = ", ".join(i.descriptor.digest for i in images)
            raise VerificationError(
                f"{pinned} has {len(images)} SBOM referrers ({listed}): which one is current "
                "cannot be told"
            )
        if not images:
            raise VerificationError(f"no SBOM attached to {pinned}")
        if images[0].error is not None:
            raise images[0].error
        location = f"{pinned.name}@{images[0].descriptor.digest}"
        _one_layer(location, images[0].layers)
        layer = images[0].layers[0]
    else:
        raise VerificationError(f"no SBOM attached to {pinned}")
    if layer.error is not None:
        raise layer.error
    assert layer.data is not None
    return AttachedSbom(pinned, location, layer.descriptor.media_type, layer.data, layer.descriptor)


def predicate(document: Sbom) -> tuple[str, Any]:
    """``(predicateType, predicate)`` for an in-toto attestation of ``document``.

    As ``cosign attest --type cyclonedx|spdxjson|spdx`` writes them: CycloneDX and SPDX JSON as
    an object, SPDX tag-value as a string. The reverse is :func:`parse_predicate`.
    """
    return document.predicate_type, document.predicate()
