"""The transparency-log check of cosign ``.sig``/``.att`` layers (``VerifyOptions.layer_tlog``).

cosign, verifying with a key and without ``--insecure-ignore-tlog``, wants each signature
logged: the layer's ``dev.sigstore.cosign/bundle`` annotation (Rekor's SET over the entry)
must verify under a trusted log key, and the entry must log *this* signature by *this* key
over *this* payload (a bundle copied from another layer does not count).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.models.dsse import Envelope
from konflux_supply.oci.cosign import BUNDLE_ANNOTATION
from konflux_supply.signing import Verifier
from konflux_supply.signing.bundle import TrustedRoot
from konflux_supply.signing.rekor import (
    RekorEntry,
    check_envelope_entry,
    check_signature_entry,
    parse_cosign_bundle,
)
from konflux_supply.verify.policy import Identity, Keys

__all__ = ["check_envelope_logged", "check_signature_logged", "layer_root"]


def layer_root(signer: Keys | Identity, wanted: bool) -> TrustedRoot | None:
    """The root layers are checked against (``VerifyOptions.layer_tlog``); ``None``: no check
    (not wanted, ``UNSAFE_IGNORE_TLOG``, or keyless, whose layers are refused anyway)."""
    log = signer.transparency_log if isinstance(signer, Keys) else None
    if wanted and isinstance(signer, Keys) and log is None:
        raise InputError("layer_tlog needs a transparency-log choice", field="transparency_log")
    return log if wanted and isinstance(log, TrustedRoot) else None


def _entry(annotations: Mapping[str, str]) -> RekorEntry:
    text = annotations.get(BUNDLE_ANNOTATION)
    if not text:
        raise VerificationError(f"the layer has no transparency-log bundle ({BUNDLE_ANNOTATION})")
    try:
        return parse_cosign_bundle(text)
    except InputError as error:
        raise VerificationError(f"malformed {BUNDLE_ANNOTATION}: {error.summary()}") from None


def check_signature_logged(
    annotations: Mapping[str, str],
    root: TrustedRoot,
    verifiers: Sequence[Verifier],
    payload: bytes,
    signature: bytes,
) -> None:
    """The layer's bundle logs ``signature`` over ``payload`` by one of ``verifiers``."""
    entry = _entry(annotations)
    error = VerificationError("no key to check the log entry with")
    for verifier in verifiers:
        try:
            check_signature_entry(entry, root.tlogs, payload, signature, verifier.public_key_pem())
            return
        except (VerificationError, InputError) as failed:
            error = VerificationError(f"transparency log: {failed.summary()}")
    raise error


def check_envelope_logged(
    annotations: Mapping[str, str],
    root: TrustedRoot,
    verifiers: Sequence[Verifier],
    envelope: Envelope,
) -> None:
    """The layer's bundle logs one of ``envelope``'s signatures by one of ``verifiers``."""
    entry = _entry(annotations)
    error = VerificationError("no key to check the log entry with")
    for verifier in verifiers:
        try:
            check_envelope_entry(entry, root.tlogs, envelope, verifier.public_key_pem())
            return
        except (VerificationError, InputError) as failed:
            error = VerificationError(f"transparency log: {failed.summary()}")
    raise error
