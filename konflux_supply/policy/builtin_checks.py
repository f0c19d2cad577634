"""The results of Conforma's built-in checks, worded as Conforma words them.

Before any policy runs, ``validate image`` checks that the image is accessible, that its
signature and its attestations' signatures verify, and that SLSA attestations are well formed.
Each check is a result with a ``builtin.*`` code: a success ``"Pass"`` or a violation whose
message says why. Without ``--info`` only the code is kept (as every result's metadata is cut
down to code, effective_on and term); with it, title and description too.
"""

from __future__ import annotations

from typing import Any

from konflux_supply.policy.report import (
    BUILTIN_ATTESTATION_SIGNATURE_CHECK,
    BUILTIN_ATTESTATION_SYNTAX_CHECK,
    BUILTIN_IMAGE_ACCESSIBLE,
    BUILTIN_IMAGE_SIGNATURE_CHECK,
    BUILTIN_POLICY_EVALUATION,
)

__all__ = [
    "NO_MATCHING_ATTESTATIONS",
    "NO_MATCHING_SIGNATURES",
    "TITLES",
    "builtin_failure_message",
    "builtin_result",
]

#: code -> (title, description), as Conforma's ``internal/output`` has them.
TITLES: dict[str, tuple[str, str]] = {
    BUILTIN_IMAGE_ACCESSIBLE: (
        "Image URL is accessible",
        "The image URL is available and accessible.",
    ),
    BUILTIN_IMAGE_SIGNATURE_CHECK: (
        "Image signature check passed",
        "The image signature matches available signing materials.",
    ),
    BUILTIN_ATTESTATION_SIGNATURE_CHECK: (
        "Attestation signature check passed",
        "The attestation signature matches available signing materials.",
    ),
    BUILTIN_ATTESTATION_SYNTAX_CHECK: (
        "Attestation syntax check passed",
        "The attestation has correct syntax.",
    ),
    BUILTIN_POLICY_EVALUATION: (
        "Policy evaluated",
        "The policy engine evaluated the component's input.",
    ),
}

#: The message for a key-based check that found no signature made with the key.
NO_MATCHING_SIGNATURES = (
    "No image signatures found matching the given public key. Verify the correct public key "
    "was provided, and a signature was created. Error: {error}"
)
#: The same for attestations.
NO_MATCHING_ATTESTATIONS = (
    "No image attestations found matching the given public key. Verify the correct public key "
    "was provided, and one or more attestations were created. Error: {error}"
)


def builtin_failure_message(code: str, error: str, *, no_match: bool = False) -> str:
    """Conforma's message for a failed built-in check.

    ``no_match``: a key-based (not keyless) check found no matching signature; Conforma
    then explains what to verify instead of quoting cosign alone.
    """
    if code == BUILTIN_IMAGE_ACCESSIBLE:
        return f"Image URL is not accessible: {error}"
    if code == BUILTIN_ATTESTATION_SYNTAX_CHECK:
        return f"Attestation syntax check failed: {error}"
    if code == BUILTIN_IMAGE_SIGNATURE_CHECK:
        if no_match:
            return NO_MATCHING_SIGNATURES.format(error=error)
        return f"Image signature check failed: {error}"
    if code == BUILTIN_ATTESTATION_SIGNATURE_CHECK:
        if no_match:
            return NO_MATCHING_ATTESTATIONS.format(error=error)
        return f"Image attestation check failed: {error}"
    return error


def builtin_result(code: str, message: str = "Pass", *, detailed: bool = False) -> dict[str, Any]:
    """A built-in check's result; ``detailed`` (``--info``) adds title and description."""
    metadata: dict[str, Any] = {"code": code}
    if detailed and code in TITLES:
        metadata["title"], metadata["description"] = TITLES[code]
    return {"msg": message, "metadata": metadata}
