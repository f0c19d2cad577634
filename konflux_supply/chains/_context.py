"""What signing one run shares across its artifacts: configuration, registries, signers,
the transparency log, and the ``tekton`` storage annotations being collected."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field

from konflux_supply import signing
from konflux_supply.chains._config import ArtifactConfig, Config
from konflux_supply.chains._oci import OciStore
from konflux_supply.chains._outcome import State, StoreResult
from konflux_supply.chains._transparency import TransparencyLogger
from konflux_supply.oci import Reference, Registry
from konflux_supply.signing import Signer, Verifier
from konflux_supply.signing.rekor import RekorEntry

__all__ = ["PREFIX", "Context", "b64", "disabled", "state", "unb64"]

PREFIX = "chains.tekton.dev/"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _tekton_annotations(key: str, payload: bytes, signature: bytes) -> dict[str, str]:
    """reference/chains.md §3.5: base64 payload and signature; cert and chain empty with keys."""
    return {
        f"{PREFIX}payload-{key}": b64(payload),
        f"{PREFIX}signature-{key}": b64(signature),
        f"{PREFIX}cert-{key}": "",
        f"{PREFIX}chain-{key}": "",
    }


@dataclass
class Context:
    config: Config
    registry_for: Callable[[Reference], Registry]
    signer_for: Callable[[str], Signer]
    store: OciStore
    existing: dict[str, str]
    tlog: TransparencyLogger | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    verifiers: dict[int, tuple[Verifier, str]] = field(default_factory=dict)

    def signer(self, art: ArtifactConfig) -> Signer:
        return self.signer_for(art.signer)

    def key_of(self, signer: Signer) -> tuple[Verifier, str]:
        found = self.verifiers.get(id(signer))
        if found is None:
            pem = signer.public_key_pem()
            found = (signing.verifier_from_pem(pem), signing.keyid(pem))
            self.verifiers[id(signer)] = found
        return found

    def tekton(self, key: str, payload: bytes, signature: bytes) -> StoreResult:
        wanted = _tekton_annotations(key, payload, signature)
        location = f"{PREFIX}signature-{key}"
        if all(self.existing.get(k) == v for k, v in wanted.items()):
            return StoreResult("tekton", location, written=False)
        self.annotations.update(wanted)
        return StoreResult("tekton", location, written=True)

    def logged(self, entry: RekorEntry) -> StoreResult:
        """The log as one more place the artifact went (``written``: a new entry)."""
        assert self.tlog is not None
        return StoreResult("rekor", entry.url(self.tlog.url), written=entry.new)


def state(signature: object, stores: list[StoreResult]) -> tuple[State, str | None]:
    errors = [s.error for s in stores if s.error is not None]
    if not errors:
        return "stored", None
    cause = errors[0] if len(errors) == 1 else f"{errors[0]} (and {len(errors) - 1} more)"
    return ("signed" if signature is not None else "failed"), cause


def disabled(art: ArtifactConfig) -> str | None:
    if art.signer == "none":
        return "signer is none"
    if not art.storage:
        return 'storage is ""'
    return None
