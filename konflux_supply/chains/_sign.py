"""Sign one finished run as Tekton Chains does, and report honestly what happened."""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from konflux_supply import provenance, publish, signing
from konflux_supply.chains._config import ArtifactConfig, Config
from konflux_supply.chains._oci import OciStore, describe, image_reference
from konflux_supply.chains._outcome import (
    RETRIES,
    SIGN_STATUS,
    ArtifactStatus,
    SignOutcome,
    State,
    StoreResult,
)
from konflux_supply.chains._signers import Signers
from konflux_supply.errors import InputError, KonfluxSupplyError, VerificationError
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope
from konflux_supply.oci import Reference, Registry, RegistryOptions, RegistryPool, parse_reference
from konflux_supply.signing import Signer, Verifier, dsse, simple_signing

__all__ = ["sign_run"]

_PREFIX = "chains.tekton.dev/"
_DEFAULT_SIGNERS = Signers()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _tekton_annotations(key: str, payload: bytes, signature: bytes) -> dict[str, str]:
    """reference/chains.md §3.5: base64 payload and signature; cert and chain empty with keys."""
    return {
        f"{_PREFIX}payload-{key}": _b64(payload),
        f"{_PREFIX}signature-{key}": _b64(signature),
        f"{_PREFIX}cert-{key}": "",
        f"{_PREFIX}chain-{key}": "",
    }


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


@dataclass
class _Context:
    config: Config
    registry_for: Callable[[Reference], Registry]
    signer_for: Callable[[str], Signer]
    store: OciStore
    existing: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    verifiers: dict[int, tuple[Verifier, str]] = field(default_factory=dict)

    def key_of(self, signer: Signer) -> tuple[Verifier, str]:
        found = self.verifiers.get(id(signer))
        if found is None:
            pem = signer.public_key_pem()
            found = (signing.verifier_from_pem(pem), signing.keyid(pem))
            self.verifiers[id(signer)] = found
        return found

    def tekton(self, key: str, payload: bytes, signature: bytes) -> StoreResult:
        wanted = _tekton_annotations(key, payload, signature)
        location = f"{_PREFIX}signature-{key}"
        if all(self.existing.get(k) == v for k, v in wanted.items()):
            return StoreResult("tekton", location, written=False)
        self.annotations.update(wanted)
        return StoreResult("tekton", location, written=True)


def _signer(ctx: _Context, art: ArtifactConfig) -> Signer:
    return ctx.signer_for(art.signer)


def _state(signature: object, stores: list[StoreResult]) -> tuple[State, str | None]:
    errors = [s.error for s in stores if s.error is not None]
    if not errors:
        return "stored", None
    cause = errors[0] if len(errors) == 1 else f"{errors[0]} (and {len(errors) - 1} more)"
    return ("signed" if signature is not None else "failed"), cause


def _disabled(art: ArtifactConfig) -> str | None:
    if art.signer == "none":
        return "signer is none"
    if not art.storage:
        return 'storage is ""'
    return None


def _sign_provenance(
    ctx: _Context, run: Mapping[str, Any], kind: str, uid: str, children: Iterable[Any]
) -> tuple[ArtifactStatus, tuple[str, ...]]:
    art = ctx.config.artifact(kind)
    key = f"{kind}-{uid}"
    off = _disabled(art)
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
        signer = _signer(ctx, art)
        verifier, keyid = ctx.key_of(signer)
    except KonfluxSupplyError as error:
        return ArtifactStatus(kind, key, "failed", describe(error)), ()
    payload = statement.to_json()
    envelope = _existing_envelope(ctx, key, payload, verifier)
    stores: list[StoreResult] = []
    pending: list[Reference] = []
    if "oci" in art.storage:
        if not statement.subject:
            stores.append(
                StoreResult("oci", "", error="the statement has no subject to attach it to")
            )
        for subject in statement.subject:
            name = f"{subject.name}@sha256:{subject.digest.get('sha256', '')}"
            try:
                image = image_reference(subject.name, f"sha256:{subject.digest.get('sha256', '')}")
                found = ctx.store.find_envelope(ctx.registry_for(image), image, payload, verifier)
            except KonfluxSupplyError as error:
                stores.append(StoreResult("oci", name, error=describe(error)))
                continue
            if found is None:
                pending.append(image)
            else:
                envelope = envelope or found
                stores.append(StoreResult("oci", name, written=False))
    try:
        if envelope is None and (pending or "tekton" in art.storage):
            envelope = dsse.sign(payload, signer, IN_TOTO_PAYLOAD_TYPE, keyid=keyid)
    except KonfluxSupplyError as error:
        return ArtifactStatus(kind, key, "failed", describe(error), tuple(stores), payload), ()
    for image in pending:
        assert envelope is not None
        try:
            where = ctx.store.store_envelope(ctx.registry_for(image), image, envelope, signer)
            stores.append(StoreResult("oci", where, written=True))
        except KonfluxSupplyError as error:
            stores.append(StoreResult("oci", f"{image.name}@{image.digest}", error=describe(error)))
    signature = envelope.to_json() if envelope is not None else None
    if "tekton" in art.storage and signature is not None:
        stores.insert(0, ctx.tekton(key, payload, signature))
    state, cause = _state(signature, stores)
    status = ArtifactStatus(kind, key, state, cause, tuple(stores), payload, signature)
    return status, statement.warnings


