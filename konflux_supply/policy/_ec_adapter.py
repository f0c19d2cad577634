"""Every call the ``ec.*`` builtins make into :mod:`konflux_supply.oci`, ``verify`` and
``signing``, in one thin module so that a change of their public face is adapted here only.

Errors pass through unchanged: :class:`RegistryError` when a registry could not answer,
:class:`InputError` for a malformed reference or key, :class:`VerificationError` for a "no".
Nothing here memoises or records: that is the context's job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from konflux_supply import oci, signing, verify
from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.dsse import Envelope
from konflux_supply.models.oci import Descriptor, RawManifest, is_digest
from konflux_supply.oci import Reference, RegistryOptions, RegistryPool
from konflux_supply.oci.cosign import SIGNATURE_ANNOTATION
from konflux_supply.oci.referrers import list_referrers
from konflux_supply.signing.bundle import UNSAFE_IGNORE_TLOG, TrustedRoot

__all__ = [
    "TAG_SUFFIXES",
    "Pool",
    "Reference",
    "Trust",
    "blob_size",
    "get_blob",
    "get_manifest",
    "head_manifest",
    "is_pem",
    "iter_blob",
    "new_pool",
    "parse_reference",
    "referrers",
    "tag_reference",
    "verified_attestations",
    "verified_signatures",
]

Pool = RegistryPool
#: cosign's tag suffixes, in the order ``ec.oci.image_tag_refs`` lists them.
TAG_SUFFIXES = ("sig", "att", "sbom")


def new_pool(options: RegistryOptions) -> Pool:
    """Registries opened on demand, one connection pool per host (thread-safe)."""
    return RegistryPool(options)


def parse_reference(text: str) -> Reference:
    """An image reference (tag or digest) as go-containerregistry parses it.

    OCI layout directories (``oci:DIR``) are refused: a policy must not read local files.
    """
    ref = oci.parse_reference(text)
    if ref.layout:
        raise InputError("an OCI layout is not a registry reference", field="ref")
    return ref


def get_manifest(pool: Pool, ref: Reference) -> RawManifest | None:
    """The manifest or index at a tag or digest (digest-checked), ``None`` if absent."""
    registry, _ = pool.open(ref)
    return registry.get_manifest(ref.repository, ref.digest or ref.tag or "")


def head_manifest(pool: Pool, ref: Reference) -> Descriptor | None:
    """The descriptor the registry reports for a manifest, ``None`` if absent."""
    registry, _ = pool.open(ref)
    return registry.head_manifest(ref.repository, ref.digest or ref.tag or "")


def blob_size(pool: Pool, ref: Reference) -> int | None:
    """The size of the blob ``ref.digest`` (HEAD), ``None`` if the registry has no such blob.

    The registry protocol reads blobs through a descriptor (size included); a bare blob
    reference has none, so its size is asked for first. The protocol has no "stat blob"
    yet, so this uses the HTTP registry's request helper: the one private reach into
    ``oci`` (replace it when ``oci`` grows a public blob HEAD).
    """
    registry, _ = pool.open(ref)
    digest = ref.digest or ""
    call = getattr(registry, "_call", None)
    if call is not None:  # the HTTP registry
        response, _ = call(
            "HEAD",
            f"/v2/{ref.repository}/blobs/{digest}",
            scope=f"repository:{ref.repository}:pull",
            missing_ok=True,
            what=f"HEAD blob {ref.repository}@{digest}",
        )
        if response.status_code == 404:
            return None
        length = response.headers.get("Content-Length", "")
        if not length.isdigit():
            raise RegistryError("HEAD blob answered without a size", url=response.url)
        return int(length)
    raise RegistryError(f"{registry.name}: cannot learn the size of blob {digest}")


def _descriptor(digest: str, size: int) -> Descriptor:
    return Descriptor(media_type="application/octet-stream", size=size, digest=digest)


def get_blob(pool: Pool, ref: Reference, digest: str, size: int, *, limit: int) -> bytes:
    """A whole blob of ``ref``'s repository, capped and digest-checked."""
    registry, _ = pool.open(ref)
    return registry.get_blob(ref.repository, _descriptor(digest, size), limit=limit)


