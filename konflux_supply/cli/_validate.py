"""``konflux-supply validate image`` and ``validate input``: the release gate (Conforma's
``ec validate image`` / ``ec validate input``).

Exit codes: 0 pass (or ``--strict=false`` with violations), 1 violations, 2 bad input (policy,
snapshot, flags, Rego that does not compile, a source that does not exist), 3 no verdict (a
registry or the engine could not answer for some component). stdout carries the outputs
written without a path; stderr one-line errors and, on a terminal, the progress.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from konflux_supply.cli._registry import registry_options, run_registry_options
from konflux_supply.errors import InputError

if TYPE_CHECKING:
    from konflux_supply.policy.config import Identity
    from konflux_supply.policy.outputs import RenderOptions

__all__ = ["parse_effective_time", "parse_extra_rule_data", "register"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _bool_option(name: str, default: bool, text: str) -> Callable[[_F], _F]:
    """A boolean option as Conforma spells it: ``--name``, ``--name=false``."""
    return click.option(
        name, type=click.BOOL, is_flag=False, flag_value=True, default=default, help=text
    )


def parse_effective_time(value: str, *, now: datetime, allow_past: bool = False) -> datetime | str:
    """``now``, ``attestation``, RFC 3339 or ``YYYY-MM-DD`` (UTC midnight).

    A time in the past is refused unless ``allow_past`` (Conforma's
    ``--allow-past-effective-time``); ``now`` is given by the caller.
    """
    text = value.strip()
    if text in ("now", "attestation"):
        return text
    try:
        if len(text) == 10:
            when = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if "T" not in text.upper() or when.tzinfo is None:
                raise ValueError("not RFC 3339")
    except ValueError:
        raise InputError(
            f"not 'now', 'attestation', RFC 3339 or YYYY-MM-DD: {value!r}",
            field="--effective-time",
        ) from None
    if not allow_past and when < now - timedelta(seconds=1):
        raise InputError(
            f"effective time {value!r} is in the past",
            field="--effective-time",
            hint="add --allow-past-effective-time to evaluate as of a past date",
        )
    return when.astimezone(UTC)


def parse_extra_rule_data(values: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; a value is a file (JSON/YAML), inline JSON/YAML, or a string."""
    from konflux_supply.models.document import parse_document

    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected key=value, got {item!r}", field="--extra-rule-data")
        value: Any = raw
        path = Path(raw)
        try:
            is_file = bool(raw) and path.is_file()
        except (OSError, ValueError):
            is_file = False
        if is_file:
            from konflux_supply.cli._common import read_bytes

            value = parse_document(read_bytes(raw), source=raw)
        else:
            try:
                value = parse_document(raw, source="--extra-rule-data") if raw else raw
            except InputError:
                value = raw
        out[key.strip()] = value
    return out