def _existing_envelope(
    ctx: _Context, key: str, payload: bytes, verifier: Verifier
) -> Envelope | None:
    if ctx.existing.get(f"{_PREFIX}payload-{key}") != _b64(payload):
        return None
    raw = _unb64(ctx.existing.get(f"{_PREFIX}signature-{key}"))
    if raw is None:
        return None
    try:
        envelope = dsse.parse(raw)
        dsse.verify(envelope, [verifier], payload_type=IN_TOTO_PAYLOAD_TYPE)
    except (InputError, VerificationError):
        return None
    return envelope if envelope.payload_bytes == payload else None


def _sign_image(ctx: _Context, repository: str, digest: str) -> ArtifactStatus:
    art = ctx.config.oci
    key = f"{repository}@{digest}"
    short = digest.removeprefix("sha256:")[:12]
    try:
        signer = _signer(ctx, art)
        verifier, _ = ctx.key_of(signer)
        payload = simple_signing.payload(repository, digest)
        image = image_reference(repository, digest)
    except KonfluxSupplyError as error:
        return ArtifactStatus("oci", key, "failed", describe(error))
    signature: bytes | None = None
    if ctx.existing.get(f"{_PREFIX}payload-{short}") == _b64(payload):
        candidate = _unb64(ctx.existing.get(f"{_PREFIX}signature-{short}"))
        try:
            if candidate is not None:
                verifier.verify(candidate, payload)
                signature = candidate
        except (InputError, VerificationError):
            signature = None
    stores: list[StoreResult] = []
    missing = False
    if "oci" in art.storage:
        try:
            present, found = ctx.store.find_signature(
                ctx.registry_for(image), image, payload, verifier
            )
            signature = signature or found
            if present:
                stores.append(StoreResult("oci", key, written=False))
            missing = not present
        except KonfluxSupplyError as error:
            stores.append(StoreResult("oci", key, error=describe(error)))
    try:
        if signature is None and (missing or "tekton" in art.storage):
            signature = signer.sign(payload)
    except KonfluxSupplyError as error:
        return ArtifactStatus("oci", key, "failed", describe(error), tuple(stores), payload)
    if missing:
        assert signature is not None
        try:
            where = ctx.store.store_signature(
                ctx.registry_for(image), image, payload, signature, signer
            )
            stores.append(StoreResult("oci", where, written=True))
        except KonfluxSupplyError as error:
            stores.append(StoreResult("oci", key, error=describe(error)))
    if "tekton" in art.storage and signature is not None:
        stores.insert(0, ctx.tekton(short, payload, signature))
    state, cause = _state(signature, stores)
    return ArtifactStatus("oci", key, state, cause, tuple(stores), payload, signature)


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

    Only :class:`InputError` escapes (the run is not an object); every other problem is an
    artifact status in the :class:`SignOutcome`.
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
    opened: list[RegistryPool] = []
    ctx = _Context(
        config=config,
        registry_for=_registry_for(registry, config, opened),
        signer_for=_signer_for(signer, config),
        store=OciStore(options, bundles=config.oci_encoding == "sigstore-bundle", now=now),
        existing=existing,
    )
    try:
        artifacts: list[ArtifactStatus] = []
        first, more = _sign_provenance(ctx, _without_own_annotations(run), kind, uid, children)
        artifacts.append(first)
        warnings.extend(more)
        if kind == "taskrun":
            artifacts.extend(_sign_images(ctx, run))
    finally:
        for pool in opened:
            pool.close()
    return SignOutcome(
        run=name,
        artifacts=tuple(artifacts),
        annotations=ctx.annotations,
        previous_retries=_retries(existing),
        previous_status=SIGN_STATUS in existing,
        run_result=result,
        warnings=tuple(dict.fromkeys(warnings)),
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


def _sign_images(ctx: _Context, run: Mapping[str, Any]) -> list[ArtifactStatus]:
    off = _disabled(ctx.config.oci)
    if off is not None:
        return [ArtifactStatus("oci", "*", "skipped", off)]
    try:
        images = provenance.oci_images(run)
    except KonfluxSupplyError as error:
        return [ArtifactStatus("oci", "*", "failed", describe(error))]
    return [_sign_image(ctx, repository, digest) for repository, digest in images]
