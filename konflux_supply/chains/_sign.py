"""Sign one finished run as Tekton Chains does, and report honestly what happened."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from konflux_supply import provenance, publish, signing
from konflux_supply.chains._config import Config
from konflux_supply.chains._context import PREFIX, Context, b64, disabled, state, unb64
from konflux_supply.chains._image import sign_images
from konflux_supply.chains._oci import OciStore, describe, image_reference
from konflux_supply.chains._outcome import (
    RETRIES,
    SIGN_STATUS,
    TRANSPARENCY,
    ArtifactStatus,
    SignOutcome,
    StoreResult,
)
from konflux_supply.chains._signers import Signers
from konflux_supply.chains._transparency import TransparencyLogger, client_for, failure, wanted
from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope
from konflux_supply.oci import Reference, Registry, RegistryOptions, RegistryPool, parse_reference
from konflux_supply.publish import RekorClient
from konflux_supply.signing import Signer, Verifier, dsse
from konflux_supply.signing.rekor import RekorEntry

__all__ = ["sign_run"]

_DEFAULT_SIGNERS = Signers()


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _run_kind(run: Mapping[str, Any]) -> str:
    kind = run.get("kind")
    if kind in ("TaskRun", "PipelineRun"):
        return "taskrun" if kind == "TaskRun" else "pipelinerun"
    spec, status = _obj(run.get("spec")), _obj(run.get("status"))
    if {"pipelineRef", "pipelineSpec"} & spec.keys() or {"pipelineSpec", "childReferences"} & (
        status.keys()
    ):
        return "pipelinerun"
    return "taskrun"


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _run_result(status: Mapping[str, Any]) -> str:
    """``succeeded``, ``failed`` or ``running`` from the ``Succeeded`` condition."""
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        for condition in conditions:
            if isinstance(condition, dict) and condition.get("type") == "Succeeded":
                value = condition.get("status")
                if value == "True":
                    return "succeeded"
                if value == "False":
                    return "failed"
    return "running" if not status.get("completionTime") else "succeeded"


def _sign_provenance(
    ctx: Context, run: Mapping[str, Any], kind: str, uid: str, children: Iterable[Any]
) -> tuple[ArtifactStatus, tuple[str, ...]]:
    art = ctx.config.artifact(kind)
    key = f"{kind}-{uid}"
    off = disabled(art)
    if off is not None:
        return ArtifactStatus(kind, key, "skipped", off), ()
    if art.format not in provenance.FORMATS:
        return ArtifactStatus(kind, key, "failed", f"unknown format {art.format!r}"), ()
    try:
        statement = provenance.generate(
            run,
            format=art.format,
            builder_id=ctx.config.builder_id,
            build_type=ctx.config.build_type if art.format.startswith("slsa/v2") else None,
            deep_inspection=art.deep_inspection,
            children=children,
        )
        signer = ctx.signer(art)
        verifier, keyid = ctx.key_of(signer)
        pem = signer.public_key_pem()
    except KonfluxSupplyError as error:
        return ArtifactStatus(kind, key, "failed", describe(error)), ()
    payload = statement.to_json()
    envelope = _existing_envelope(ctx, key, payload, verifier)
    stores: list[StoreResult] = []
    pending: list[Reference] = []
    logged: tuple[Envelope, RekorEntry] | None = None
    unlogged: Envelope | None = None
    try:
        if "oci" in art.storage:
            if not statement.subject:
                stores.append(
                    StoreResult("oci", "", error="the statement has no subject to attach it to")
                )
            for subject in statement.subject:
                sha = subject.digest.get("sha256", "")
                name = f"{subject.name}@sha256:{sha}"
                try:
                    image = image_reference(subject.name, f"sha256:{sha}")
                    found = _stored_envelopes(ctx, image, payload, verifier)
                except KonfluxSupplyError as error:
                    stores.append(StoreResult("oci", name, error=describe(error)))
                    continue
                present = bool(found)
                if ctx.tlog is not None:  # only a layer whose Rekor bundle verifies counts
                    entries = [(e, ctx.tlog.existing_envelope(b, e, pem)) for e, b in found]
                    done = [(e, entry) for e, entry in entries if entry is not None]
                    present = bool(done)
                    logged = logged or (done[0] if done else None)
                unlogged = unlogged or (found[0][0] if found else None)
                if present:
                    stores.append(StoreResult("oci", name, written=False))
                else:
                    pending.append(image)
        entry: RekorEntry | None = None
        if logged is not None:
            envelope, entry = logged
        envelope = envelope or unlogged
        if envelope is None and (pending or "tekton" in art.storage):
            envelope = dsse.sign(payload, signer, IN_TOTO_PAYLOAD_TYPE, keyid=keyid)
    except KonfluxSupplyError as error:
        return ArtifactStatus(kind, key, "failed", describe(error), tuple(stores), payload), ()
    if ctx.tlog is not None and envelope is not None and entry is None:
        try:
            entry = ctx.tlog.log_envelope(envelope, pem)
        except KonfluxSupplyError as error:
            status = ArtifactStatus(
                kind, key, "failed", failure(error), tuple(stores), payload, envelope.to_json()
            )
            return status, statement.warnings
    bundle = entry.cosign_bundle() if entry is not None else None
    for image in pending:
        assert envelope is not None
        try:
            where = ctx.store.store_envelope(
                ctx.registry_for(image), image, envelope, signer, bundle=bundle
            )
            stores.append(StoreResult("oci", where, written=True))
        except KonfluxSupplyError as error:
            stores.append(StoreResult("oci", f"{image.name}@{image.digest}", error=describe(error)))
    signature = envelope.to_json() if envelope is not None else None
    if "tekton" in art.storage and signature is not None:
        stores.insert(0, ctx.tekton(key, payload, signature))
    if entry is not None:
        stores.append(ctx.logged(entry))
    outcome, cause = state(signature, stores)
    url = entry.url(ctx.tlog.url) if entry is not None and ctx.tlog is not None else None
    status = ArtifactStatus(kind, key, outcome, cause, tuple(stores), payload, signature, url)
    return status, statement.warnings


def _stored_envelopes(
    ctx: Context, image: Reference, payload: bytes, verifier: Verifier
) -> list[tuple[Envelope, str | None]]:
    registry = ctx.registry_for(image)
    if ctx.store.bundles:
        found = ctx.store.find_envelope(registry, image, payload, verifier)
        return [] if found is None else [(found, None)]
    return ctx.store.envelope_layers(registry, image, payload, verifier)


def _existing_envelope(
    ctx: Context, key: str, payload: bytes, verifier: Verifier
) -> Envelope | None:
    if ctx.existing.get(f"{PREFIX}payload-{key}") != b64(payload):
        return None
    raw = unb64(ctx.existing.get(f"{PREFIX}signature-{key}"))
    if raw is None:
        return None
    try:
        envelope = dsse.parse(raw)
        dsse.verify(envelope, [verifier], payload_type=IN_TOTO_PAYLOAD_TYPE)
    except (InputError, VerificationError):
        return None
    return envelope if envelope.payload_bytes == payload else None


def _retries(annotations: Mapping[str, str]) -> int | None:
    value = annotations.get(RETRIES)
    if value is None:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        return None


def _registry_for(
    registry: Registry | RegistryPool | None, config: Config, opened: list[RegistryPool]
) -> Callable[[Reference], Registry]:
    if isinstance(registry, RegistryPool):
        pool = registry
    elif registry is not None:
        single = registry
        return lambda _ref: single
    else:
        pool = RegistryPool(RegistryOptions(insecure_skip_tls_verify=config.oci_insecure))
        opened.append(pool)
    return lambda ref: pool.open(ref)[0]


def _signer_for(signer: Signer | Signers | None, config: Config) -> Callable[[str], Signer]:
    if signer is None or isinstance(signer, Signers):
        cache = signer or _DEFAULT_SIGNERS
        return lambda kind: cache.get(kind, config)
    if not isinstance(signer, signing.Signer):
        raise InputError("signer must be a Signer or a Signers cache", field="signer")
    fixed = signer
    return lambda _kind: fixed


def sign_run(
    run: Mapping[str, Any],
    config: Config,
    *,
    children: Iterable[Mapping[str, Any]] = (),
    registry: Registry | RegistryPool | None = None,
    signer: Signer | Signers | None = None,
    publish_options: publish.PublishOptions | None = None,
    now: datetime.datetime | None = None,
    transparency: RekorClient | None = None,
) -> SignOutcome:
    """Sign a finished TaskRun or PipelineRun as Chains would, and store what is missing.

    * provenance in the configured format (PipelineRuns: ``children`` are its TaskRuns, read
      with deep inspection when configured), as DSSE; stored as ``.att`` for every image
      subject (``oci``) and/or as the run's annotations (``tekton``);
    * a simple-signing ``.sig`` for every image in a TaskRun's results (``artifacts.oci``);
    * nothing is signed or written twice: what the run's annotations or the registry already
      hold under our key is reused (a retry redoes only what failed).

    ``registry``: one :class:`~konflux_supply.oci.Registry` for every image (e.g. an OCI
    layout), or a :class:`~konflux_supply.oci.RegistryPool` (default: a pool for this call,
    anonymous, TLS verification off only with ``storage.oci.repository.insecure``).
    ``signer``: one signer for every artifact, or a :class:`Signers` cache (default: a
    process-wide cache reading ``/etc/signing-secrets``). ``publish_options``: the append
    policy and Docker media types (``storage.oci.repository`` comes from ``config``).

    With ``transparency.enabled`` (``manual``: runs annotated
    ``chains.tekton.dev/transparency-upload: "true"``), every signature and attestation is
    logged in the transparency log before it is stored, and stored with cosign's Rekor bundle
    annotation; an entry is trusted only once its SET and body verify. A ``.sig``/``.att``
    layer whose bundle verifies is not logged again. A log that fails makes that artifact
    ``failed`` and nothing of it is stored. ``transparency``: the client to use (default: a
    process-wide one per log configuration).

    Only :class:`InputError` escapes (the run is not an object, a configuration this call
    cannot use); every other problem is an artifact status in the :class:`SignOutcome`.
    """
    if not isinstance(run, Mapping):
        raise InputError("the run must be a JSON object", field="run")
    if not isinstance(config, Config):
        raise InputError("config must be a chains.Config", field="config")
    metadata, status = _obj(run.get("metadata")), _obj(run.get("status"))
    kind = _run_kind(run)
    uid = str(metadata.get("uid") or "")
    name = f"{kind}/{metadata.get('namespace') or ''}/{metadata.get('name') or uid}"
    existing = _str_map(metadata.get("annotations"))
    warnings = list(config.warnings)
    result = _run_result(status)
    skipped = (
        "run is not finished"
        if result == "running"
        else "run failed"
        if result == "failed" and not config.sign_failed_runs
        else None
    )
    if skipped is not None:
        return SignOutcome(
            run=name,
            artifacts=(),
            previous_retries=_retries(existing),
            previous_status=SIGN_STATUS in existing,
            skipped_run=skipped,
            run_result=result,
            warnings=tuple(warnings),
        )
    if result == "failed":
        warnings.append("the run failed; signed because sign-failed-runs is on")
    if not uid:
        warnings.append("the run has no metadata.uid: its tekton annotation key is incomplete")
    # Chains stores for the digest a run names without reading the image first
    # (ociremote.SignedUnknown when it is not found): so does sign_run.
    options = publish_options or publish.PublishOptions(require_image=False)
    if config.oci_repository:
        try:
            options = publish.PublishOptions(
                policy=options.policy,
                repository=parse_reference(config.oci_repository),
                docker_media_types=options.docker_media_types,
                require_image=options.require_image,
            )
        except InputError as error:
            raise InputError(error.message, field="storage.oci.repository") from None
    bundles = config.oci_encoding == "sigstore-bundle"
    client: RekorClient | None = None
    if wanted(config, existing):
        if bundles:
            raise InputError(
                "logging sigstore-bundle attachments in a transparency log is not implemented",
                field="transparency.enabled",
            )
        if transparency is not None and not isinstance(transparency, RekorClient):
            raise InputError("transparency must be a RekorClient", field="transparency")
        client = transparency or client_for(config)
    opened: list[RegistryPool] = []
    ctx = Context(
        config=config,
        registry_for=_registry_for(registry, config, opened),
        signer_for=_signer_for(signer, config),
        store=OciStore(options, bundles=bundles, now=now),
        existing=existing,
        tlog=TransparencyLogger(client) if client is not None else None,
    )
    try:
        artifacts: list[ArtifactStatus] = []
        first, more = _sign_provenance(ctx, _without_own_annotations(run), kind, uid, children)
        artifacts.append(first)
        warnings.extend(more)
        if kind == "taskrun":
            artifacts.extend(sign_images(ctx, run))
    finally:
        for pool in opened:
            pool.close()
    logged = [a.transparency for a in artifacts if a.transparency is not None]
    if logged and existing.get(TRANSPARENCY) != logged[-1]:
        ctx.annotations[TRANSPARENCY] = logged[-1]
    return SignOutcome(
        run=name,
        artifacts=tuple(artifacts),
        annotations=ctx.annotations,
        previous_retries=_retries(existing),
        previous_status=SIGN_STATUS in existing,
        run_result=result,
        warnings=tuple(dict.fromkeys(warnings)),
        transparency=logged[-1] if logged else None,
    )


def _without_own_annotations(run: Mapping[str, Any]) -> Mapping[str, Any]:
    """The run as provenance should see it: without ``konflux-supply.dev/sign-status``, which
    we set ourselves (Chains drops its own ``chains.tekton.dev/*`` the same way), so that a
    retry signs exactly the statement the first attempt signed."""
    metadata = _obj(run.get("metadata"))
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict) or SIGN_STATUS not in annotations:
        return run
    kept = {k: v for k, v in annotations.items() if k != SIGN_STATUS}
    return {**run, "metadata": {**metadata, "annotations": kept}}
