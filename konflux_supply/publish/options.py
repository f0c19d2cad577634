"""Where and how the write side stores what it signs: one frozen :class:`PublishOptions`."""

from __future__ import annotations

from dataclasses import dataclass, field

from konflux_supply.oci import AppendPolicy, Reference

__all__ = ["PublishOptions"]


@dataclass(frozen=True)
class PublishOptions:
    """Where to store, and how to write; the twin of :class:`konflux_supply.verify.VerifyOptions`.

    * ``policy`` — how concurrent appends stay lossless (a lock domain and a settle interval,
      :class:`~konflux_supply.oci.AppendPolicy`).
    * ``repository`` — where attachments live instead of the image's repository (cosign's
      ``COSIGN_REPOSITORY``); it must be on the image's registry.
    * ``referrers`` — store each attachment as an OCI 1.1 referrer (cosign's
      ``--registry-referrers-mode=oci-1-1``) instead of under the ``sha256-<hex>.<kind>`` tag.
    * ``docker_media_types`` — write Docker v2s2 media types for a new attachment image
      (cosign's ``COSIGN_DOCKER_MEDIA_TYPES=1``).
    * ``require_image`` — the image must exist, by digest too (one GET first): a digest the
      registry does not hold is :class:`~konflux_supply.errors.InputError` "image not
      found" and nothing is written (ADR 0079). ``False`` stores for a digest without
      reading it, as Tekton Chains and cosign do (``ociremote.SignedUnknown``) for the images
      a run names; a referrer still needs its subject's manifest.

    Size caps are the registry's own (:attr:`konflux_supply.oci.RegistryOptions.limits`).
    """

    policy: AppendPolicy = field(default_factory=AppendPolicy)
    repository: Reference | None = None
    referrers: bool = False
    docker_media_types: bool = False
    require_image: bool = True
