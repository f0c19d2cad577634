"""Copy an image with its signatures, attestations, SBOM and referrers (``cosign copy``).

Between registries, or into and out of an OCI image layout for air-gapped verification.
Manifests are copied as their exact bytes (digests are preserved, so signatures stay
valid); blobs are streamed (bounded memory) and checked against their digest on the way;
blobs already at the destination are skipped, and on one registry they are mounted across
repositories. An index is copied with every child manifest (and the children's
attachments). Where the destination already has a ``.sig``/``.att`` image, the source's
layers are appended to it losslessly instead of replacing it; the ``.sbom`` is replaced.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import Descriptor, RawManifest
from konflux_supply.oci.append import AppendPolicy, append_to_tag
from konflux_supply.oci.cosign import (
    Kind,
    Layer,
    _same_layer,
    append_layer,
    resolve,
    triangulate,
)
from konflux_supply.oci.options import Limits
from konflux_supply.oci.reference import Reference
from konflux_supply.oci.referrers import list_referrers, push_referrer
from konflux_supply.oci.registry import Registry

__all__ = ["CopyOutcome", "copy_image"]


@dataclass
class CopyOutcome:
    """What was copied: the pinned source and destination, and every object written."""

    source: Reference
    destination: Reference
    manifests: list[str] = field(default_factory=list)
    blobs: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    referrers: list[str] = field(default_factory=list)


class _Copier:
    def __init__(
        self,
        src: Registry,
        src_repo: str,
        dst: Registry,
        dst_repo: str,
        limits: Limits,
        outcome: CopyOutcome,
    ) -> None:
        self.src, self.src_repo, self.dst, self.dst_repo = src, src_repo, dst, dst_repo
        self.limits = limits
        self.outcome = outcome
        self.same_host = src is dst and src_repo != dst_repo

    def blob(self, descriptor: Descriptor) -> None:
        if self.dst.has_blob(self.dst_repo, descriptor.digest):
            return
        if self.same_host and self.src.has_blob(self.src_repo, descriptor.digest):
            self.dst.upload(
                self.dst_repo,
                descriptor.digest,
                descriptor.size,
                lambda: self.src.iter_blob(self.src_repo, descriptor),
                mount_from=self.src_repo,
            )
        else:
            self.dst.upload(
                self.dst_repo,
                descriptor.digest,
                descriptor.size,
                lambda: self.src.iter_blob(self.src_repo, descriptor),
            )
        self.outcome.blobs.append(descriptor.digest)

    def fetch(self, digest: str) -> RawManifest:
        manifest = self.src.get_manifest(self.src_repo, digest)
        if manifest is None:
            raise RegistryError(f"{self.src.name}/{self.src_repo}@{digest} is listed but missing")
        return manifest

    def tree(self, manifest: RawManifest, depth: int = 0) -> None:
        """Copy everything a manifest points to (children first), then the manifest."""
        if depth > 4:
            raise RegistryError("image index nesting is too deep")
        if manifest.is_index:
            for child in manifest.index.manifests:
                self.tree(self.fetch(child.digest), depth + 1)
        else:
            doc = manifest.manifest
            for descriptor in (doc.config, *doc.layers):
                self.blob(descriptor)
        if self.dst.head_manifest(self.dst_repo, manifest.digest) is None:
            self.dst.put_manifest(self.dst_repo, manifest.digest, manifest)
            self.outcome.manifests.append(manifest.digest)

    def children(self, manifest: RawManifest) -> list[str]:
        if not manifest.is_index:
            return []
        return [child.digest for child in manifest.index.manifests]


def _put_tag(dst: Registry, repository: str, tag: str, manifest: RawManifest) -> None:
    current = dst.get_manifest(repository, tag)
    if current is None or current.digest != manifest.digest:
        dst.put_manifest(repository, tag, manifest)


class _NotEmpty(Exception):
    pass


def _claim_empty_tag(
    copier: _Copier, tag: str, manifest: RawManifest, policy: AppendPolicy
) -> bool:
    """Put ``manifest`` on ``tag`` if the tag is empty, under the append lock (a signer
    appending meanwhile must not be overwritten); ``False`` when the tag has content."""
    layers = manifest.manifest.layers

    def present(current: RawManifest | None) -> bool:
        if current is None or current.is_index:
            return False
        have = current.manifest.layers
        return all(any(_same_layer(ours, theirs) for theirs in have) for ours in layers)

    def build(current: RawManifest | None) -> RawManifest:
        if current is not None:
            raise _NotEmpty
        return manifest

    try:
        append_to_tag(copier.dst, copier.dst_repo, tag, build=build, present=present, policy=policy)
    except _NotEmpty:
        return False
    return True


def _attachments(
    copier: _Copier,
    src_subject: Reference,
    dst_subject: Reference,
    kinds: Collection[Kind],
    policy: AppendPolicy,
) -> None:
    for kind in kinds:
        src_tag = triangulate(src_subject, kind)
        manifest = copier.src.get_manifest(copier.src_repo, src_tag.tag or "")
        if manifest is None:
            continue
        copier.tree(manifest)
        dst_tag = triangulate(dst_subject, kind).tag or ""
        if kind is Kind.SBOM or manifest.is_index:
            _put_tag(copier.dst, copier.dst_repo, dst_tag, manifest)
        elif not _claim_empty_tag(copier, dst_tag, manifest, policy):
            for layer in manifest.manifest.layers:
                data = copier.src.get_blob(
                    copier.src_repo, layer, limit=copier.limits.max_attachment_bytes
                )
                append_layer(
                    copier.dst,
                    dst_subject,
                    kind,
                    Layer(layer.media_type, data, dict(layer.annotations or {})),
                    policy=policy,
                )
        copier.outcome.attachments.append(str(triangulate(dst_subject, kind)))


def _referrers(
    copier: _Copier, src_subject: Reference, dst_subject: Reference, policy: AppendPolicy
) -> None:
    listing = list_referrers(copier.src, src_subject)
    for descriptor in listing.descriptors:
        manifest = copier.fetch(descriptor.digest)
        subject = manifest.document.subject
        if subject is None or subject.digest != src_subject.digest:
            continue  # a fallback index may list stale or foreign entries: copy only true ones
        copier.tree(manifest)
        push_referrer(copier.dst, dst_subject, manifest, policy=policy)
        copier.outcome.referrers.append(manifest.digest)


def copy_image(
    src: Registry,
    source: Reference,
    dst: Registry,
    destination: Reference,
    *,
    policy: AppendPolicy,
    kinds: Iterable[Kind] = (Kind.SIGNATURE, Kind.ATTESTATION, Kind.SBOM),
    referrers: bool = True,
) -> CopyOutcome:
    """Copy ``source`` (tag or digest) to ``destination`` with its attachments.

    The destination keeps ``destination.tag``, else the source's tag, else only the
    digest. ``kinds`` chooses the cosign attachments; ``referrers`` also copies OCI 1.1
    referrers. Returns what was written; raises :class:`RegistryError` if either side
    cannot answer (a partial copy never moves a tag to incomplete content: blobs and
    manifests by digest go first, tags last).
    """
    caps = src.limits
    if destination.digest and source.digest and destination.digest != source.digest:
        raise InputError("the destination digest differs from the source's", field="destination")
    pinned, manifest = resolve(src, source)
    if destination.digest and destination.digest != manifest.digest:
        raise InputError(
            f"the destination digest differs from the source's ({manifest.digest})",
            field="destination",
        )
    tag = destination.tag or (source.tag if not destination.digest else None)
    target = destination.with_digest(manifest.digest)
    outcome = CopyOutcome(pinned, target)
    copier = _Copier(src, source.repository, dst, destination.repository, caps, outcome)
    copier.tree(manifest)
    kinds = tuple(kinds)
    for digest in [manifest.digest, *copier.children(manifest)]:
        src_subject = pinned.with_digest(digest)
        dst_subject = target.with_digest(digest)
        _attachments(copier, src_subject, dst_subject, kinds, policy)
        if referrers:
            _referrers(copier, src_subject, dst_subject, policy)
    if tag:
        _put_tag(dst, destination.repository, tag, manifest)
        outcome.destination = target.with_tag(tag).with_digest(manifest.digest)
    return outcome
