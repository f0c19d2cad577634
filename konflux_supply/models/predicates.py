"""The in-toto vocabulary in one place: statement types and predicate-type URIs.

Constants only (no pydantic), so that any layer can name a predicate type cheaply. cosign's
``--type`` names map to URIs in :data:`COSIGN_PREDICATE_TYPES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "COSIGN_PREDICATE_TYPES",
    "PREDICATE_COSIGN_CUSTOM",
    "PREDICATE_COSIGN_SIGN",
    "PREDICATE_COSIGN_VULN",
    "PREDICATE_CYCLONEDX",
    "PREDICATE_LINK",
    "PREDICATE_OPENVEX",
    "PREDICATE_SLSA_V02",
    "PREDICATE_SLSA_V1",
    "PREDICATE_SPDX",
    "STATEMENT_V01",
    "STATEMENT_V1",
]

STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
PREDICATE_SLSA_V02 = "https://slsa.dev/provenance/v0.2"
PREDICATE_SLSA_V1 = "https://slsa.dev/provenance/v1"
PREDICATE_CYCLONEDX = "https://cyclonedx.org/bom"
PREDICATE_SPDX = "https://spdx.dev/Document"
PREDICATE_LINK = "https://in-toto.io/Link/v1"
PREDICATE_OPENVEX = "https://openvex.dev/ns"
#: cosign's ``custom`` predicate (``{"Data": …, "Timestamp": …}``).
PREDICATE_COSIGN_CUSTOM = "https://cosign.sigstore.dev/attestation/v1"
PREDICATE_COSIGN_VULN = "https://cosign.sigstore.dev/attestation/vuln/v1"
#: cosign v3's image signature bundles (``cosign sign --new-bundle-format``).
PREDICATE_COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"

COSIGN_PREDICATE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "custom": PREDICATE_COSIGN_CUSTOM,
        "slsaprovenance": PREDICATE_SLSA_V02,
        "slsaprovenance02": PREDICATE_SLSA_V02,
        "slsaprovenance1": PREDICATE_SLSA_V1,
        "spdx": PREDICATE_SPDX,
        "spdxjson": PREDICATE_SPDX,
        "cyclonedx": PREDICATE_CYCLONEDX,
        "link": PREDICATE_LINK,
        "vuln": PREDICATE_COSIGN_VULN,
        "openvex": PREDICATE_OPENVEX,
    }
)
"""cosign's ``--type`` names and the predicateType URI each stands for."""
