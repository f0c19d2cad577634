"""The names and argument counts of Conforma's ``ec.*`` builtins, in one place."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["EC_BUILTIN_ARITIES"]

#: Conforma's ``ec.*`` builtins and their argument counts.
EC_BUILTIN_ARITIES: Mapping[str, int] = {
    "ec.oci.blob": 1,
    "ec.oci.blob_files": 2,
    "ec.oci.descriptor": 1,
    "ec.oci.image_files": 2,
    "ec.oci.image_index": 1,
    "ec.oci.image_manifest": 1,
    "ec.oci.image_manifests": 1,
    "ec.oci.image_referrers": 1,
    "ec.oci.image_tag_refs": 1,
    "ec.oci.parsed_blob": 1,
    "ec.purl.is_valid": 1,
    "ec.purl.parse": 1,
    "ec.sigstore.verify_attestation": 2,
    "ec.sigstore.verify_image": 2,
}
