"""An EnterpriseContractPolicy made ready to evaluate: sources fetched and pinned once, one
engine per source group, and the scoring of each group's results (reference/conforma.md §2-§3).

::

    from konflux_supply import policy

    config = policy.EvaluationConfig(effective_time=now)
    with policy.prepare_policy(ecp, config) as prepared:        # fetch, pin, compile: once
        verdict = prepared.evaluate(document, image_ref=ref)     # per input document
    verdict.violations, verdict.warnings, verdict.successes

    policy.evaluate(document, ecp, config=config)                # one document, one call

The ``data`` document of each group is Conforma's: the data sources merged at the root, the
source's ``ruleData`` (plus ``extra_rule_data``) as ``rule_data__configuration__`` and
``config`` (``policy.when_ns`` and ``default_sigstore_opts``). Evaluation problems raise
:class:`~konflux_supply.errors.PolicyError`, never a pass.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from konflux_supply.errors import InputError, KonfluxSupplyError, PolicyError
from konflux_supply.oci import RegistryOptions
from konflux_supply.policy.annotations import RuleInfo, rule_infos
from konflux_supply.policy.config import EnterpriseContractPolicy, Source
from konflux_supply.policy.criteria import Criteria, score_results
from konflux_supply.policy.engine import Builtins, Engine, Module, OpaEngine, RegorusEngine
from konflux_supply.policy.input_report import InputFileReport, InputReport
from konflux_supply.policy.report import BUILTIN_POLICY_EVALUATION, ComponentError
from konflux_supply.policy.sources import SourceCache, load_data, merge_data, read_source_modules

__all__ = [
    "EvaluationConfig",
    "PreparedPolicy",
    "Result",
    "SourceGroup",
    "evaluate",
    "evaluate_documents",
    "prepare_policy",
    "with_extra_rule_data",
]

_LOG = logging.getLogger(__name__)

EngineKind = Literal["regorus", "opa"]
CompatMode = Literal["auto", "on", "off"]
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.MULTILINE)


@dataclass(frozen=True)
class EvaluationConfig:
    """How an ECP's sources are fetched, compiled and scored.

    * ``effective_time`` — timezone-aware; ``data.config.policy.when_ns`` and the default
      time of :meth:`PreparedPolicy.evaluate` (``None``: the time :func:`prepare_policy` runs).
    * ``info`` — keep every metadata key of the results (``--info``).
    * ``strict_config`` — an include/exclude entry that names nothing is a violation.
    * ``report_unmatched_excludes`` — also warn about exclude entries that name nothing
      (Conforma only checks includes).
    * ``engine`` — ``"regorus"`` (embedded, worker processes) or ``"opa"`` (``opa_url``).
    * ``workers`` — engine worker processes per source group; ``timeout`` per evaluation,
      ``memory_limit_mb`` per worker.
    * ``extra_rule_data`` — merged into every source's ``ruleData`` (``--extra-rule-data``).
    * ``builtins`` — the ``ec.*`` builtins (regorus only); ``sigstore_opts`` the
      ``data.config.default_sigstore_opts`` policies pass to ``ec.sigstore.*``.
    * ``registry_options``, ``allow_http_git``, ``git_ca_file``, ``source_dir`` — for fetching
      sources (``source_dir``: a directory to keep them in; default a temporary one).
    * ``conforma_compat`` — run a source group's Rego through the compatibility layer
      (:mod:`konflux_supply.policy.compat`): ``"auto"`` when its modules use Conforma's
      idioms (:func:`~konflux_supply.policy.compat.uses_conforma_idioms`), ``"on"``, ``"off"``
      (regorus only; OPA runs such Rego natively).
    * ``untrusted_packages`` — packages whose own upstream tests do not pass on this engine
      (:func:`~konflux_supply.policy.compat.untrusted_packages`): when one of them would be
      evaluated (a selected rule package, or a library package of the group), the evaluation
      raises :class:`PolicyError` naming it — an error for the component, never a pass
      (ADR 0059).
    """

    effective_time: datetime | None = None
    info: bool = False
    strict_config: bool = False
    report_unmatched_excludes: bool = True
    engine: EngineKind = "regorus"
    opa_url: str | None = None
    workers: int = 1
    timeout: float = 60.0
    memory_limit_mb: int | None = None
    extra_rule_data: Mapping[str, Any] = field(default_factory=dict)
    builtins: Builtins | None = None
    sigstore_opts: Mapping[str, Any] = field(default_factory=dict)
    registry_options: RegistryOptions | None = None
    allow_http_git: bool = False
    git_ca_file: str | None = None
    source_dir: str | None = None
    conforma_compat: CompatMode = "auto"
    untrusted_packages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Result:
    """The verdict of every source group on one input document (plain result dicts)."""

    violations: tuple[dict[str, Any], ...] = ()
    warnings: tuple[dict[str, Any], ...] = ()
    successes: tuple[dict[str, Any], ...] = ()

    @property
    def success(self) -> bool:
        """No violation."""
        return not self.violations


@dataclass(eq=False)
class SourceGroup:
    """One ``spec.sources[]`` entry, compiled: its engine, rules and selection."""

    source: Source
    engine: Engine
    rules: Mapping[str, RuleInfo]
    #: whether the compatibility layer runs this group's Rego
    compat: bool = False
    #: every package the group's modules define
    module_packages: frozenset[str] = frozenset()


def _when_ns(when: datetime) -> int:
    delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _aware(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(UTC)
    if when.tzinfo is None:
        raise InputError("effective time must be timezone-aware", field="effective-time")
    return when


def with_extra_rule_data(
    ecp: EnterpriseContractPolicy, extra: Mapping[str, Any]
) -> EnterpriseContractPolicy:
    """``ecp`` with ``extra`` merged into every source's ``ruleData`` (its keys win), in the
    typed sources and in the spec the report shows — as Conforma's ``--extra-rule-data``."""
    if not extra:
        return ecp
    raw = ecp.to_dict()
    for entry in raw.get("sources", []):
        if isinstance(entry, dict):
            entry["ruleData"] = {**(entry.get("ruleData") or {}), **copy.deepcopy(dict(extra))}
    sources = tuple(
        replace(source, rule_data={**(source.rule_data or {}), **copy.deepcopy(dict(extra))})
        for source in ecp.sources
    )
    return replace(ecp, sources=sources, raw=raw)


