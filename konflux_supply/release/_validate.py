"""``validate``: every component of a Snapshot against an EnterpriseContractPolicy.

Once per run: the ECP with its overrides, one verification policy, every source fetched and
pinned, one engine per source group (compiled once, in worker processes). Then per
component, ``workers`` at a time: image-index expansion, the pre-policy checks, the ``input``
document, every source group evaluated and scored. Nothing is held across components but
their reports.

What could not be answered — a registry, an ``ec.*`` builtin's registry, the engine (crash,
hang, Rego error), the run's ``timeout`` — makes that component an *error* (ADR 0062): never
a violation, never a pass; the report's exit code is then 3 unless another component failed.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from konflux_supply import oci
from konflux_supply.errors import (
    InputError,
    KonfluxSupplyError,
    PolicyError,
    RegistryError,
    VerificationError,
)
from konflux_supply.policy.builtins import BuiltinContext, make_builtins
from konflux_supply.policy.config import EnterpriseContractPolicy
from konflux_supply.policy.engine import Builtins
from konflux_supply.policy.evaluation import EvaluationConfig, PreparedPolicy, prepare_policy
from konflux_supply.policy.report import (
    BUILTIN_IMAGE_ACCESSIBLE,
    BUILTIN_POLICY_EVALUATION,
    AttestationResult,
    ComponentError,
    ComponentReport,
    Report,
    select_shard,
)
from konflux_supply.release._expand import expand_indexes
from konflux_supply.release._image import ImageCheckError, ImageCheckOptions, check_image
from konflux_supply.release._input import build_input
from konflux_supply.release._options import ValidateOptions
from konflux_supply.release._trust import Trust, build_trust
from konflux_supply.release.snapshot import Component, Snapshot

__all__ = ["enforce", "validate"]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Run:
    """What every component of one run shares (read-only)."""

    prepared: PreparedPolicy
    pool: oci.RegistryPool
    trust: Trust
    checks: ImageCheckOptions
    options: ValidateOptions
    snapshot: Mapping[str, Any]
    policy_spec: Mapping[str, Any]
    effective_time: datetime
    keep_inputs: bool
    #: With ``--effective-time attestation``: the time each evaluated component used.
    attestation_times: list[datetime] = field(default_factory=list)


def _effective_time(options: ValidateOptions) -> datetime:
    value = options.effective_time
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError("effective time must be timezone-aware", field="--effective-time")
        return value
    if value not in ("now", "attestation"):
        raise InputError(
            f"effective time must be a datetime, 'now' or 'attestation', got {value!r}",
            field="--effective-time",
        )
    return datetime.now(UTC)


def _attestation_time(text: str | None, fallback: datetime) -> datetime:
    if not text:
        return fallback
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return fallback
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _check_picklable(options: ValidateOptions) -> None:
    try:
        pickle.dumps(options.registry)
    except Exception as error:
        raise InputError(
            f"registry options must be picklable for the ec.* builtins' worker processes: {error}",
            field="registry.credentials",
            hint="use a DockerConfig or a mapping host -> Credentials",
        ) from None


def _error_report(
    component: Component, ref: str, code: str, cause: str, kind: str, **kwargs: Any
) -> ComponentReport:
    return ComponentReport(
        name=component.name,
        container_image=ref,
        source=component.source or {},
        error=ComponentError(code, cause, kind),
        **kwargs,
    )


def _unavailable_cause(context: BuiltinContext) -> str | None:
    failures = context.unavailable
    if not failures:
        return None
    first = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return f"{first.builtin}({first.ref}): the registry could not answer: {first.cause}{more}"


def _component(run: _Run, component: Component, step: Any) -> tuple[ComponentReport, bytes]:
    """One component's report, and its policy input as JSON (``b""`` when none)."""
    step(component, "image")
    try:
        check = check_image(
            run.pool, component.container_image, run.checks, source=component.source or {}
        )
    except ImageCheckError as error:
        return _error_report(
            component, component.container_image, error.code, error.message, "registry"
        ), b""
    except KonfluxSupplyError as error:  # anything else that kept the checks from an answer
        return _error_report(
            component, component.container_image, BUILTIN_IMAGE_ACCESSIBLE, error.summary(),
            "registry" if isinstance(error, RegistryError) else "error",
        ), b""  # fmt: skip
    attestations = tuple(
        AttestationResult(
            type=str(entry.get("type", "")),
            predicate_type=str(entry.get("predicateType", "")),
            predicate_build_type=str(entry.get("predicateBuildType", "")),
            signatures=tuple(entry.get("signatures") or ()),
            statement=entry.get("statement"),
        )
        for entry in check.attestations
    )
    common: dict[str, Any] = {
        "signatures": tuple(check.signatures),
        "attestations": attestations,
    }
    successes = list(check.successes)
    if not check.evaluate or check.facts is None:
        return ComponentReport(
            name=component.name,
            container_image=check.ref,
            source=component.source or {},
            violations=tuple(check.violations),
            successes=tuple(successes) if run.options.show_successes else (),
            success_count=len(successes),
            **common,
        ), b""
    when = run.effective_time
    if run.options.effective_time == "attestation":
        when = _attestation_time(check.build_finished, when)
        run.attestation_times.append(when)
    document = build_input(
        check.facts,
        snapshot=run.snapshot,
        component_name=component.name,
        policy_spec=run.policy_spec,
    )
    encoded = json.dumps(document, separators=(",", ":")).encode() if run.keep_inputs else b""
    step(component, "policy")
    context = BuiltinContext(
        registry=run.options.registry,
        public_keys=run.trust.public_keys,
        trusted_root=run.trust.trusted_root,
    )
    digest = check.ref.rpartition("@")[2] if "@" in check.ref else None
    try:
        verdict = run.prepared.evaluate(
            document,
            image_ref=check.ref,
            image_digest=digest,
            component_name=component.name,
            effective_time=when,
            builtins_context=context if run.options.engine == "regorus" else None,
        )
    except KonfluxSupplyError as error:
        return _error_report(
            component, check.ref, BUILTIN_POLICY_EVALUATION, error.summary(), "policy", **common
        ), encoded
    finally:
        context.close()
    unavailable = _unavailable_cause(context)
    if unavailable is not None:
        return _error_report(
            component, check.ref, BUILTIN_POLICY_EVALUATION, unavailable, "registry", **common
        ), encoded
    successes += verdict.successes
    return ComponentReport(
        name=component.name,
        container_image=check.ref,
        source=component.source or {},
        violations=(*check.violations, *verdict.violations),
        warnings=verdict.warnings,
        successes=tuple(successes) if run.options.show_successes else (),
        success_count=len(successes),
        **common,
    ), encoded


