"""Built-in check results are worded as Conforma's (messages seen in its acceptance snapshots)."""

from __future__ import annotations

from konflux_supply.policy.builtin_checks import builtin_failure_message, builtin_result
from konflux_supply.policy.report import (
    BUILTIN_ATTESTATION_SIGNATURE_CHECK,
    BUILTIN_ATTESTATION_SYNTAX_CHECK,
    BUILTIN_IMAGE_ACCESSIBLE,
    BUILTIN_IMAGE_SIGNATURE_CHECK,
)


def test_results_with_and_without_info() -> None:
    assert builtin_result(BUILTIN_IMAGE_SIGNATURE_CHECK) == {
        "msg": "Pass",
        "metadata": {"code": "builtin.image.signature_check"},
    }
    assert builtin_result(BUILTIN_ATTESTATION_SYNTAX_CHECK, detailed=True)["metadata"] == {
        "code": "builtin.attestation.syntax_check",
        "title": "Attestation syntax check passed",
        "description": "The attestation has correct syntax.",
    }


def test_failure_messages() -> None:
    assert builtin_failure_message(
        BUILTIN_IMAGE_SIGNATURE_CHECK, "no matching signatures: x", no_match=True
    ) == (
        "No image signatures found matching the given public key. Verify the correct public key "
        "was provided, and a signature was created. Error: no matching signatures: x"
    )
    assert builtin_failure_message(
        BUILTIN_ATTESTATION_SIGNATURE_CHECK, "e", no_match=True
    ).startswith("No image attestations found matching the given public key.")
    assert (
        builtin_failure_message(BUILTIN_ATTESTATION_SIGNATURE_CHECK, "e")
        == "Image attestation check failed: e"
    )
    assert (
        builtin_failure_message(BUILTIN_IMAGE_SIGNATURE_CHECK, "e")
        == "Image signature check failed: e"
    )
    assert (
        builtin_failure_message(BUILTIN_IMAGE_ACCESSIBLE, "e") == "Image URL is not accessible: e"
    )
    assert (
        builtin_failure_message(BUILTIN_ATTESTATION_SYNTAX_CHECK, "e")
        == "Attestation syntax check failed: e"
    )
