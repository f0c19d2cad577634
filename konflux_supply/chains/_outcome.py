"""What signing a run did, artifact by artifact, and the annotations that say so honestly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ANNOTATION_PREFIX",
    "MAX_RETRIES",
    "RETRIES",
    "SIGNED",
    "SIGN_STATUS",
    "TRANSPARENCY",
    "ArtifactStatus",
    "SignOutcome",
    "State",
    "StoreResult",
]

ANNOTATION_PREFIX = "chains.tekton.dev/"
SIGNED = "chains.tekton.dev/signed"
RETRIES = "chains.tekton.dev/retries"
TRANSPARENCY = "chains.tekton.dev/transparency"
SIGN_STATUS = "konflux-supply.dev/sign-status"
"""Our own annotation: the per-artifact status whenever the run is not fully signed."""
MAX_RETRIES = 3
"""As Chains: ``retries`` counts 0..3; the failure after ``"3"`` sets ``signed: failed``."""

State = Literal["stored", "signed", "skipped", "failed"]
"""``stored``: signed and stored everywhere configured; ``signed``: signed, but some storage
failed; ``skipped``: not configured, or a policy says no (with the cause); ``failed``: not
signed (no signer, unknown format, provenance could not be made)."""


@dataclass(frozen=True)
class StoreResult:
    """One write to one backend: where, whether it was new (``False``: already there), or why
    it failed."""

    backend: str
    location: str
    written: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.backend, "location": self.location}
        if self.error is None:
            out["written"] = self.written
        else:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class ArtifactStatus:
    """One signable artifact of the run: the run's provenance (``taskrun``/``pipelinerun``)
    or one image (``oci``), keyed as Chains keys it (``taskrun-<uid>``, ``<name>@<digest>``).

    ``payload`` is the exact bytes signed; ``signature`` the DSSE envelope JSON (provenance)
    or the raw signature (image); both ``None`` when nothing was signed. ``transparency`` is
    where the transparency log holds the signature (``<url>/api/v1/log/entries?logIndex=<n>``,
    a verified entry) when the run is logged; the entry is also a ``rekor`` store.
    """

    kind: str
    key: str
    state: State
    cause: str | None = None
    stores: tuple[StoreResult, ...] = ()
    payload: bytes | None = field(default=None, repr=False)
    signature: bytes | None = field(default=None, repr=False)
    transparency: str | None = None

    @property
    def done(self) -> bool:
        """Nothing more to do for this artifact (stored, or skipped on purpose)."""
        return self.state in ("stored", "skipped")

    def summary(self) -> str:
        """``stored``, ``skipped: <cause>``, ``failed: <cause>``…"""
        return self.state if self.cause is None else f"{self.state}: {self.cause}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "key": self.key, "state": self.state}
        if self.cause is not None:
            out["cause"] = self.cause
        if self.stores:
            out["stores"] = [store.to_json() for store in self.stores]
        if self.transparency is not None:
            out["transparency"] = self.transparency
        return out


@dataclass(frozen=True)
class SignOutcome:
    """What :func:`~konflux_supply.chains.sign_run` did for one run.

    ``signed`` is true only when every configured artifact was signed **and** stored
    everywhere its configuration says (reference/chains.md §5: Chains says ``true`` after a
    config error, and ``failed`` after a partial success). ``annotations`` are the ``tekton``
    storage annotations to add (only those not already on the run), and
    ``chains.tekton.dev/transparency`` when it changes. ``transparency`` is that annotation's
    value as Chains sets it: the log entry of the last artifact logged (``None``: the run is
    not logged).
    """

    run: str
    artifacts: tuple[ArtifactStatus, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    previous_retries: int | None = None
    previous_status: bool = False
    skipped_run: str | None = None
    run_result: str = "succeeded"
    warnings: tuple[str, ...] = ()
    transparency: str | None = None

    @property
    def signed(self) -> bool:
        """Every configured artifact signed and stored (a skipped run is not signed)."""
        if self.skipped_run is not None:
            return False
        return all(artifact.done for artifact in self.artifacts)

    @property
    def written(self) -> int:
        """How many writes were new (registry pushes plus annotation sets)."""
        return sum(1 for a in self.artifacts for s in a.stores if s.written)

    def status_map(self) -> dict[str, str]:
        """``{artifact key: summary}``, what goes in ``konflux-supply.dev/sign-status``."""
        if self.skipped_run is not None:
            return {self.run: f"skipped: {self.skipped_run}"}
        out = {f"{a.kind}/{a.key}": a.summary() for a in self.artifacts}
        if self.run_result != "succeeded":
            out[self.run] = f"run {self.run_result}"
        return out

    def annotations_to_patch(self) -> dict[str, str | None]:
        """The run's annotation changes, as a JSON merge patch (``None`` = remove).

        * the ``tekton`` storage annotations not yet on the run;
        * ``chains.tekton.dev/signed: "true"`` only when :attr:`signed`; ``"failed"`` when the
          retries are used up (as Chains, after ``retries: "3"``); otherwise unset;
        * ``chains.tekton.dev/retries`` counted as Chains counts it, on every failure;
        * ``konflux-supply.dev/sign-status``: the per-artifact status whenever the run is not
          fully signed (removed again once it is).

        * ``chains.tekton.dev/transparency`` (with ``transparency.enabled``): the last log
          entry, as Chains sets it, whether or not the run is fully signed.
        """
        patch: dict[str, str | None] = dict(self.annotations)
        if self.signed:
            patch[SIGNED] = "true"
            if self.previous_status:
                patch[SIGN_STATUS] = None
            return patch
        patch[SIGN_STATUS] = json.dumps(self.status_map(), sort_keys=True, separators=(",", ":"))
        if self.skipped_run is not None:
            return patch
        if self.previous_retries is not None and self.previous_retries >= MAX_RETRIES:
            patch[SIGNED] = "failed"
        else:
            retries = 0 if self.previous_retries is None else self.previous_retries + 1
            patch[RETRIES] = str(retries)
        return patch

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON (what ``konflux-supply sign-run`` prints)."""
        out: dict[str, Any] = {
            "run": self.run,
            "signed": self.signed,
            "runResult": self.run_result,
            "artifacts": [a.to_json() for a in self.artifacts],
            "annotations": self.annotations_to_patch(),
            "warnings": list(self.warnings),
        }
        if self.skipped_run is not None:
            out["skipped"] = self.skipped_run
        if self.transparency is not None:
            out["transparency"] = self.transparency
        return out
