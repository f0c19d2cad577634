"""Sign finished Tekton runs as Tekton Chains does, without its failure modes.

::

    from konflux_supply import chains, oci

    config = chains.Config.from_configmap(open("chains-config.yaml").read())
    signers = chains.Signers(secrets_dir="/etc/signing-secrets")   # built once, shared
    with oci.RegistryPool() as pool:
        outcome = chains.sign_run(run, config, children=task_runs, registry=pool, signer=signers)
    patch = outcome.annotations_to_patch()   # merge-patch the run's metadata.annotations

``outcome.signed`` (and ``chains.tekton.dev/signed: "true"``) only when every configured
artifact was signed and stored; otherwise each artifact's status says what failed
(``konflux-supply.dev/sign-status``), and calling :func:`sign_run` again redoes only that:
what the run's annotations or the registry already hold under our key is never signed or
pushed again (reference/chains.md §5; ADR 0060). With ``transparency.enabled`` every
signature and attestation is logged in Rekor first and stored with cosign's Rekor bundle; an
entry is trusted only once it verifies under the log's configured key, and a log that fails
leaves the artifact ``failed`` (ADR 0081). :mod:`konflux_supply.chains.cluster` reads a
run and its child TaskRuns from a cluster and patches the annotations back (extra
``kubernetes``). Guide: ``docs/chains.md``.
"""

from __future__ import annotations

from konflux_supply.chains._config import (
    DEFAULT_BUILD_TYPE,
    DEFAULT_BUILDER_ID,
    FORMATS,
    STORAGE_BACKENDS,
    ArtifactConfig,
    Config,
)
from konflux_supply.chains._outcome import (
    MAX_RETRIES,
    RETRIES,
    SIGN_STATUS,
    SIGNED,
    TRANSPARENCY,
    ArtifactStatus,
    SignOutcome,
    State,
    StoreResult,
)
from konflux_supply.chains._sign import sign_run
from konflux_supply.chains._signers import DEFAULT_SECRETS_DIR, Signers, load_from_secrets
from konflux_supply.chains._transparency import TRANSPARENCY_UPLOAD

__all__ = [
    "DEFAULT_BUILDER_ID",
    "DEFAULT_BUILD_TYPE",
    "DEFAULT_SECRETS_DIR",
    "FORMATS",
    "MAX_RETRIES",
    "RETRIES",
    "SIGNED",
    "SIGN_STATUS",
    "STORAGE_BACKENDS",
    "TRANSPARENCY",
    "TRANSPARENCY_UPLOAD",
    "ArtifactConfig",
    "ArtifactStatus",
    "Config",
    "SignOutcome",
    "Signers",
    "State",
    "StoreResult",
    "load_from_secrets",
    "sign_run",
]
