"""``konflux-supply policy test|lint``: check a Rego policy tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._common import echo_json

if TYPE_CHECKING:
    from konflux_supply.policy.testing import TestReport

_POLICY_HELP = "Rego policy libraries: run their tests, lint their annotations."


def policy_group(root: click.Group) -> click.Group:
    """The ``policy`` group (created once; other modules add their commands to it)."""
    existing = root.commands.get("policy")
    if isinstance(existing, click.Group):
        return existing
    group = click.Group("policy", help=_POLICY_HELP)
    root.add_command(group)
    return group


def _print_text(report: TestReport, verbose: bool) -> None:
    for result in report.results:
        if result.status == "pass" and not verbose:
            continue
        label = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}[result.status]
        reason = f": {result.reason}" if result.reason else ""
        millis = result.duration_ns / 1e6
        click.echo(f"{label} {result.ref} ({result.file}:{result.line}){reason} ({millis:.1f} ms)")
    counts = report.counts()
    click.echo("-" * 60)
    click.echo(
        f"PASS: {counts['pass']}/{counts['total']}"
        + (f"  FAIL: {counts['fail']}" if counts["fail"] else "")
        + (f"  ERROR: {counts['error']}" if counts["error"] else "")
    )


@click.command("test")
@click.argument("paths", nargs=-1, required=True)
@click.option("--run", "-r", "run", metavar="REGEX", help="Only tests whose data.pkg.name matches.")
@click.option("--verbose", "-v", is_flag=True, help="List passing tests too.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
@click.option("--data", "data_paths", multiple=True, help="JSON/YAML data, merged at the root.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True)
@click.option(
    "--conforma-compat",
    "conforma_compat",
    is_flag=True,
    help="Run Rego written for Conforma (ec) through the compatibility layer.",
)
def test_command(
    paths: tuple[str, ...],
    run: str | None,
    verbose: bool,
    output: str,
    data_paths: tuple[str, ...],
    workers: int,
    timeout: float,
    conforma_compat: bool,
) -> int:
    """Run the test_* rules of the Rego files under PATHS, like `opa test`.

    Exit 0 when every test passes, 1 when one fails or errs, 2 when a module does not compile.
    """
    from konflux_supply.policy import read_modules
    from konflux_supply.policy.testing import load_data, run_tests

    modules = read_modules(paths)
    data = load_data(data_paths)
    report = run_tests(
        modules, data, run=run, workers=workers, timeout=timeout, compat=conforma_compat
    )
    for problem in report.compile_errors:
        click.echo(f"konflux-supply: compile error: {problem}", err=True)
    if output == "json":
        echo_json(report.as_dict())
    else:
        _print_text(report, verbose)
    return report.exit_code


@click.command("lint")
@click.argument("paths", nargs=-1, required=True)
def lint_command(paths: tuple[str, ...]) -> int:
    """Check every rule's METADATA, collections and documented rule data (exit 1 on a problem)."""
    from konflux_supply.policy import read_modules
    from konflux_supply.policy.lint import lint

    problems = lint(read_modules(paths))
    for problem in problems:
        click.echo(str(problem))
    return 1 if problems else 0


def register(group: click.Group) -> None:
    """Add ``policy test`` and ``policy lint``."""
    policy = policy_group(group)
    policy.add_command(test_command)
    policy.add_command(lint_command)
