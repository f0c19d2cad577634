"""What may verify for an image, as one type: tag layers, referrer layers, Sigstore bundles.

Candidates are accepted on their content, never on descriptor metadata; each carries the
error that stands in for it when it could not be read (never "unsigned"). :class:`Outcomes`
records why each one failed and decides between "no" (exit 1) and "no answer" (exit 3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from konflux_supply.errors import (
    BackendUnavailable,
    InputError,
    KonfluxSupplyError,
    RegistryError,
    VerificationError,
)
from konflux_supply.models.oci import Descriptor
from konflux_supply.oci import (
    Kind,
    Reference,
    Registry,
    SizeLimitExceeded,
    read_attachments,
    read_bundles,
    read_referrer_images,
)

__all__ = ["Candidate", "Outcomes", "candidates"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Candidate:
    """One signature, attestation or bundle that may verify.

    ``source`` is ``tag`` (a ``.sig``/``.att`` layer), ``referrer`` (a layer of a cosign
    ``oci-1-1`` referrer) or ``bundle`` (a Sigstore bundle referrer); ``label`` names it in
    messages. ``descriptor`` is the layer (a bundle's manifest layer), ``data`` its bytes,
    ``annotations`` the layer's. ``error``, when set, is why it could not be read: it stands
    in for the candidate. ``artifact`` is, for bundles, the image manifest they are about.
    """

    label: str
    source: str
    descriptor: Descriptor | None
    data: bytes | None
    annotations: Mapping[str, str] = field(default_factory=dict)
    error: KonfluxSupplyError | None = None
    artifact: bytes | None = None


class Outcomes:
    """Why each candidate failed; decides between "no" (1) and "no answer" (3)."""

    def __init__(self, what: str, reference: Reference) -> None:
        self.what = what
        self.reference = reference
        self.rejected: list[str] = []
        self.unavailable: list[KonfluxSupplyError] = []
        self.count = 0

    def run(self, label: str, check: Callable[[], _T]) -> _T | None:
        """Run one candidate's check: its result, or ``None`` with the reason recorded."""
        self.count += 1
        try:
            return check()
        except (VerificationError, InputError) as error:
            self.rejected.append(f"{label}: {error.summary()}")
        except (RegistryError, BackendUnavailable) as error:
            self.unavailable.append(error)
            self.rejected.append(f"{label}: {error.summary()}")
        return None

    def fail(self) -> KonfluxSupplyError:
        """The error to raise when nothing verified."""
        if self.unavailable:
            first = self.unavailable[0]
            error: KonfluxSupplyError
            message = (
                f"could not verify {self.what} of {self.reference}: "
                f"{len(self.unavailable)} of {self.count} could not be read or checked "
                f"({first.summary()})"
            )
            if isinstance(first, BackendUnavailable):
                error = BackendUnavailable(message, hint=first.hint)
            else:
                error = RegistryError(message, hint="retry; this is not a verdict")
            return error
        if not self.count:
            return VerificationError(f"no {self.what} found for {self.reference}")
        return VerificationError(f"no matching {self.what}: " + "; ".join(self.rejected))


def _referrers_at(image: Reference, repository: Reference | None) -> Reference:
    """Where referrers of ``image`` are listed: the ``repository`` override, as they are
    written (``attach`` pushes them there too)."""
    if repository is None:
        return image
    return repository.with_digest(image.digest or "")


def candidates(
    registry: Registry,
    image: Reference,
    kind: Kind,
    *,
    repository: Reference | None,
    referrers: bool,
    bundles: bool,
) -> Iterator[Candidate]:
    """Every candidate of ``kind`` for ``image`` (pinned): the tag's layers, then cosign
    referrers (``referrers``), then Sigstore bundles (``bundles``). A listing that cannot be
    read raises :class:`RegistryError`; a candidate that cannot be read carries its error."""
    caps = registry.limits
    attachments = read_attachments(
        registry, image, kind, repository=repository, max_count=caps.max_signatures
    )
    expected = "a signature" if kind is Kind.SIGNATURE else "a DSSE envelope"
    for skipped in attachments.skipped:
        error = VerificationError(f"media type {skipped.media_type} is not {expected}")
        yield Candidate(f"layer {skipped.digest}", "tag", skipped, None, error=error)
    for layer in attachments.layers:
        label = f"layer {layer.descriptor.digest}"
        yield Candidate(label, "tag", layer.descriptor, layer.data, layer.annotations, layer.error)
    at = _referrers_at(image, repository)
    if referrers:
        try:
            found_images = read_referrer_images(registry, at, kind, max_count=caps.max_signatures)
        except SizeLimitExceeded:
            raise  # more than the caps allow: refused outright, as for the tag's layers
        except RegistryError as error:
            # Not "unsigned" and not fatal: a tag signature may still verify; if none does,
            # this unread listing makes it "no verdict" (exit 3).
            yield Candidate(f"referrers of {at}", "referrer", None, None, error=error)
            found_images = []
        for found in found_images:
            label = f"referrer {found.descriptor.digest}"
            if found.error is not None:
                yield Candidate(label, "referrer", found.descriptor, None, error=found.error)
            for layer in found.layers:
                yield Candidate(
                    label, "referrer", layer.descriptor, layer.data, layer.annotations, layer.error
                )
    if not bundles:
        return
    manifest = registry.get_manifest(image.repository, image.digest or "")
    if manifest is None:
        raise InputError(f"image not found: {image}", field="image")
    for bundle in read_bundles(registry, at):
        layers = bundle.manifest.manifest.layers if bundle.manifest is not None else []
        yield Candidate(
            f"bundle {bundle.descriptor.digest}",
            "bundle",
            layers[0] if layers else None,
            bundle.data,
            error=bundle.error,
            artifact=manifest.data,
        )
