"""``konflux-supply report merge``: join the JSON reports of a Snapshot's shards.

Each shard (``validate image --shard I/N --output json=...``) evaluates one slice of the
Snapshot; ``report merge`` reads their reports, checks they come from one run (same policy,
key, effective time, snapshot, version) and writes the report a single run would have
written, in any ``--output`` format. The exit code is the merged verdict: 0 pass (or
``--strict=false``), 1 policy failure, 2 bad input, 3 a component could not be evaluated.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from konflux_supply.cli._common import read_bytes, warn
from konflux_supply.errors import InputError

__all__ = ["register"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _bool_option(name: str, default: bool, text: str) -> Callable[[_F], _F]:
    """A boolean option as Conforma spells it: ``--name``, ``--name=false``."""
    return click.option(
        name, type=click.BOOL, is_flag=False, flag_value=True, default=default, help=text
    )


@click.group("report")
def report_group() -> None:
    """Work with release-gate reports (``validate image --output json``)."""


@report_group.command("merge")
@click.argument("reports", nargs=-1, required=True, metavar="REPORT.json...")
@click.option(
    "--output",
    "outputs",
    multiple=True,
    metavar="FMT[=PATH][?OPTIONS]",
    help="Write the merged report in FMT (json, yaml, text, summary, summary-markdown, junit, "
    "appstudio) to PATH or stdout; repeatable; default text on stdout. OPTIONS: "
    "show-successes, show-warnings, show-policy-docs-link (true/false).",
)
@_bool_option(
    "--show-successes",
    False,
    "List successes (in the JSON and text); counts are kept either way.  [default: false]",
)
@_bool_option("--show-warnings", True, "Text: list warnings.  [default: true]")
@_bool_option(
    "--show-policy-docs-link", False, "Text: end with a link to the policy documentation."
)
@_bool_option("--color", False, "Text: colour the results (ANSI).")
@_bool_option(
    "--strict",
    True,
    "Exit 1 when the merged report fails; --strict=false exits 0 then (an error component "
    "still exits 3: it is never a pass).  [default: true]",
)
def merge_command(
    reports: tuple[str, ...],
    outputs: tuple[str, ...],
    show_successes: bool,
    show_warnings: bool,
    show_policy_docs_link: bool,
    color: bool,
    strict: bool,
) -> int:
    """Merge the JSON reports of the shards of one Snapshot into one report."""
    from konflux_supply.policy import (
        RenderOptions,
        Report,
        merge,
        parse_outputs,
        write_outputs,
    )

    defaults = RenderOptions(
        show_successes=show_successes,
        show_warnings=show_warnings,
        show_policy_docs_link=show_policy_docs_link,
        color=color,
    )
    targets = parse_outputs(list(outputs), defaults=defaults)
    for target in targets:
        if target.format in ("attestation", "policy-input"):
            raise InputError(
                f"{target.format} is not kept in JSON reports; write it from each shard",
                field="--output",
            )
    shards = [Report.from_json(read_bytes(path), source=path) for path in reports]
    merged = merge(shards, created=datetime.now(UTC))
    unlisted = [
        c.name or c.container_image for c in merged.components if c.success and not c.successes
    ]
    if unlisted:
        warn(
            f"{len(unlisted)} passing component(s) list no successes (first: {unlisted[0]}); "
            "run the shards with --show-successes so the merged success counts are right"
        )
    if not show_successes:
        merged = replace(
            merged,
            components=tuple(
                replace(c, successes=(), success_count=c.successes_total) for c in merged.components
            ),
        )
    write_outputs(merged, targets, stdout=sys.stdout.buffer)
    code = merged.exit_code(strict=strict)
    if code == 1:
        click.echo("konflux-supply: policy failed: success criteria not met", err=True)
    elif code == 3:
        first = merged.errors[0]
        assert first.error is not None
        click.echo(
            f"konflux-supply: no verdict: {len(merged.errors)} component(s) could not be "
            f"evaluated (first: {first.container_image}: {first.error.cause})",
            err=True,
        )
    return code


def register(group: click.Group) -> None:
    group.add_command(report_group)