def iter_blob(pool: Pool, ref: Reference, digest: str, size: int) -> Iterator[bytes]:
    """Stream a blob; raises before its last chunk if the size or digest is wrong."""
    registry, _ = pool.open(ref)
    return registry.iter_blob(ref.repository, _descriptor(digest, size))


def referrers(pool: Pool, ref: Reference) -> list[dict[str, Any]]:
    """Referrer descriptors of a digest reference (referrers API, else the fallback tag)."""
    registry, _ = pool.open(ref)
    found = list_referrers(registry, ref)
    return [d.to_obj() for d in found.descriptors]


def tag_reference(ref: Reference, suffix: str) -> Reference:
    """cosign's ``sha256-<hex>.<suffix>`` tag for a digest reference."""
    return oci.triangulate(ref, oci.Kind(suffix))


def is_pem(text: str) -> bool:
    """Whether ``text`` is inline PEM (not a key reference)."""
    return text.lstrip().startswith("-----BEGIN ")


@dataclass(frozen=True)
class Trust:
    """What to trust besides the key: a Sigstore trusted root for bundles' log entries, or
    none (``ignore_tlog``: bundles are read without their log entries; otherwise bundles are
    not read at all)."""

    trusted_root: bytes | None = None
    ignore_tlog: bool = False
    referrers: bool = True


def _options(trust: Trust) -> verify.VerifyOptions:
    bundles = trust.trusted_root is not None or trust.ignore_tlog
    return verify.VerifyOptions(referrers=trust.referrers, bundles=bundles)


def _keys(public_key_pem: bytes, trust: Trust) -> verify.Keys:
    """The key to trust, with the transparency-log choice for Sigstore bundles."""
    log: TrustedRoot | Any | None = None
    if trust.trusted_root is not None:
        log = TrustedRoot.from_json(trust.trusted_root, source="trusted_root")
    elif trust.ignore_tlog:
        log = UNSAFE_IGNORE_TLOG
    verifier = signing.verifier_from_pem(public_key_pem, source="public_key")
    return verify.Keys([verifier], transparency_log=log)


def _signature_entry(keyid: str, signature: str) -> dict[str, Any]:
    # Conforma's shape for a key-based signature: no certificate, chain or metadata.
    return {"keyid": keyid, "signature": signature, "certificate": "", "chain": [], "metadata": {}}


def verified_signatures(
    pool: Pool, ref: Reference, public_key_pem: bytes, trust: Trust
) -> list[dict[str, Any]]:
    """``cosign verify --key`` of a digest reference: the verified signatures, or raise."""
    if not ref.digest or not is_digest(ref.digest):
        raise InputError(f"{ref} is not a digest reference", field="ref")
    registry, _ = pool.open(ref)
    image = verify.verify_signatures(
        registry, ref, _keys(public_key_pem, trust), options=_options(trust)
    )
    return [
        _signature_entry("", (s.layer.annotations or {}).get(SIGNATURE_ANNOTATION, ""))
        for s in image.signatures
    ]


def _envelope_signatures(envelope: bytes) -> list[dict[str, Any]]:
    try:
        parsed = Envelope.from_json(envelope)
    except InputError:
        return []  # a bundle's statement: the signature lives in the bundle
    return [_signature_entry(s.keyid, s.sig) for s in parsed.signatures]


def verified_attestations(
    pool: Pool, ref: Reference, public_key_pem: bytes, trust: Trust
) -> list[dict[str, Any]]:
    """``cosign verify-attestation --key`` (any type): ``[{statement, signatures}]``, or raise."""
    if not ref.digest or not is_digest(ref.digest):
        raise InputError(f"{ref} is not a digest reference", field="ref")
    registry, _ = pool.open(ref)
    image = verify.verify_attestations(
        registry, ref, _keys(public_key_pem, trust), options=_options(trust)
    )
    return [
        {
            "statement": json.loads(a.statement),
            "signatures": _envelope_signatures(a.envelope) if a.source != "bundle" else [],
        }
        for a in image.attestations
    ]
