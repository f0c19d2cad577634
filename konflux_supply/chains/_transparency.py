"""Chains' ``transparency.enabled``: log each signature and attestation in Rekor, look first.

As Chains (``pkg/chains/rekor.go``): a simple-signing image signature is logged as a
``hashedrekord`` over sha256 of the payload, an in-toto DSSE envelope as a ``dsse`` entry; with
``manual`` only runs annotated ``chains.tekton.dev/transparency-upload: "true"`` are logged.
Unlike Chains, nothing is logged twice (a ``.sig``/``.att`` layer whose
``dev.sigstore.cosign/bundle`` annotation verifies is reused, and a re-upload of the same
signature reads back the existing entry), and a log that fails leaves the artifact
``failed``: no signature is stored unlogged (ADR 0081).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from konflux_supply.chains._config import Config
from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.models.dsse import Envelope
from konflux_supply.publish import RekorClient
from konflux_supply.signing.rekor import (
    RekorEntry,
    TransparencyLog,
    check_envelope_entry,
    check_signature_entry,
    parse_cosign_bundle,
)

__all__ = ["TRANSPARENCY_UPLOAD", "TransparencyLogger", "wanted"]

TRANSPARENCY_UPLOAD = "chains.tekton.dev/transparency-upload"
"""The run annotation that opts a run in under ``transparency.enabled: manual``."""


def wanted(config: Config, annotations: Mapping[str, str]) -> bool:
    """Whether this run's signatures go to the log (Chains' ``shouldUploadTlog``, except that
    a run already carrying ``chains.tekton.dev/transparency`` is still looked at: what is
    logged already is found and reused, what is missing is logged)."""
    if not config.transparency:
        return False
    return not config.transparency_manual or annotations.get(TRANSPARENCY_UPLOAD) == "true"


_CLIENTS: dict[tuple[str, bytes | None, bool], RekorClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(config: Config) -> RekorClient:
    """The process-wide client for ``config``'s log (one connection pool, the served key read
    once); :class:`InputError` naming the key when the configuration cannot make one."""
    key = (
        config.transparency_url,
        config.transparency_public_key,
        config.transparency_trust_served_key,
    )
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = RekorClient(
                config.transparency_url,
                public_key=config.transparency_public_key,
                trust_served_key=config.transparency_trust_served_key,
            )
            _CLIENTS[key] = client
        return client


class TransparencyLogger:
    """One run's view of the log: reuse what verifies, upload what is missing."""

    def __init__(self, client: RekorClient) -> None:
        self.client = client
        self.url = client.url

    def _logs(self) -> tuple[TransparencyLog, ...]:
        return self.client.trusted_logs()

    def existing_signature(
        self, bundle: str | None, payload: bytes, signature: bytes, key_pem: bytes
    ) -> RekorEntry | None:
        """The entry of a ``.sig`` layer's bundle annotation, if it verifies for this
        signature (a bundle that does not is ignored: the signature is logged again)."""
        if not bundle:
            return None
        logs = self._logs()
        try:
            entry = parse_cosign_bundle(bundle)
            check_signature_entry(entry, logs, payload, signature, key_pem)
        except (InputError, VerificationError):
            return None
        return entry

    def existing_envelope(
        self, bundle: str | None, envelope: Envelope, key_pem: bytes
    ) -> RekorEntry | None:
        """The entry of an ``.att`` layer's bundle annotation, if it verifies for this
        envelope."""
        if not bundle:
            return None
        logs = self._logs()
        try:
            entry = parse_cosign_bundle(bundle)
            check_envelope_entry(entry, logs, envelope, key_pem)
        except (InputError, VerificationError):
            return None
        return entry

    def log_signature(self, payload: bytes, signature: bytes, key_pem: bytes) -> RekorEntry:
        """Upload (or read back) and verify; raises a :class:`KonfluxSupplyError`."""
        return self.client.log_signature(payload, signature, key_pem)

    def log_envelope(self, envelope: Envelope, key_pem: bytes) -> RekorEntry:
        """Upload (or read back) and verify; raises a :class:`KonfluxSupplyError`."""
        return self.client.log_envelope(envelope, key_pem)


def failure(error: KonfluxSupplyError) -> str:
    """The artifact's cause when the log could not be used."""
    return f"not logged, so not stored: {error.kind}: {error.summary()}"