class _Progress:
    """``[n/N] component: step`` on one terminal line (only used when stderr is a TTY)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._width = 0

    def __call__(self, done: int, total: int, name: str, step: str) -> None:
        line = f"[{done}/{total}] {name[:60]}: {step}"
        with self._lock:
            pad = " " * max(0, self._width - len(line))
            self._stream.write(f"\r{line}{pad}")
            self._stream.flush()
            self._width = len(line)

    def clear(self) -> None:
        with self._lock:
            if self._width:
                self._stream.write("\r" + " " * self._width + "\r")
                self._stream.flush()


def _identity(
    subject: str | None, subject_re: str | None, issuer: str | None, issuer_re: str | None
) -> Identity | None:
    from konflux_supply.policy.config import Identity

    if not any((subject, subject_re, issuer, issuer_re)):
        return None
    return Identity(
        subject=subject or "",
        subject_regexp=subject_re or "",
        issuer=issuer or "",
        issuer_regexp=issuer_re or "",
    )


def _render_defaults(
    show_successes: bool, show_warnings: bool, color: bool | None, docs_link: bool = False
) -> RenderOptions:
    from konflux_supply.policy.outputs import RenderOptions

    return RenderOptions(
        show_successes=show_successes,
        show_warnings=show_warnings,
        show_policy_docs_link=docs_link,
        color=sys.stdout.isatty() if color is None else color,
    )


def _finish(code: int, errors: list[tuple[str, str]]) -> int:
    if code == 1:
        click.echo("konflux-supply: policy failed: success criteria not met", err=True)
    elif code == 3 and errors:
        name, cause = errors[0]
        click.echo(
            f"konflux-supply: no verdict: {len(errors)} component(s) could not be evaluated "
            f"(first: {name}: {cause})",
            err=True,
        )
    return code


_OUTPUT_HELP = (
    "FMT[=PATH][?show-successes=..&show-warnings=..]: json, yaml, text, summary, "
    "summary-markdown, junit, appstudio, attestation, policy-input; repeatable; default text "
    "on stdout."
)


@click.group("validate")
def validate_group() -> None:
    """Release gate: evaluate an EnterpriseContractPolicy (as Conforma's ``ec validate``)."""


@validate_group.command("image")
@click.option(
    "--policy",
    "-p",
    "policy_arg",
    required=True,
    metavar="ECP",
    help=(
        "ECP file, inline JSON/YAML, or a git repository holding policy.yaml "
        "(git::https://…/repo.git//dir?ref=…, github.com/…)."
    ),
)
@click.option("--image", "-i", metavar="REF", help="One image (component 'Unnamed').")
@click.option(
    "--images",
    "images",
    multiple=True,
    metavar="SNAPSHOT",
    help="Snapshot file or inline JSON/YAML.",
)
@click.option(
    "--public-key",
    "-k",
    metavar="PUBREF",
    help="Public key (file, PEM, k8s://, KMS URI); overrides spec.publicKey.",
)
@click.option("--certificate-identity", metavar="SUBJECT")
@click.option("--certificate-identity-regexp", metavar="REGEXP")
@click.option("--certificate-oidc-issuer", metavar="ISSUER")
@click.option("--certificate-oidc-issuer-regexp", metavar="REGEXP")
@click.option(
    "--trusted-root",
    metavar="FILE",
    help="Sigstore trusted_root.json (keyless; bundles' log entries).",
)
@click.option("--rekor-url", metavar="URL", help="Rekor URL (written into the report's policy).")
@click.option("--ignore-rekor", is_flag=True, help="Do not check transparency-log entries.")
@click.option("--skip-image-sig-check", is_flag=True, help="Do not verify image signatures.")
@click.option(
    "--skip-att-sig-check", is_flag=True, help="Read attestations without verifying them."
)
@click.option(
    "--effective-time",
    default="now",
    show_default=True,
    metavar="WHEN",
    help="now, attestation, RFC 3339 or YYYY-MM-DD.",
)
@click.option(
    "--allow-past-effective-time", is_flag=True, help="Allow an --effective-time in the past."
)
@click.option(
    "--extra-rule-data",
    multiple=True,
    metavar="KEY=VALUE",
    help="Rule data added to every source (VALUE: file, JSON/YAML or text).",
)
@click.option("--output", "-o", "outputs", multiple=True, metavar="FMT[=PATH]", help=_OUTPUT_HELP)
@_bool_option("--show-successes", False, "List successes (counts are kept either way).")
@_bool_option("--show-warnings", True, "Text: list warnings.")
@_bool_option("--show-policy-docs-link", False, "Text: end with the policy documentation link.")
@_bool_option("--color", None, "Text: colour (default: when stdout is a terminal).")  # type: ignore[arg-type]
@click.option("--info", is_flag=True, help="Keep titles, descriptions and solutions in results.")
@_bool_option(
    "--strict", True, "Exit 1 on violations (--strict=false: exit 0; errors still exit 3)."
)
@click.option(
    "--strict-config", is_flag=True, help="An include/exclude naming nothing that exists fails."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Components in parallel.",
)
@click.option("--shard", metavar="I/N", help="Validate one slice (join with `report merge`).")
@click.option(
    "--opa-url", metavar="URL", help="A remote OPA server instead of the embedded engine."
)
@click.option("--allow-http-git", is_flag=True, help="git sources over plain HTTP on loopback.")
@click.option("--git-ca-file", metavar="FILE", help="CA bundle for git sources over HTTPS.")
@click.option(
    "--conforma-compat",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Run Rego written for Conforma (ec) through the compatibility layer "
    "(auto: sources using its idioms).",
)
@click.option(
    "--conforma-untrusted",
    metavar="FILE",
    help="Packages whose upstream tests fail on this engine (scripts/conforma-conformance "
    "--untrusted FILE): components using them are errors.",
)
@run_registry_options
def image_command(
    policy_arg: str,
    image: str | None,
    images: tuple[str, ...],
    public_key: str | None,
    certificate_identity: str | None,
    certificate_identity_regexp: str | None,
    certificate_oidc_issuer: str | None,
    certificate_oidc_issuer_regexp: str | None,
    trusted_root: str | None,
    rekor_url: str | None,
    ignore_rekor: bool,
    skip_image_sig_check: bool,
    skip_att_sig_check: bool,
    effective_time: str,
    allow_past_effective_time: bool,
    extra_rule_data: tuple[str, ...],
    outputs: tuple[str, ...],
    show_successes: bool,
    show_warnings: bool,
    show_policy_docs_link: bool,
    color: bool | None,
    info: bool,
    strict: bool,
    strict_config: bool,
    workers: int,
    shard: str | None,
    opa_url: str | None,
    timeout: float | None,
    allow_http_git: bool,
    git_ca_file: str | None,
    conforma_compat: str,
    conforma_untrusted: str | None,
    registry_options: Any,
) -> int:
    """Validate a Snapshot's images against an EnterpriseContractPolicy."""
    from konflux_supply.policy import parse_outputs, parse_shard, write_outputs
    from konflux_supply.release import ValidateOptions, load_snapshot, validate

    targets = parse_outputs(
        list(outputs),
        defaults=_render_defaults(show_successes, show_warnings, color, show_policy_docs_link),
    )
    when = parse_effective_time(
        effective_time, now=datetime.now(UTC), allow_past=allow_past_effective_time
    )
    if git_ca_file is not None and not Path(git_ca_file).is_file():
        raise InputError("CA bundle file not found", field="--git-ca-file", source=git_ca_file)
    ecp = _policy(policy_arg, allow_http_git, git_ca_file)
    snapshot = load_snapshot(images=images, image=image)
    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
    options = ValidateOptions(
        registry=registry_options,
        public_key=public_key,
        identity=_identity(
            certificate_identity,
            certificate_identity_regexp,
            certificate_oidc_issuer,
            certificate_oidc_issuer_regexp,
        ),
        trusted_root=trusted_root,
        rekor_url=rekor_url,
        ignore_rekor=ignore_rekor,
        skip_image_signature=skip_image_sig_check,
        skip_attestation_signature=skip_att_sig_check,
        effective_time=when,  # type: ignore[arg-type]
        info=info,
        show_successes=show_successes or any(t.options.show_successes for t in targets),
        strict_config=strict_config,
        extra_rule_data=parse_extra_rule_data(extra_rule_data),
        engine="opa" if opa_url else "regorus",
        opa_url=opa_url,
        workers=workers,
        timeout=timeout,
        evaluation_timeout=min(60.0, timeout) if timeout else 60.0,
        shard=parse_shard(shard) if shard is not None else None,
        progress=progress,
        allow_http_git=allow_http_git,
        git_ca_file=git_ca_file,
        conforma_compat=conforma_compat,  # type: ignore[arg-type]
        untrusted_packages=_untrusted(conforma_untrusted),
    )
    inputs: list[bytes] | None = [] if any(t.format == "policy-input" for t in targets) else None
    try:
        report = validate(snapshot, ecp, options=options, policy_inputs=inputs)
    finally:
        if progress is not None:
            progress.clear()
    write_outputs(report, targets, stdout=sys.stdout.buffer, policy_inputs=inputs or ())
    errors = [
        (c.name or c.container_image, c.error.cause) for c in report.errors if c.error is not None
    ]
    return _finish(report.exit_code(strict=strict), errors)


def _policy(value: str, allow_http_git: bool, git_ca_file: str | None) -> Any:
    """``--policy``: a file, inline JSON/YAML, or a git repository holding ``policy.yaml``
    (``.ec/policy.yaml``, ``.json``, ``.yml``), fetched as policy sources are."""
    from konflux_supply.policy import (
        EnterpriseContractPolicy,
        SourceCache,
        fetch_policy_config,
        is_git_policy,
        load_policy,
    )

    if not is_git_policy(value):
        return load_policy(value)
    with SourceCache(allow_http=allow_http_git, git_ca_file=git_ca_file) as cache:
        return EnterpriseContractPolicy.from_file(fetch_policy_config(value, cache))


def _untrusted(path: str | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    from konflux_supply.policy.compat import load_untrusted

    return load_untrusted(path)


@validate_group.command("input")
@click.option(
    "--file",
    "-f",
    "files",
    multiple=True,
    required=True,
    metavar="FILE",
    help="A JSON/YAML document to evaluate as input (repeatable).",
)
@click.option(
    "--policy",
    "-p",
    "policy_arg",
    required=True,
    metavar="ECP",
    help=(
        "ECP file, inline JSON/YAML, or a git repository holding policy.yaml "
        "(git::https://…/repo.git//dir?ref=…, github.com/…)."
    ),
)
@click.option(
    "--output",
    "-o",
    "outputs",
    multiple=True,
    metavar="FMT[=PATH]",
    help="json, yaml, text, summary; repeatable; default text on stdout.",
)
@_bool_option("--show-successes", False, "List successes (counts are kept either way).")
@_bool_option("--show-warnings", True, "Text: list warnings.")
@_bool_option("--show-policy-docs-link", False, "Text: end with the policy documentation link.")
@_bool_option("--color", None, "Text: colour (default: when stdout is a terminal).")  # type: ignore[arg-type]
@click.option("--info", is_flag=True, help="Keep titles, descriptions and solutions in results.")
@_bool_option("--strict", True, "Exit 1 on violations (--strict=false: exit 0).")
@click.option(
    "--strict-config", is_flag=True, help="An include/exclude naming nothing that exists fails."
)
@click.option(
    "--effective-time",
    default="now",
    show_default=True,
    metavar="WHEN",
    help="now, RFC 3339 or YYYY-MM-DD.",
)
@click.option(
    "--allow-past-effective-time", is_flag=True, help="Allow an --effective-time in the past."
)
@click.option("--extra-rule-data", multiple=True, metavar="KEY=VALUE")
@click.option(
    "--opa-url", metavar="URL", help="A remote OPA server instead of the embedded engine."
)
@click.option("--allow-http-git", is_flag=True, help="git sources over plain HTTP on loopback.")
@click.option("--git-ca-file", metavar="FILE", help="CA bundle for git sources over HTTPS.")
@registry_options
def input_command(
    files: tuple[str, ...],
    policy_arg: str,
    outputs: tuple[str, ...],
    show_successes: bool,
    show_warnings: bool,
    show_policy_docs_link: bool,
    color: bool | None,
    info: bool,
    strict: bool,
    strict_config: bool,
    effective_time: str,
    allow_past_effective_time: bool,
    extra_rule_data: tuple[str, ...],
    opa_url: str | None,
    allow_http_git: bool,
    git_ca_file: str | None,
    registry_options: Any,
) -> int:
    """Evaluate JSON/YAML documents as ``input`` against an EnterpriseContractPolicy."""
    from konflux_supply.policy import (
        INPUT_FORMATS,
        BuiltinContext,
        Builtins,
        EvaluationConfig,
        evaluate_documents,
        make_builtins,
        parse_outputs,
        write_outputs,
    )

    targets = parse_outputs(
        list(outputs),
        defaults=_render_defaults(show_successes, show_warnings, color, show_policy_docs_link),
        formats=INPUT_FORMATS,
    )
    now = datetime.now(UTC)
    when = parse_effective_time(effective_time, now=now, allow_past=allow_past_effective_time)
    if when == "attestation":
        raise InputError("'attestation' is for validate image", field="--effective-time")
    ecp = _policy(policy_arg, allow_http_git, git_ca_file)
    documents = [(path, _read_input(path)) for path in files]
    config = EvaluationConfig(
        effective_time=now if isinstance(when, str) else when,
        info=info,
        strict_config=strict_config,
        engine="opa" if opa_url else "regorus",
        opa_url=opa_url,
        extra_rule_data=parse_extra_rule_data(extra_rule_data),
        builtins=None if opa_url else Builtins(make_builtins, BuiltinContext()),
        registry_options=registry_options,
        allow_http_git=allow_http_git,
        git_ca_file=git_ca_file,
    )
    listed = show_successes or any(t.options.show_successes for t in targets)
    report = evaluate_documents(ecp, documents, config=config, show_successes=listed)
    write_outputs(report, targets, stdout=sys.stdout.buffer)
    errors = [(f.file_path, f.error.cause) for f in report.errors if f.error is not None]
    return _finish(report.exit_code(strict=strict), errors)


def _read_input(path: str) -> Any:
    from konflux_supply.cli._common import read_bytes
    from konflux_supply.models.document import parse_document

    return parse_document(read_bytes(path), source=path)


def register(group: click.Group) -> None:
    group.add_command(validate_group)