class PreparedPolicy:
    """An ECP with its sources fetched and pinned and one engine per source group.

    Build it with :func:`prepare_policy`; close it (or use ``with``) to stop the engines.
    ``policy`` is the ECP with the pinned source URLs (what the report shows).
    """

    def __init__(
        self,
        policy: EnterpriseContractPolicy,
        groups: Sequence[SourceGroup],
        config: EvaluationConfig,
        effective_time: datetime,
    ) -> None:
        self.policy = policy
        self.groups = tuple(groups)
        self.config = config
        self.effective_time = effective_time

    def evaluate(
        self,
        document: Any,
        *,
        image_ref: str = "",
        image_digest: str | None = None,
        component_name: str = "",
        effective_time: datetime | None = None,
        builtins_context: Any = None,
    ) -> Result:
        """Evaluate every source group on ``document`` and score the results.

        ``image_ref``/``image_digest``/``component_name`` scope the volatile criteria;
        ``effective_time`` (default: the prepared one) decides ``effective_on`` and time
        windows. Raises :class:`PolicyError` when a group cannot be evaluated or reports
        nothing at all.
        """
        when = _aware(effective_time) if effective_time is not None else self.effective_time
        violations: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        successes: list[dict[str, Any]] = []
        for group in self.groups:
            criteria = Criteria.for_image(
                group.source,
                image_ref=image_ref,
                effective_time=when,
                image_digest=image_digest,
                component_name=component_name,
                configuration=self.policy.configuration,
            )
            for warning in criteria.warnings:
                _LOG.warning("%s", warning)
            wanted = criteria.packages_to_evaluate(group.rules.values(), group.engine.packages)
            _refuse_untrusted(group, wanted, self.config.untrusted_packages)
            if isinstance(group.engine, RegorusEngine):  # unselected packages not evaluated
                raw = group.engine.evaluate(
                    document, builtins_context=builtins_context, packages=wanted
                )
            else:
                raw = group.engine.evaluate(document, builtins_context=builtins_context)
            selected = {package: kinds for package, kinds in raw.items() if package in wanted}
            outcome = score_results(
                selected,
                group.rules,
                criteria,
                effective_time=when,
                info=self.config.info,
                report_unmatched_excludes=self.config.report_unmatched_excludes,
            )
            if self.config.strict_config:
                outcome = outcome.with_strict_config()
            violations += outcome.violations
            warnings += outcome.warnings
            successes += outcome.successes
        return Result(tuple(violations), tuple(warnings), tuple(successes))

    def close(self) -> None:
        """Stop every engine (idempotent)."""
        for group in self.groups:
            group.engine.close()

    def __enter__(self) -> PreparedPolicy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _refuse_untrusted(group: SourceGroup, wanted: Any, untrusted: frozenset[str]) -> None:
    """PolicyError when an untrusted package would take part in this evaluation (ADR 0059)."""
    if not untrusted:
        return
    rule_packages = set(group.engine.packages)
    libraries = group.module_packages - rule_packages
    found = sorted(p for p in untrusted if p in wanted or p in libraries)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise PolicyError(
            f"package {found[0]}{more} is untrusted on this engine (its own upstream tests do "
            "not all pass): its rules cannot be evaluated"
        )