class _Steps:
    """Progress bookkeeping: ``done``/``total`` and the step each component is at."""

    def __init__(self, options: ValidateOptions, total: int) -> None:
        self._progress = options.progress
        self._total = total
        self._done = 0
        self._lock = threading.Lock()

    def __call__(self, component: Component, step: str) -> None:
        if self._progress is None:
            return
        with self._lock:
            if step == "done":
                self._done += 1
            done = self._done
        self._progress(done, self._total, component.name, step)


def _run_all(run: _Run, components: Sequence[Component]) -> list[tuple[ComponentReport, bytes]]:
    steps = _Steps(run.options, len(components))
    deadline = None if run.options.timeout is None else time.monotonic() + run.options.timeout

    def one(component: Component) -> tuple[ComponentReport, bytes]:
        if deadline is not None and time.monotonic() > deadline:
            return _timed_out(component, run.options.timeout), b""
        try:
            return _component(run, component, steps)
        except Exception as error:  # a bug must cost this component its verdict, not the run
            _LOG.debug("validating %s failed", component.container_image, exc_info=True)
            cause = f"internal error (a bug, please report it): {type(error).__name__}: {error}"
            return _error_report(
                component, component.container_image, BUILTIN_POLICY_EVALUATION, cause, "internal"
            ), b""
        finally:
            steps(component, "done")

    executor = ThreadPoolExecutor(max_workers=max(1, run.options.workers))
    futures: list[Future[tuple[ComponentReport, bytes]]] = [
        executor.submit(one, component) for component in components
    ]
    try:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        wait(futures, timeout=remaining, return_when=FIRST_EXCEPTION)
        results = []
        for component, future in zip(components, futures, strict=True):
            if future.done():
                results.append(future.result())
            else:
                future.cancel()
                results.append((_timed_out(component, run.options.timeout), b""))
        return results
    finally:
        executor.shutdown(wait=deadline is None, cancel_futures=True)


def _timed_out(component: Component, timeout: float | None) -> ComponentReport:
    return _error_report(
        component,
        component.container_image,
        BUILTIN_POLICY_EVALUATION,
        f"the validation did not finish within the timeout of {timeout:g} s",
        "timeout",
    )


