"""Everything a release validation can be told, in one frozen :class:`ValidateOptions`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from konflux_supply.oci import RegistryOptions
from konflux_supply.policy.config import Identity
from konflux_supply.policy.sources import SourceCache

__all__ = ["Progress", "ValidateOptions"]

#: ``progress(done, total, component, step)``: called as components move through the steps
#: (``step`` is e.g. ``"signatures"``, ``"policy"``, ``"done"``). Must be thread-safe.
Progress = Callable[[int, int, str, str], None]


@dataclass(frozen=True)
class ValidateOptions:
    """How :func:`konflux_supply.release.validate` runs (the CLI flags of ``validate image``).

    Trust (overrides of the ECP, as Conforma's flags):

    * ``public_key`` — a PUBREF (file, inline PEM, ``k8s://``, KMS URI) replacing
      ``spec.publicKey``; ``identity`` — keyless subject/issuer replacing ``spec.identity``
      (and clearing ``spec.publicKey`` when no ``public_key`` is given);
    * ``trusted_root`` — Sigstore ``trusted_root.json`` (a path or the bytes): needed for
      keyless identities and for Sigstore bundles' transparency-log entries;
    * ``rekor_url`` (written into the report's policy), ``ignore_rekor``;
    * ``skip_image_signature`` / ``skip_attestation_signature`` — Conforma's skip flags.

    Evaluation:

    * ``effective_time`` — a timezone-aware time, ``"now"`` or ``"attestation"`` (the newest
      ``buildFinishedOn`` of each image's provenance);
    * ``info`` — full metadata in results; ``show_successes`` — list successes (their count
      is always kept); ``strict_config`` — an include/exclude naming nothing is a violation;
      ``report_unmatched_excludes`` — warn about excludes naming nothing too;
    * ``extra_rule_data`` — merged into every source's ``ruleData``;
    * ``engine`` — ``"regorus"`` (embedded, in worker processes) or ``"opa"`` at ``opa_url``;
      ``engine_workers`` processes per source group (default: ``workers``, at most one per
      CPU);
      ``evaluation_timeout`` per evaluation; ``memory_limit_mb`` per engine process.

    Scale: ``workers`` components in parallel; ``timeout`` (seconds) for the whole run — a
    component not finished by then is an error; ``shard`` ``(index, count)`` validates one
    slice; ``progress`` is told each step.

    Conforma's policy library: ``conforma_compat`` — ``"auto"`` (the compatibility layer for a
    source group whose Rego uses Conforma's idioms), ``"on"`` or ``"off"``;
    ``untrusted_packages`` — packages whose upstream tests fail on this engine: a component
    whose evaluation would use one is an error (ADR 0059).

    Sources: ``source_cache`` (reuse fetched sources across runs), ``allow_http_git``,
    ``git_ca_file``. Registry: ``registry`` (auth, TLS, retries with backoff).
    """

    registry: RegistryOptions = field(default_factory=RegistryOptions)
    public_key: str | None = None
    identity: Identity | None = None
    trusted_root: str | bytes | None = None
    rekor_url: str | None = None
    ignore_rekor: bool = False
    skip_image_signature: bool = False
    skip_attestation_signature: bool = False
    effective_time: datetime | Literal["now", "attestation"] = "now"
    info: bool = False
    show_successes: bool = False
    strict_config: bool = False
    report_unmatched_excludes: bool = True
    extra_rule_data: Mapping[str, Any] = field(default_factory=dict)
    engine: Literal["regorus", "opa"] = "regorus"
    opa_url: str | None = None
    engine_workers: int | None = None
    evaluation_timeout: float = 60.0
    memory_limit_mb: int | None = None
    workers: int = 2
    timeout: float | None = None
    shard: tuple[int, int] | None = None
    progress: Progress | None = None
    source_cache: SourceCache | None = None
    allow_http_git: bool = False
    git_ca_file: str | None = None
    conforma_compat: Literal["auto", "on", "off"] = "auto"
    untrusted_packages: frozenset[str] = frozenset()