def compat_wanted(modules: Sequence[Module], mode: CompatMode) -> bool:
    """Whether ``mode`` turns the compatibility layer on for these modules."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    from konflux_supply.policy.compat import uses_conforma_idioms

    return uses_conforma_idioms(module.text for module in modules)


def _engine(
    modules: list[Module], data: dict[str, Any], config: EvaluationConfig, compat: bool
) -> Engine:
    if config.engine == "opa":
        if not config.opa_url:
            raise InputError("the OPA engine needs a URL", field="--opa-url")
        return OpaEngine(modules, data, url=config.opa_url, timeout=config.timeout)
    return RegorusEngine(
        modules,
        data,
        builtins=config.builtins,
        workers=config.workers,
        timeout=config.timeout,
        memory_limit_mb=config.memory_limit_mb,
        compat=compat,
    )


def prepare_policy(
    ecp: EnterpriseContractPolicy,
    config: EvaluationConfig,
    *,
    sources: SourceCache | None = None,
    pin: bool = True,
) -> PreparedPolicy:
    """Fetch and pin every source once, load data, compile one engine per source group.

    ``sources`` is a cache to reuse (else one is made for this call and closed when the
    engines are compiled). ``pin`` off keeps the URLs as written in :attr:`PreparedPolicy.policy`
    (Conforma's ``validate input`` report shows them unpinned). Raises
    :class:`InputError` for sources, Rego or data that cannot be used.
    """
    if not ecp.sources:
        raise InputError("the policy has no sources", field="spec.sources")
    effective = _aware(config.effective_time)
    ecp = with_extra_rule_data(ecp, config.extra_rule_data)
    cache = sources or SourceCache(
        config.source_dir,
        registry_options=config.registry_options,
        allow_http=config.allow_http_git,
        git_ca_file=config.git_ca_file,
    )
    groups: list[SourceGroup] = []
    pinned: dict[str, str] = {}
    try:
        for index, source in enumerate(ecp.sources):
            where = f"spec.sources[{index}]"
            policy_dirs = []
            for i, url in enumerate(source.policy):
                fetched = cache.fetch(url, field=f"{where}.policy[{i}]")
                pinned[url] = fetched.pinned_url
                policy_dirs.append(fetched)
            data_dirs = []
            for i, url in enumerate(source.data):
                fetched = cache.fetch(url, field=f"{where}.data[{i}]")
                pinned[url] = fetched.pinned_url
                data_dirs.append(fetched)
            if not policy_dirs:
                raise InputError("a source needs at least one policy URL", field=f"{where}.policy")
            modules = [Module(path, text) for path, text in read_source_modules(policy_dirs)]
            data = load_data(data_dirs, rule_data=source.rule_data)
            merge_data(
                data,
                {
                    "config": {
                        "policy": {"when_ns": _when_ns(effective)},
                        "default_sigstore_opts": dict(config.sigstore_opts),
                    }
                },
                source="config",
            )
            rules = rule_infos(modules)
            compat = config.engine == "regorus" and compat_wanted(modules, config.conforma_compat)
            engine = _engine(modules, data, config, compat)
            packages = frozenset(
                match.group(1) for module in modules for match in _PACKAGE.finditer(module.text)
            )
            groups.append(
                SourceGroup(
                    source=source,
                    engine=engine,
                    rules=rules,
                    compat=compat,
                    module_packages=packages,
                )
            )
    except BaseException:
        for group in groups:
            group.engine.close()
        raise
    finally:
        if sources is None:
            cache.close()
    policy = ecp.with_pinned_sources(pinned) if pin else ecp
    return PreparedPolicy(policy, groups, config, effective)


def evaluate(
    document: Any,
    sources: EnterpriseContractPolicy | Sequence[Source],
    *,
    config: EvaluationConfig | None = None,
) -> Result:
    """Evaluate one ``input`` document against an ECP (or bare source groups) and score it.

    For controllers and tests: fetches, compiles and stops the engines in one call; to
    evaluate many documents use :func:`prepare_policy` once.
    """
    ecp = (
        sources
        if isinstance(sources, EnterpriseContractPolicy)
        else EnterpriseContractPolicy(sources=tuple(sources))
    )
    chosen = config or EvaluationConfig()
    if chosen.engine == "regorus" and chosen.workers > 1:
        chosen = replace(chosen, workers=1)
    with prepare_policy(ecp, chosen) as prepared:
        return prepared.evaluate(document)


def evaluate_documents(
    ecp: EnterpriseContractPolicy,
    documents: Sequence[tuple[str, Any]],
    *,
    config: EvaluationConfig,
    show_successes: bool = False,
) -> InputReport:
    """``validate input``: each ``(name, document)`` evaluated as ``input``; Conforma's
    ``ec validate input`` report (source URLs as written).

    A document that could not be evaluated (a Rego error, the engine, an ``ec.*`` builtin
    whose registry did not answer) is an error in the report, never a pass; bad sources or
    Rego raise :class:`InputError` before any document is evaluated.
    """
    from konflux_supply.policy.builtins import BuiltinContext

    effective = _aware(config.effective_time)
    config = replace(config, effective_time=effective)
    reports: list[InputFileReport] = []
    with prepare_policy(ecp, config, pin=False) as prepared:
        for name, document in documents:
            context = BuiltinContext(registry=config.registry_options or RegistryOptions())
            error: str | None = None
            try:
                verdict = prepared.evaluate(
                    document, builtins_context=context if config.builtins is not None else None
                )
            except KonfluxSupplyError as failure:
                error = failure.summary()
            finally:
                context.close()
            if error is None and context.unavailable:
                first = context.unavailable[0]
                error = (
                    f"{first.builtin}({first.ref}): the registry could not answer: {first.cause}"
                )
            if error is not None:
                reports.append(
                    InputFileReport(name, error=ComponentError(BUILTIN_POLICY_EVALUATION, error))
                )
                continue
            reports.append(
                InputFileReport(
                    name,
                    violations=verdict.violations,
                    warnings=verdict.warnings,
                    successes=verdict.successes if show_successes else None,
                    success_count=len(verdict.successes),
                )
            )
        policy = prepared.policy.to_dict()
    return InputReport(
        files=tuple(reports), policy=policy, effective_time=effective, created=datetime.now(UTC)
    )