def validate(
    snapshot: Snapshot,
    ecp: EnterpriseContractPolicy,
    *,
    options: ValidateOptions | None = None,
    policy_inputs: list[bytes] | None = None,
) -> Report:
    """Validate every component of ``snapshot`` against ``ecp`` and return the report.

    ``policy_inputs``, when a list is given, receives each evaluated component's ``input``
    document (compact JSON) in the order of the report's components (the ``policy-input``
    output). Raises :class:`InputError` for bad input (policy, sources, Rego, keys) before
    any component is looked at; a component that could not be evaluated is an error in the
    report (:attr:`Report.errors`, exit code 3), never an exception.
    """
    options = options or ValidateOptions()
    if options.workers < 1:
        raise InputError("workers must be at least 1", field="--workers")
    if options.engine == "regorus":
        _check_picklable(options)
    effective = _effective_time(options)
    ecp = ecp.with_overrides(
        public_key=options.public_key, rekor_url=options.rekor_url, identity=options.identity
    )
    trust = build_trust(ecp, options)
    config = EvaluationConfig(
        effective_time=effective,
        info=options.info,
        strict_config=options.strict_config,
        report_unmatched_excludes=options.report_unmatched_excludes,
        engine=options.engine,
        opa_url=options.opa_url,
        # Threads wait on registries; engine processes use CPU (and ~60 MB each): no more
        # of them than cores, unless asked.
        workers=options.engine_workers or min(options.workers, os.cpu_count() or 1),
        timeout=options.evaluation_timeout,
        memory_limit_mb=options.memory_limit_mb,
        extra_rule_data=options.extra_rule_data,
        builtins=Builtins(make_builtins, BuiltinContext()) if options.engine == "regorus" else None,
        sigstore_opts=trust.sigstore_opts,
        registry_options=options.registry,
        allow_http_git=options.allow_http_git,
        git_ca_file=options.git_ca_file,
        conforma_compat=options.conforma_compat,
        untrusted_packages=options.untrusted_packages,
    )
    components = list(snapshot.components)
    if options.shard is not None:
        components = select_shard(components, *options.shard)
    with (
        oci.RegistryPool(options.registry) as pool,
        prepare_policy(ecp, config, sources=options.source_cache) as prepared,
    ):
        expanded = expand_indexes(pool, components)
        spec = Snapshot(
            components=tuple(expanded),
            application=snapshot.application,
            display_name=snapshot.display_name,
            display_description=snapshot.display_description,
            artifacts=snapshot.artifacts,
            extra=snapshot.extra,
        ).to_dict()
        run = _Run(
            prepared=prepared,
            pool=pool,
            trust=trust,
            checks=ImageCheckOptions(
                trust=trust.policy,
                verify_options=trust.verify_options,
                skip_image_signature=options.skip_image_signature,
                skip_attestation_signature=options.skip_attestation_signature,
                keyless=trust.keyless,
                detailed=options.info,
                registry=options.registry,
            ),
            options=options,
            snapshot=spec,
            policy_spec=prepared.policy.to_dict(),
            effective_time=effective,
            keep_inputs=policy_inputs is not None,
        )
        results = _run_all(run, expanded)
        if run.attestation_times:
            # As Conforma: the report shows the attestation time evaluated against.
            effective = max(run.attestation_times)
        report = Report(
            components=tuple(report for report, _ in results),
            policy=prepared.policy.to_dict(),
            effective_time=effective,
            key=trust.key_pem,
            created=datetime.now(UTC),
        )
    if policy_inputs is not None:
        by_component = {(r.container_image, r.name): data for r, data in results if data}
        for component in report.components:
            data = by_component.get((component.container_image, component.name))
            if data:
                policy_inputs.append(data)
    return report


def enforce(
    snapshot: Snapshot,
    ecp: EnterpriseContractPolicy,
    *,
    options: ValidateOptions | None = None,
) -> Report:
    """:func:`validate`, raising unless every component passed.

    :class:`VerificationError` for a definite policy failure (a component evaluated with a
    violation), :class:`PolicyError` when no verdict was reached for some component.
    """
    report = validate(snapshot, ecp, options=options)
    if report.failed:
        failed = [c.name for c in report.components if c.error is None and c.violations]
        raise VerificationError(
            f"{len(failed)} component(s) failed the policy: {', '.join(failed[:5])}"
            + (" …" if len(failed) > 5 else "")
        )
    if report.errors:
        first = report.errors[0]
        cause = first.error.cause if first.error is not None else ""
        raise PolicyError(
            f"{len(report.errors)} component(s) could not be evaluated; {first.name}: {cause}"
        )
    return report
